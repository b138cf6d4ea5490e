"""API-key authentication: `Authorization: Bearer egx_…`, checked in the current workspace."""

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from engagex.accounts import roles
from engagex.api.models import ApiKey
from engagex.api.services import api_key_find
from engagex.billing.limits import api_access
from engagex.core.tenancy import current_tenant

NO_API_ACCESS = gettext_lazy(
    "API access is not included in this workspace's plan: an Owner can upgrade on the Billing page."
)
BAD_KEY = gettext_lazy("Invalid or revoked API key.")


class ApiKeyPrincipal:
    """Stands in for a person on API calls made with a key.

    The key acts with its own role capped by its creator's *current* role: a key made by a
    member later demoted acts at most with their new role. Everything that decides what a
    request may do asks this object (`has_perm`, `roles.role_of`, `roles.is_owner`, the
    services' `actor=`), never the creator; `user` (the creator) is only whom to credit.
    """

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, key: ApiKey):
        self.key = key
        self.user = key.created_by
        self.pk = None

    def __str__(self):
        return f"API key {self.key.name}"

    @cached_property
    def acting_role(self) -> str | None:
        """The lesser of the key's role and its creator's current role (None: acts as nobody)."""
        return roles.role_lower(self.key.role, roles.role_of(self.user))

    @cached_property
    def _permissions(self) -> set[str]:
        role = self.acting_role
        if role is None or self.user is None:  # no creator: acting_role is None already
            return set()
        granted = {
            f"{app}.{codename}"
            for app, codename in Permission.objects.filter(group__name=role).values_list(
                "content_type__app_label", "codename"
            )
        }
        # Never more than the creator holds now, whatever their groups say.
        return granted & self.user.get_all_permissions()

    def has_perm(self, perm, obj=None) -> bool:
        return perm in self._permissions

    def has_perms(self, perms, obj=None) -> bool:
        return all(self.has_perm(p) for p in perms)

    def get_all_permissions(self, obj=None) -> set[str]:
        return set(self._permissions)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        key = api_key_find(header[1].decode(errors="replace"))
        # A key stops working with its creator: a deactivated (or deleted) member's keys die.
        if key is None or key.created_by is None or not key.created_by.is_active:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        if not api_access(current_tenant()):
            raise exceptions.PermissionDenied(NO_API_ACCESS)
        if key.last_used_at is None or key.last_used_at < timezone.now() - timedelta(minutes=5):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
