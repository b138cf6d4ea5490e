"""Workspace lifecycle: the one place tenants are provisioned, suspended and deleted."""

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.accounts.services import roles_sync, user_create, user_set_password_path
from engagex.billing.services.accounts import billing_account_open
from engagex.core.tasks import enqueue_tenant_task
from engagex.notifications.tasks import notification_welcome
from engagex.platform.stripe_sync import billing_subscription_end
from tenants.models import Domain, Tenant
from tenants.selectors import workspace_url

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SLUG_MIN_LENGTH, SLUG_MAX_LENGTH = 3, 40
# Names that would collide with the platform's own hosts, schemas or future routes.
RESERVED_SLUGS = frozenset(
    {
        "public", "www", "admin", "template", "tenant-template", "api", "app", "apps",
        "static", "media", "assets", "mail", "email", "smtp", "imap", "pop", "ftp", "ns1",
        "ns2", "signup", "login", "logout", "account", "accounts", "auth", "oauth", "sso",
        "platform", "engagex", "root", "postgres", "information-schema", "support", "help",
        "docs", "status", "billing", "webhooks", "unsubscribe", "track", "healthz", "test",
        "demo-template", "localhost",
    }
)  # fmt: skip

SLUG_INVALID = gettext_lazy(
    "Use 3 to 40 lowercase letters, digits and single hyphens, starting with a letter "
    "and not ending with a hyphen."
)
SLUG_RESERVED = gettext_lazy(
    "“{slug}” is reserved for EngageX itself. Choose another workspace slug."
)
SLUG_TAKEN = gettext_lazy("The workspace slug “{slug}” is already taken.")
NAME_REQUIRED = gettext_lazy("Enter the organisation's name.")
TEMPLATE_MISSING = gettext_lazy(
    "The workspace template schema “{schema}” does not exist yet: run `make migrate` "
    "(or `manage.py setup_platform`) first."
)
PUBLIC_IMMUTABLE = gettext_lazy("The platform's own public tenant cannot be suspended or deleted.")


@dataclass(frozen=True)
class ProvisionedWorkspace:
    tenant: Tenant
    owner: User
    set_password_url: str


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def slug_validate(slug: str) -> str:
    """Return the normalised slug or raise ValidationError naming the `slug` field."""
    slug = (slug or "").strip().lower()
    if not (SLUG_MIN_LENGTH <= len(slug) <= SLUG_MAX_LENGTH) or not SLUG_RE.match(slug):
        raise ValidationError({"slug": SLUG_INVALID})
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError({"slug": SLUG_RESERVED.format(slug=slug)})
    if (
        Tenant.objects.filter(slug=slug).exists()
        or Tenant.objects.filter(schema_name__iexact=schema_name_for(slug)).exists()
    ):
        raise ValidationError({"slug": SLUG_TAKEN.format(slug=slug)})
    return slug


def tenant_create(
    *,
    name: str,
    slug: str,
    owner_email: str,
    owner_name: str = "",
    owner_password: str | None = None,
    send_invitation: bool = True,
) -> ProvisionedWorkspace:
    """Provision a workspace: clone the template schema, add its domain, roles and Owner."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [NAME_REQUIRED]
    owner_email = User.objects.normalize_email(owner_email)
    try:
        validate_email(owner_email)
    except ValidationError as error:
        errors["owner_email"] = error.messages
    try:
        slug = slug_validate(slug)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    base_schema = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base_schema):
        raise ValidationError(TEMPLATE_MISSING.format(schema=base_schema))

    with transaction.atomic():
        tenant = Tenant(
            schema_name=schema_name_for(slug), name=name, slug=slug, owner_email=owner_email
        )
        tenant.save(verbosity=0)
        Domain.objects.create(domain=tenant.primary_domain_name, tenant=tenant, is_primary=True)
        billing_account_open(tenant=tenant)
        with schema_context(tenant.schema_name):
            # The template already holds the roles; syncing keeps them exact either way.
            roles_sync()
            owner = user_create(
                email=owner_email, full_name=owner_name, role=roles.OWNER, password=owner_password
            )
            link = workspace_url(tenant, user_set_password_path(user=owner))
        if send_invitation:
            transaction.on_commit(lambda: _send_owner_invitation(tenant, owner, link))
        enqueue_tenant_task(notification_welcome, tenant.schema_name, owner.pk)
    logger.info("Provisioned workspace %s (schema %s)", tenant.slug, tenant.schema_name)
    return ProvisionedWorkspace(tenant=tenant, owner=owner, set_password_url=link)


def tenant_owner_invitation_resend(*, tenant: Tenant) -> str:
    """Email the workspace's Owner a fresh set-password link and return it."""
    with schema_context(tenant.schema_name):
        owner = User.objects.get(email__iexact=tenant.owner_email)
        link = workspace_url(tenant, user_set_password_path(user=owner))
    _send_owner_invitation(tenant, owner, link)
    return link


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    """Lock a workspace: its staff see a 'workspace suspended' page until it is reactivated."""
    return _tenant_set_status(tenant, Tenant.Status.SUSPENDED, reason)


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    return _tenant_set_status(tenant, Tenant.Status.ACTIVE, "")


@transaction.atomic
def tenant_delete(*, tenant: Tenant) -> None:
    """Delete the workspace row, its domains and drop its schema with everything in it."""
    if tenant.schema_name == get_public_schema_name():
        raise ValidationError(PUBLIC_IMMUTABLE)
    schema = tenant.schema_name
    # A deleted workspace must not be charged again.
    billing_subscription_end(tenant=tenant)
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction leave deferred FK checks pending,
        # and PostgreSQL refuses to drop their tables until those have fired.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant.delete(force_drop=True)
    logger.info("Deleted workspace %s and dropped schema %s", tenant.slug, schema)


def _tenant_set_status(tenant: Tenant, status: str, reason: str) -> Tenant:
    if tenant.schema_name == get_public_schema_name():
        raise ValidationError(PUBLIC_IMMUTABLE)
    tenant.status = status
    tenant.status_reason = reason
    tenant.status_changed_at = timezone.now()
    tenant.save(update_fields=["status", "status_reason", "status_changed_at"])
    return tenant


def _send_owner_invitation(tenant: Tenant, owner: User, link: str) -> None:
    context = {
        "tenant": tenant,
        "owner": owner,
        "link": link,
        "admin_url": workspace_url(tenant, reverse("admin:index")),
    }
    with translation.override(tenant.default_language):
        send_mail(
            subject=_("Your EngageX workspace “%(name)s” is ready") % {"name": tenant.name},
            message=render_to_string("tenants/email/owner_invitation.txt", context),
            from_email=None,
            recipient_list=[owner.email],
            html_message=render_to_string("tenants/email/owner_invitation.html", context),
        )


def public_tenant_ensure() -> Tenant:
    """Create the platform's own tenant row and its domain (BASE_DOMAIN) when missing."""
    public = get_public_schema_name()
    tenant = Tenant.objects.filter(schema_name=public).first()
    if tenant is None:
        tenant = Tenant(
            schema_name=public,
            name="EngageX Platform",
            slug="public",
            owner_email=settings.DEFAULT_FROM_EMAIL.rsplit("<")[-1].rstrip(">"),
        )
        tenant.save(verbosity=0)
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant
