from engagex.email_templates.audience import MergeContact, audience

PREVIEW_CONTACT_CHOICES = 10


def preview_contact_list(
    *, search: str, limit: int = PREVIEW_CONTACT_CHOICES
) -> list[MergeContact]:
    """Contacts whose email (or name) starts with `search`, for the preview's contact picker."""
    if not search.strip():
        return []
    return audience().search(search, limit)


def preview_contact_get(*, contact_id) -> MergeContact | None:
    """The contact to preview a template for, or None when the id names no contact."""
    try:
        return audience().get(int(contact_id))
    except (TypeError, ValueError):
        return None


ATTRIBUTE_NAMES_SAMPLE = 10_000


def contact_attribute_names(*, sample: int = ATTRIBUTE_NAMES_SAMPLE) -> set[str]:
    """The custom attribute names the workspace's most recent `sample` contacts have.

    Read on every save and live preview: the newest contacts (by primary key) keep this a
    bounded read on a million-contact workspace; an attribute only older contacts have is
    reported as unknown, which is a warning, never a refusal.
    """
    return audience().attribute_names(sample)
