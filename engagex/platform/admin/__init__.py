"""The platform admin of workspaces and billing (Django's admin autodiscovers this package)."""

from engagex.platform.admin import billing, stripe, tenants  # noqa: F401
