"""The workspace's brand kit: one row, written only here."""

from django.db import transaction

from engagex.email_templates.models import BrandKit

BRAND_FIELDS = [
    "logo",
    "primary_colour",
    "text_colour",
    "background_colour",
    "font_family",
    "footer_address",
]


@transaction.atomic
def brand_kit_update(*, user, **fields) -> BrandKit:
    """Change the brand kit; validated as a whole before it is stored."""
    unknown = sorted(set(fields) - set(BRAND_FIELDS))
    if unknown:
        raise TypeError(f"Unknown brand kit fields: {', '.join(unknown)}")
    kit = BrandKit.objects.select_for_update().filter(singleton=True).first() or BrandKit()
    for name, value in fields.items():
        setattr(kit, name, value)
    kit.updated_by = user
    kit.full_clean()
    kit.save()
    return kit
