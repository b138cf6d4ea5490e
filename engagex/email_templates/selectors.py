from django.db.models import CharField, F, Func

from engagex.contacts.models import Contact
from engagex.contacts.selectors import contact_search

PREVIEW_CONTACT_CHOICES = 10


def preview_contact_list(*, search: str, limit: int = PREVIEW_CONTACT_CHOICES) -> list[Contact]:
    """Contacts whose email (or name) starts with `search`, for the preview's contact picker."""
    if not search.strip():
        return []
    return list(contact_search(Contact.objects.all(), search)[:limit])


def preview_contact_get(*, contact_id) -> Contact | None:
    """The contact to preview a template for, or None when the id names no contact."""
    try:
        return Contact.objects.filter(pk=int(contact_id)).first()
    except (TypeError, ValueError):
        return None


ATTRIBUTE_NAMES_SAMPLE = 10_000


def contact_attribute_names(*, sample: int = ATTRIBUTE_NAMES_SAMPLE) -> set[str]:
    """The custom attribute names the workspace's most recent `sample` contacts have.

    Read on every save and live preview: the newest contacts (by primary key) keep this a
    bounded read on a million-contact workspace; an attribute only older contacts have is
    reported as unknown, which is a warning, never a refusal.
    """
    recent = Contact.objects.order_by("-pk").values("pk")[:sample]
    return set(
        Contact.objects.filter(pk__in=recent)
        .annotate(kind=Func(F("attributes"), function="jsonb_typeof", output_field=CharField()))
        .filter(kind="object")
        .annotate(
            name=Func(F("attributes"), function="jsonb_object_keys", output_field=CharField())
        )
        .values_list("name", flat=True)
        .distinct()
    )
