"""The preference centre: what a person sees and changes through their signed link.

A link (`contacts.services.tokens`) names a workspace and a contact. The page lists the
workspace's public lists with the person's status on each, lets them join and leave those,
edit the profile fields the workspace allows (`ConsentSettings.preference_fields`),
unsubscribe from everything, download their data and have it erased. Every change goes
through the contacts services, which validate it: lists (`membership_subscribe` with the
preference centre as consent source, so a double opt-in list sends its confirmation),
profile (`contact_update`, `attributes_check`), erasure (`contact_erase`).

Everything here runs inside the workspace's schema (`preferences_open` returns the target;
callers wrap their work in `schema_context(target.schema)`).
"""

import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from engagex.contacts.history import contact_campaign_history
from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    Membership,
    MembershipStatus,
)
from engagex.contacts.selectors import consent_settings
from engagex.contacts.services.contacts import contact_update
from engagex.contacts.services.erasure import contact_erase
from engagex.contacts.services.lists import (
    Consent,
    contact_unsubscribe_everywhere,
    membership_subscribe,
    membership_unsubscribe,
)
from engagex.contacts.services.tokens import BadToken, preferences_token_parse

# Contact fields a person may edit when the workspace lists them; the address itself and
# the status are never edited here (leaving is its own button; a new address is a new
# person to confirm).
EDITABLE_FIELDS = ("first_name", "last_name", "phone", "language", "timezone")
TIMEZONES = frozenset(zoneinfo.available_timezones())
SOURCE = "preference centre"
VIA_PREFERENCES = gettext_lazy("preference centre")

TIMEZONE_UNKNOWN = gettext_lazy("Unknown time zone “{value}” (use a name such as Europe/Berlin).")
LANGUAGE_UNKNOWN = gettext_lazy("Choose one of the languages offered.")
VALUE_TOO_LONG = gettext_lazy("At most {limit} characters.")
ATTRIBUTE_MAX_LENGTH = 500


class ListState:
    SUBSCRIBED = "subscribed"
    WAITING = "waiting"
    NONE = "none"


@dataclass(frozen=True)
class ListChoice:
    group: ContactGroup
    state: str

    @property
    def ticked(self) -> bool:
        return self.state != ListState.NONE


def preferences_open(token: str):
    """Return (workspace, target, contact) for a valid token; raise BadToken otherwise.

    The contact is read inside the workspace's schema; a deleted (erased) contact, an
    unknown or platform schema is as bad as a forged token.
    """
    target = preferences_token_parse(token)
    if target.schema == get_public_schema_name():
        raise BadToken("workspace")
    tenant = get_tenant_model().objects.filter(schema_name=target.schema).first()
    if tenant is None:
        raise BadToken("workspace")
    with schema_context(target.schema):
        contact = Contact.objects.filter(pk=target.contact_id).first()
    if contact is None:
        raise BadToken("contact")
    return tenant, target, contact


def preferences_language(*, contact: Contact, workspace) -> str:
    """The contact's language when it is one we speak, else the workspace's."""
    supported = dict(settings.LANGUAGES)
    own = (contact.language or "").lower().replace("_", "-")
    for candidate in (own, own.split("-")[0]):
        if candidate in supported:
            return candidate
    return workspace.default_language or settings.LANGUAGE_CODE


def preferences_lists(contact: Contact) -> list[ListChoice]:
    """The workspace's public lists with the contact's state on each (private ones never)."""
    states = dict(Membership.objects.filter(contact=contact).values_list("group_id", "status"))
    shown: dict[str | None, str] = {
        MembershipStatus.SUBSCRIBED: ListState.SUBSCRIBED,
        MembershipStatus.UNCONFIRMED: ListState.WAITING,
    }
    return [
        ListChoice(group, shown.get(states.get(group.pk), ListState.NONE))
        for group in ContactGroup.objects.filter(visibility=ContactGroup.Visibility.PUBLIC)
    ]


@dataclass(frozen=True)
class ListsChanged:
    joined: list[ContactGroup]
    waiting: list[ContactGroup]
    left: list[ContactGroup]


@transaction.atomic
def preferences_lists_update(
    *, contact: Contact, wanted: set[int], ip: str | None, user_agent: str
) -> ListsChanged:
    """Make the ticked public lists the ones the contact is on; others are left.

    Ids of private or unknown lists are ignored (a crafted form cannot reach them). Joining
    records the preference centre as consent (with the address and browser it came from);
    a double-opt-in list, or a contact unsubscribed from everything, waits for the emailed
    confirmation. A refusal (bounced, complained) raises ValidationError and changes nothing.
    """
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    joined: list[ContactGroup] = []
    waiting: list[ContactGroup] = []
    left: list[ContactGroup] = []
    for choice in preferences_lists(contact):
        group = choice.group
        if group.pk in wanted and not choice.ticked:
            text = f"{group.name}: {group.description}" if group.description else group.name
            membership = membership_subscribe(
                contact=contact,
                group=group,
                consent=Consent(
                    source=ConsentSource.PREFERENCES, text=text, ip=ip, user_agent=user_agent
                ),
            )
            (waiting if membership.status == MembershipStatus.UNCONFIRMED else joined).append(group)
        elif group.pk not in wanted and choice.ticked:
            membership_unsubscribe(
                contact=contact, groups=[group], source=ConsentSource.PREFERENCES
            )
            left.append(group)
    return ListsChanged(joined, waiting, left)


