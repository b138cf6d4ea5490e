"""The templates app's console: templates (history, starters), media library, brand kit."""

from engagex.email_templates.admin import brand, media, templates

__all__ = ["brand", "media", "templates"]
