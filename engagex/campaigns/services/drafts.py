"""Drafts: create a campaign and change it until it is sent (the admin and the API use these)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign
from engagex.campaigns.services.state import campaign_locked
from engagex.contacts.models import ContactGroup
from engagex.domains.services import sender_address_check

ONLY_DRAFTS = gettext_lazy("Only draft campaigns can be edited; duplicate this one to change it.")
GROUPS_OVERLAP = gettext_lazy("A group cannot be both sent to and excluded: %s.")
# What a draft's create and update set, besides its groups.
DRAFT_FIELDS = ["name", "template", "subject_override", "from_name", "from_email", "reply_to"]


def _validate(
    campaign: Campaign, include: Iterable[ContactGroup], exclude: Iterable[ContactGroup]
) -> None:
    """Refuse a draft the model refuses, that sends from an unverified domain, or that both
    sends to and excludes a group; every error at once, each on its field."""
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
) -> Campaign:
    """Create a draft campaign, credited to `user`."""
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
    _validate(campaign, include_groups, exclude_groups)
    campaign.save()
    campaign.include_groups.set(include_groups)
    campaign.exclude_groups.set(exclude_groups)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    include_groups: Iterable[ContactGroup] | None = None,
    exclude_groups: Iterable[ContactGroup] | None = None,
    **fields,
) -> Campaign:
    """Change the given fields (of `DRAFT_FIELDS`) and groups of a draft; None groups stay."""
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
    _validate(campaign, include, exclude)
    campaign.save()
    if include_groups is not None:
        campaign.include_groups.set(include)
    if exclude_groups is not None:
        campaign.exclude_groups.set(exclude)
    return campaign
