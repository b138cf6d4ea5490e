"""The workspace console as the apps below it see it: a site to register their admins with.

The console (`engagex.console`) sits at the top of the stack, so no app may import it. Like
Django's `admin.site`, which builds `AdminConfig.default_site` on first use, `workspace_site`
builds the class `settings.WORKSPACE_ADMIN_SITE` names the first time an app registers.
"""

from typing import cast

from django.conf import settings
from django.contrib.admin import AdminSite
from django.utils.functional import LazyObject
from django.utils.module_loading import import_string


class DefaultWorkspaceSite(LazyObject):
    def _setup(self):
        self._wrapped = import_string(settings.WORKSPACE_ADMIN_SITE)(name="admin")

    def __repr__(self):
        return repr(self._wrapped)


# Typed as the site it stands for, as django-stubs types `admin.site`.
workspace_site = cast(AdminSite, DefaultWorkspaceSite())
