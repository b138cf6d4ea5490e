"""Outgoing mail: SendGrid through Anymail when a key is set, readable files otherwise."""

from config.env import BASE_DIR, env

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="EngageX <no-reply@engagex.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY", default="")

ANYMAIL = {
    "SENDGRID_API_KEY": SENDGRID_API_KEY,
    "SENDGRID_API_URL": env.str("SENDGRID_API_URL", default="https://api.sendgrid.com/v3/"),
    # "user:password" that SendGrid's Event Webhook URL carries (basic auth).
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="") or None,
    # The Event Webhook's public key (SendGrid "signed event webhook"), base64 without PEM lines.
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env.str(
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""
    )
    or None,
}

if SENDGRID_API_KEY:
    EMAIL_BACKEND = "engagex.campaigns.backends.SendGridBackend"
else:
    # Development: every message lands as a file under .local/mail, never dropped.
    EMAIL_BACKEND = "engagex.campaigns.backends.LocalMailBackend"
    EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=BASE_DIR / ".local" / "mail")
