"""Settings shared by every environment. Secrets and deployment facts come from the environment."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)

# Workspaces live on <slug>.<BASE_DOMAIN>; the platform itself on BASE_DOMAIN.
BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost")
# How links in emails reach this deployment: scheme and an optional ":port" suffix.
SITE_SCHEME = env.str("SITE_SCHEME", default="https")
SITE_PORT = env.str("SITE_PORT", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

# --- Applications -------------------------------------------------------------------------
# Public schema only: the platform (tenants, task queue) plus what both sides need.
SHARED_APPS = [
    # unfold first: django-tenants ships admin/index.html and app_list.html of its own.
    # Its basic config leaves `admin.site` alone: the console's platform site is the default.
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "engagex.console.apps.ConsoleAdminConfig",
    "django_q",
    "import_export",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "engagex.core",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "engagex.accounts",
    "engagex.notifications",
    "djstripe",
    "engagex.billing",
    # The top of the stack: provisioning, sign-up, Stripe sync, schedules, platform admin.
    "engagex.platform",
    "engagex.console",  # both admin consoles (no tables), above everything
]
# Every workspace schema: people live in their workspace, so auth, sessions and admin too.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "engagex.console.apps.ConsoleAdminConfig",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "engagex.accounts",
    "engagex.notifications",
    "engagex.contacts",
    "engagex.email_templates",
    "engagex.campaigns",
    "engagex.analytics",
    "engagex.segments",
    "engagex.subscriptions",
    "engagex.domains",
    "engagex.api",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# New workspaces are cloned from this migrated schema instead of running every migration.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.views.unknown_workspace"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Issue `SET search_path` once per connection and schema change, not before every cursor
# (half the statements of a short request). Safe with our django-tenants: set_tenant,
# close, rollback and savepoint rollback (which undo a SET) all forget the cached path.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "engagex.core.logging.RequestIdMiddleware",
    # Before the workspace middleware, so its suspended/unknown-workspace pages get a policy too.
    "engagex.core.csp.ContentSecurityPolicyMiddleware",
    "tenants.middleware.WorkspaceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "engagex.core.middleware.WorkspaceLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "engagex.accounts.middleware.MfaRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "engagex.platform.context_processors.billing_banner",
                "engagex.console.context_processors.console",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -----------------------------------------------------------------------------
# DATABASES is set per environment: development and test fall back to an embedded
# PostgreSQL, production requires DATABASE_URL.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- People -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Invitation and set-password links stay valid for a week.
PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Typed as Django declares them, so the other settings modules can add nested options.
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
MEDIA_URL = "/media/"
# The media library (images for emails): local files under MEDIA_ROOT, served per workspace
# at <workspace>/media/…, or an S3-compatible bucket when MEDIA_S3_BUCKET is set (the
# bucket then serves the files: make them publicly readable, mail clients do not log in).
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=5 * 1024 * 1024)
# 40 megapixels (e.g. 8,000 × 5,000): decoding one costs ~160 MB; Pillow only warns below 89.
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=40_000_000)
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are read by boto3 from the environment.
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "querystring_auth": False,  # image URLs in emails must not expire
            "file_overwrite": False,
            "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
        },
    }

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")  # "json" in production
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "engagex.core.logging.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(schema)s %(request_id)s] %(name)s %(message)s"
        },
        "json": {"()": "engagex.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- Contacts ------------------------------------------------------------------------------
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=150 * 1024 * 1024)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
# Files with more rows, or more bytes to parse (an .xlsx unpacked), than these are read,
# checked and imported in the task cluster, never in a web request.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=5_000)
IMPORT_BACKGROUND_BYTES = env.int("IMPORT_BACKGROUND_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=1024 * 1024 * 1024)
# An import in progress whose run reported nothing for this long, and whose lock no database
# session holds, lost its worker: the minute sweeper queues it again.
IMPORT_STALE_SECONDS = env.int("IMPORT_STALE_SECONDS", default=60)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Campaigns -----------------------------------------------------------------------------
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=1000)  # SendGrid's maximum
# How many send tasks work through one campaign at once (the cluster's workers share them).
CAMPAIGN_SEND_TASKS = env.int("CAMPAIGN_SEND_TASKS", default=2)
# Requests one send task keeps with the ESP at once while it builds the next batch.
CAMPAIGN_REQUESTS_IN_FLIGHT = env.int("CAMPAIGN_REQUESTS_IN_FLIGHT", default=4)
# A send task hands over to a fresh task after this many batches (spreads work across workers).
CAMPAIGN_BATCHES_PER_TASK = env.int("CAMPAIGN_BATCHES_PER_TASK", default=50)
# A batch claimed this long ago with no answer is checked with the ESP before resending.
CAMPAIGN_STALE_CLAIM_SECONDS = env.int("CAMPAIGN_STALE_CLAIM_SECONDS", default=300)
UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS", default=365)
PREFERENCES_TOKEN_MAX_AGE_DAYS = env.int(
    "PREFERENCES_TOKEN_MAX_AGE_DAYS", default=UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS
)
# Keys the hashes of erased addresses (docs/preference-centre.md); unset: derived from
# SECRET_KEY. Set it once, to a secret of its own, and never change it.
ERASURE_PEPPER = env.str("ERASURE_PEPPER", default="")

# --- Sender domains ------------------------------------------------------------------------
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=5.0)
# Pre-send link checks (task cluster): per request; private addresses only when allowed.
LINK_CHECK_TIMEOUT_SECONDS = env.float("LINK_CHECK_TIMEOUT_SECONDS", default=5.0)
LINK_CHECK_ALLOW_PRIVATE = env.bool("LINK_CHECK_ALLOW_PRIVATE", default=False)

# --- Event webhook --------------------------------------------------------------------------
# Soft bounces (mailbox full, greylisted...) a contact may have before it is suppressed.
SOFT_BOUNCE_THRESHOLD = env.int("SOFT_BOUNCE_THRESHOLD", default=3)
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
# Signed SendGrid webhooks older than this are refused (replays).
WEBHOOK_MAX_AGE_SECONDS = env.int("WEBHOOK_MAX_AGE_SECONDS", default=600)
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BYTES
# Without ANYMAIL_WEBHOOK_SECRET or a verification key the webhook refuses every post, in
# development too; this lets a local trial accept unauthenticated posts on purpose.
WEBHOOK_ALLOW_UNAUTHENTICATED = env.bool("WEBHOOK_ALLOW_UNAUTHENTICATED", default=False)

from config.settings.allauth import *  # noqa: E402, F403
from config.settings.api import *  # noqa: E402, F403
from config.settings.cache import *  # noqa: E402, F403
from config.settings.csp import *  # noqa: E402, F403
from config.settings.email import *  # noqa: E402, F403
from config.settings.q2 import *  # noqa: E402, F403
from config.settings.signup_forms import *  # noqa: E402, F403
from config.settings.stripe import *  # noqa: E402, F403
from config.settings.unfold import *  # noqa: E402, F403
