"""Drafts: create a campaign and change it until it is sent (the admin and the API use these)."""

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from engagex.campaigns.audience import AudienceSource, audience_fields, audience_given
from engagex.campaigns.models import Campaign
from engagex.campaigns.services.state import campaign_locked
from engagex.contacts.models import ContactGroup
from engagex.domains.services import sender_address_check

ONLY_DRAFTS = gettext_lazy("Only draft campaigns can be edited; duplicate this one to change it.")
GROUPS_OVERLAP = gettext_lazy("A group cannot be both sent to and excluded: %s.")
# What a draft's create and update set, besides its groups (and the audience fields of the
# sources registered from above, e.g. segments: `audience_fields()`).
DRAFT_FIELDS = ["name", "template", "subject_override", "from_name", "from_email", "reply_to"]


def _audience(fields: dict) -> list[tuple[AudienceSource, dict]]:
    """Take the registered sources' fields out of `fields`, each with its source."""
    return audience_given({name: fields.pop(name) for name in audience_fields() if name in fields})


def _validate(
    campaign: Campaign,
    include: Iterable[ContactGroup],
    exclude: Iterable[ContactGroup],
    audience: Sequence[tuple[AudienceSource, dict]] = (),
) -> None:
    """Refuse a draft the model refuses, that sends from an unverified domain, that both
    sends to and excludes a group, or whose other audience (segments) its source refuses;
    every error at once, each on its field."""
    errors: dict[str, list] = {}
    try:
        campaign.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if "from_email" not in errors:
        try:
            sender_address_check(campaign.from_email)
        except ValidationError as error:
            errors.update(error.message_dict)
    both = set(include) & set(exclude)
    if both:
        names = ", ".join(sorted(group.name for group in both))
        errors["exclude_groups"] = [GROUPS_OVERLAP % names]
    for source, given in audience:
        if source.validate is not None:
            errors.update(source.validate(campaign=campaign, given=given))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_create(
    *,
    name: str,
    template,
    from_name: str,
    from_email: str,
    subject_override: str = "",
    reply_to: str = "",
    include_groups: Iterable[ContactGroup] = (),
    exclude_groups: Iterable[ContactGroup] = (),
    user=None,
    **audience: Iterable,
) -> Campaign:
    """Create a draft campaign, credited to `user`; `audience` holds the registered sources'
    fields (`include_segments=[…]`), each checked and stored by its source."""
    given = _audience(audience)
    if audience:
        raise TypeError(f"campaign_create() got unknown fields: {', '.join(sorted(audience))}")
    include_groups, exclude_groups = list(include_groups), list(exclude_groups)
    campaign = Campaign(
        name=name,
        template=template,
        subject_override=subject_override,
        from_name=from_name,
        from_email=from_email,
        reply_to=reply_to,
        created_by=user,
    )
    _validate(campaign, include_groups, exclude_groups, given)
    campaign.save()
    campaign.include_groups.set(include_groups)
    campaign.exclude_groups.set(exclude_groups)
    _save_audience(campaign, given)
    return campaign


def _save_audience(campaign: Campaign, given: list[tuple[AudienceSource, dict]]) -> None:
    for source, fields in given:
        if source.save is not None:
            source.save(campaign=campaign, given=fields)


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    include_groups: Iterable[ContactGroup] | None = None,
    exclude_groups: Iterable[ContactGroup] | None = None,
    **fields,
) -> Campaign:
    """Change the given fields (of `DRAFT_FIELDS` and the sources' audience fields) and
    groups of a draft; None groups, and audience fields not given, stay."""
    given = _audience(fields)
    unknown = sorted(set(fields) - set(DRAFT_FIELDS))
    if unknown:
        raise TypeError(f"campaign_update() got unknown fields: {', '.join(unknown)}")
    # Locked, as a start locks it: a campaign is not edited while it starts sending.
    campaign = campaign_locked(campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(ONLY_DRAFTS)
    for name, value in fields.items():
        setattr(campaign, name, value)
    include = list(campaign.include_groups.all() if include_groups is None else include_groups)
    exclude = list(campaign.exclude_groups.all() if exclude_groups is None else exclude_groups)
    _validate(campaign, include, exclude, given)
    campaign.save()
    if include_groups is not None:
        campaign.include_groups.set(include)
    if exclude_groups is not None:
        campaign.exclude_groups.set(exclude)
    _save_audience(campaign, given)
    return campaign
