"""django-allauth: login (password or emailed code), password reset, MFA and OpenID Connect.

People live in their workspace's schema, so allauth's tables are in both SHARED_APPS and
TENANT_APPS. No `django.contrib.sites`: the OpenID Connect client comes from settings, so no
per-workspace Site or SocialApp row is needed.
"""

from config.env import env

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/admin/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"

ACCOUNT_ADAPTER = "engagex.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "engagex.accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Members are invited by email (or sign up with an emailed code): the address is proven.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[EngageX] "
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 5 * 60
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PRESERVE_USERNAME_CASING = False
# The client address allauth throttles by. Behind reverse proxies every visitor arrives from
# the last proxy's address: TRUSTED_PROXY_COUNT names how many proxies you run in front of
# EngageX (the client is then that many entries from the end of X-Forwarded-For, which a client
# cannot forge past your own proxy), or TRUSTED_CLIENT_IP_HEADER the header one of them sets
# (e.g. CF-Connecting-IP, X-Real-IP). Neither set: REMOTE_ADDR, and X-Forwarded-For is ignored.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
# allauth's rate limits, counted in the shared cache (config/settings/cache.py): on top of its
# defaults (code requests 3/min per address, password resets 5/min per address...), failed
# logins are throttled strictly per account and generously per address, so that people sharing
# an address (an office, an unconfigured proxy) are not locked out by someone else's failures
# on other accounts. A correct password does not count (allauth rolls the attempt back).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "20/m/ip,5/5m/key",
    # Our own sign-up pages (per IP; each code also allows only SIGNUP_CODE_MAX_ATTEMPTS).
    "engagex_signup": "10/m/ip",
    "engagex_signup_code": "20/m/ip",
}

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "EngageX"
# Platform superusers must enrol a second factor before using the platform admin
# (production turns this on).
MFA_REQUIRED_FOR_SUPERUSERS = env.bool("MFA_REQUIRED_FOR_SUPERUSERS", default=False)

SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
# An OIDC login with a verified email logs in the member who has that address.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_QUERY_EMAIL = True

# A generic OpenID Connect provider (Okta, Entra ID, Google Workspace, Keycloak...).
OIDC_PROVIDER_ID = env.str("OIDC_PROVIDER_ID", default="sso")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="Single sign-on")
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")


def oidc_providers(*, provider_id, name, server_url, client_id, secret) -> dict:
    """SOCIALACCOUNT_PROVIDERS for one OpenID Connect app (empty when not configured)."""
    if not (server_url and client_id):
        return {}
    app = {
        "provider_id": provider_id,
        "name": name,
        "client_id": client_id,
        "secret": secret,
        "settings": {"server_url": server_url, "oauth_pkce_enabled": True},
    }
    return {"openid_connect": {"APPS": [app]}}


SOCIALACCOUNT_PROVIDERS = oidc_providers(
    provider_id=OIDC_PROVIDER_ID,
    name=OIDC_PROVIDER_NAME,
    server_url=OIDC_SERVER_URL,
    client_id=OIDC_CLIENT_ID,
    secret=OIDC_CLIENT_SECRET,
)

# Sign-up: emailed verification codes and the login token that carries the new Owner from
# the public domain to their workspace's domain.
SIGNUP_CODE_TTL_SECONDS = env.int("SIGNUP_CODE_TTL_SECONDS", default=10 * 60)
SIGNUP_CODE_MAX_ATTEMPTS = 5
SIGNUP_CODES_PER_EMAIL_PER_HOUR = 5
LOGIN_TOKEN_TTL_SECONDS = 120
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
