"""URLs of the platform's own domain (BASE_DOMAIN): platform admin, public pages, webhooks."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

from engagex.accounts.urls import urlpatterns_for
from engagex.analytics.views import SendGridEventsView
from engagex.campaigns.views import unsubscribe, web_version
from engagex.core.views import healthz
from engagex.platform.urls import signup_urlpatterns
from engagex.platform.webhooks import StripeWebhookView
from engagex.subscriptions.urls import public_urlpatterns as subscription_public_urlpatterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", lambda request: redirect("admin:index")),
    path("admin/", admin.site.urls),
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
    path("v/<str:token>/", web_version, name="web_version"),
    # SendGrid Event Webhook URL: https://user:password@<BASE_DOMAIN>/anymail/sendgrid/tracking/
    path("anymail/sendgrid/tracking/", SendGridEventsView.as_view(), name="sendgrid_events"),
    # Stripe webhook endpoint URL: https://<BASE_DOMAIN>/billing/stripe/webhook/
    path("billing/stripe/webhook/", StripeWebhookView.as_view(), name="stripe_webhook"),
    # dj-stripe's own webhook URL is deliberately not mounted: it stores a request before
    # checking its signature. Ours checks first, then hands over to dj-stripe.
    *signup_urlpatterns,
    *subscription_public_urlpatterns,
    *urlpatterns_for(admin.site),
]
