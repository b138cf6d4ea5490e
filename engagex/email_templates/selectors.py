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
