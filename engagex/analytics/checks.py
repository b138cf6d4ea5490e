from django.conf import settings
from django.core.checks import Warning, register

WEBHOOK_OPEN = Warning(
    "SendGrid's event webhook accepts unauthenticated posts.",
    hint="Set ANYMAIL_WEBHOOK_SECRET (basic auth) and/or "
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY (signed webhook).",
    id="engagex.W001",
)


@register(deploy=True)
def webhook_is_authenticated(app_configs, **kwargs):
    anymail = getattr(settings, "ANYMAIL", {})
    if anymail.get("WEBHOOK_SECRET") or anymail.get("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"):
        return []
    return [WEBHOOK_OPEN]
