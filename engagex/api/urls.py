from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from engagex.api import views
from engagex.api.segments import SegmentViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("imports", views.ImportJobViewSet, basename="import")
router.register("lists", views.ListViewSet, basename="mailing-list")
router.register("groups", views.GroupViewSet, basename="group")
router.register("templates", views.TemplateViewSet, basename="template")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("domains", views.DomainViewSet, basename="domain")
router.register("users", views.MemberViewSet, basename="user")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("analytics/events", views.EventViewSet, basename="event")
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = [
    path("", include(router.urls)),
    path("subscription/current/", views.SubscriptionView.as_view(), name="subscription-current"),
    path("subscription/plans/", views.PlansView.as_view(), name="subscription-plans"),
    path("dashboard/stats/", views.DashboardView.as_view(), name="dashboard-stats"),
    path(
        "schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"
    ),
    path(
        "docs/",
        # The split view serves Swagger's start-up script as a file: no inline script (CSP).
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", permission_classes=[IsAuthenticated]
        ),
        name="docs",
    ),
]