def preferences_profile_fields() -> list[str]:
    """The names the workspace lets people edit: contact fields and attribute names."""
    allowed = consent_settings().preference_fields or []
    names = []
    for name in allowed:
        if isinstance(name, str) and name and name not in names and name not in _NEVER:
            names.append(name)
    return names


# Contact fields that are not profile text (never editable, even when listed).
_NEVER = frozenset(
    field.name for field in Contact._meta.get_fields() if field.name not in EDITABLE_FIELDS
)


def preferences_profile_values(contact: Contact) -> dict[str, str]:
    """The current value of each editable field, as text (attributes: scalars only)."""
    values = {}
    for name in preferences_profile_fields():
        if name in EDITABLE_FIELDS:
            values[name] = getattr(contact, name) or ""
        else:
            value = (contact.attributes or {}).get(name)
            if isinstance(value, dict | list):
                continue  # structured values are not edited as text
            values[name] = "" if value is None else str(value)
    return values


@transaction.atomic
def preferences_profile_update(*, contact: Contact, data: dict[str, str]) -> Contact:
    """Save the allowed fields of `data` (others ignored); validated by contact_update.

    A value equal to the stored one (as text) is left alone, so a number attribute keeps its
    type unless the person changes it; an emptied attribute is removed.
    """
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    current = preferences_profile_values(contact)
    errors: dict[str, list] = {}
    fields: dict[str, object] = {}
    attributes = dict(contact.attributes or {})
    changed_attributes = False
    for name, old in current.items():
        if name not in data:
            continue
        value = " ".join(str(data[name]).split()) if name != "timezone" else str(data[name])
        value = value.strip()
        if value == old:
            continue
        if name == "timezone" and value and value not in TIMEZONES:
            errors[name] = [TIMEZONE_UNKNOWN.format(value=value[:64])]
        elif name == "language" and value and value not in dict(settings.LANGUAGES):
            errors[name] = [LANGUAGE_UNKNOWN]
        elif name in EDITABLE_FIELDS:
            fields[name] = value
        elif len(value) > ATTRIBUTE_MAX_LENGTH:
            errors[name] = [VALUE_TOO_LONG.format(limit=ATTRIBUTE_MAX_LENGTH)]
        else:
            changed_attributes = True
            if value:
                attributes[name] = value
            else:
                attributes.pop(name, None)
    if errors:
        raise ValidationError(errors)
    if changed_attributes:
        fields["attributes"] = attributes
    if not fields:
        return contact
    try:
        return contact_update(contact=contact, source=SOURCE, **fields)
    except ValidationError as error:
        if hasattr(error, "error_dict") and "attributes" in error.error_dict:
            # Name the attribute the person typed in, not the JSON column.
            named = {
                name: error.error_dict["attributes"]
                for name in current
                if name not in EDITABLE_FIELDS and name in data
            }
            raise ValidationError(named or error.error_dict) from error
        raise


def preferences_unsubscribe_everything(*, contact: Contact) -> bool:
    """Leave every list and stop every campaign (the contact's global status)."""
    return contact_unsubscribe_everywhere(contact=contact, source=SOURCE)


def preferences_data(*, contact: Contact, workspace) -> dict:
    """Everything the workspace holds about the contact, as JSON-ready data (GDPR art. 15):
    its fields, attributes, every list membership with its consent evidence (private lists
    too: they are this person's data) and its campaigns."""
    memberships = (
        Membership.objects.filter(contact=contact).select_related("group").order_by("group__name")
    )
    return {
        "workspace": workspace.name,
        "exported_at": _iso(timezone.now()),
        "contact": {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "language": contact.language,
            "timezone": contact.timezone,
            "status": contact.status,
            "status_changed_at": _iso(contact.status_changed_at),
            "status_source": contact.status_source,
            "consent_at": _iso(contact.consent_at),
            "consent_source": contact.consent_source,
            "soft_bounces": contact.soft_bounces,
            "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at),
        },
        "attributes": contact.attributes or {},
        "lists": [
            {
                "list": m.group.name,
                "status": m.status,
                "status_changed_at": _iso(m.status_changed_at),
                "consent": {
                    "source": m.source,
                    "at": _iso(m.consent_at),
                    "text": m.consent_text,
                    "ip": m.consent_ip,
                    "user_agent": m.consent_user_agent,
                },
                "confirmation": {
                    "at": _iso(m.confirmed_at),
                    "ip": m.confirm_ip,
                    "user_agent": m.confirm_user_agent,
                },
            }
            for m in memberships
        ],
        "campaigns": [
            {"campaign": row.campaign, "outcome": str(row.outcome), "sent_at": _iso(row.sent_at)}
            for row in contact_campaign_history(contact=contact, limit=None)
        ],
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def preferences_erase(*, contact: Contact) -> None:
    """Erase the person: their contact goes, a hash of the address stays (see erasure)."""
    contact_erase(contact=contact, via=VIA_PREFERENCES)
