"""Stripe through dj-stripe. Without STRIPE_SECRET_KEY billing is "not configured" and the
rest of EngageX works: plans and limits still apply, nothing talks to Stripe."""

from config.env import env

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLIC_KEY = env.str("STRIPE_PUBLIC_KEY", default="")
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
# dj-stripe reads the key of the current mode from these two.
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
# The signing secret of the endpoint https://<BASE_DOMAIN>/billing/stripe/webhook/
# (Stripe dashboard → Developers → Webhooks). Events with a bad signature get 400.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Development and tests only: a fake Stripe API on loopback (devtools.fake_stripe).
if env.str("STRIPE_API_HOST", default=""):
    STRIPE_API_HOST = env.str("STRIPE_API_HOST")

DJSTRIPE_SUBSCRIBER_MODEL = "tenants.Tenant"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_TOLERANCE = 300

# Days a workspace keeps working after a failed payment before it turns read-only.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# Days before the end of the free trial when Owners are warned (email and in-app).
BILLING_TRIAL_WARNING_DAYS = (3, 1)

# Stripe Price IDs that `manage.py seed_plans` puts on new plans (superusers can edit them).
STRIPE_PRICE_BASIC_MONTHLY = env.str("STRIPE_PRICE_BASIC_MONTHLY", default="")
STRIPE_PRICE_BASIC_YEARLY = env.str("STRIPE_PRICE_BASIC_YEARLY", default="")
STRIPE_PRICE_PRO_MONTHLY = env.str("STRIPE_PRICE_PRO_MONTHLY", default="")
STRIPE_PRICE_PRO_YEARLY = env.str("STRIPE_PRICE_PRO_YEARLY", default="")
STRIPE_PRICE_PREMIUM_MONTHLY = env.str("STRIPE_PRICE_PREMIUM_MONTHLY", default="")
STRIPE_PRICE_PREMIUM_YEARLY = env.str("STRIPE_PRICE_PREMIUM_YEARLY", default="")
