"""API-key authentication: `Authorization: Bearer egx_…`, checked in the current workspace."""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from engagex.api.models import ApiKey
from engagex.api.services import api_key_find
from engagex.billing.limits import api_access
from engagex.core.tenancy import current_tenant

NO_API_ACCESS = "API access is not included in this workspace's plan: upgrade on the Billing page."
BAD_KEY = "Invalid or revoked API key."


class ApiKeyPrincipal:
    """Stands in for a user: the key's role decides what it may do."""

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
    def _permissions(self) -> set[str]:
        group = Group.objects.filter(name=self.key.role).first()
        if group is None:
            return set()
        return {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }

    def has_perm(self, perm, obj=None) -> bool:
        return perm in self._permissions

    def has_perms(self, perms, obj=None) -> bool:
        return all(self.has_perm(p) for p in perms)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        key = api_key_find(header[1].decode(errors="replace"))
        # A key stops working with its creator: deactivated members' keys are dead too.
        if key is None or (key.created_by is not None and not key.created_by.is_active):
            raise exceptions.AuthenticationFailed(BAD_KEY)
        if not api_access(current_tenant()):
            raise exceptions.PermissionDenied(NO_API_ACCESS)
        if key.last_used_at is None or key.last_used_at < timezone.now() - timedelta(minutes=5):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
