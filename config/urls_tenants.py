"""URLs of every workspace domain (<slug>.BASE_DOMAIN): the workspace console and API."""

from django.shortcuts import redirect
from django.urls import include, path

from engagex.accounts.urls import urlpatterns_for, workspace_urlpatterns
from engagex.core.sites import workspace_site
from engagex.core.views import healthz
from engagex.subscriptions.urls import workspace_urlpatterns as subscription_workspace_urlpatterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", lambda request: redirect("admin:index")),
    path("admin/", workspace_site.urls),
    path("api/v1/", include(("engagex.api.urls", "api"))),
    path("", include("engagex.email_templates.urls")),
    *workspace_urlpatterns,
    *subscription_workspace_urlpatterns,
    *urlpatterns_for(workspace_site),
]
