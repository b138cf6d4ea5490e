from config.database import database_settings
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, Q_CLUSTER, env

DATABASES = {"default": database_settings(env, BASE_DIR)}
# Separate names let two test runs share one server (e.g. TEST_DATABASE_NAME=test_engagex_2).
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_engagex")}

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
BASE_DOMAIN = "localhost"
SITE_SCHEME = "http"
SITE_PORT = ""
ALLOWED_HOSTS = ["localhost", ".localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / ".local" / "test-mail"
# One process runs the suite and every test starts with an empty cache (tests/fixtures); the
# servers the browser tests start share the database cache like production (settings/browser).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests enqueue for real on the ORM broker; only cluster tests run workers. REDIS_URL (set by
# .ci/run when a Redis server answers) is used only by clusters the scale-out test starts.
Q_CLUSTER = {k: v for k, v in Q_CLUSTER.items() if k != "redis"}
Q_CLUSTER.update(sync=False, poll=0.1, orm="default")
if env.bool("ENGAGEX_CLUSTER_REDIS", default=False):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env.str("REDIS_URL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# A worker started by a test sends through Anymail to the test's fake SendGrid server.
if env.str("SENDGRID_API_KEY", default=""):
    EMAIL_BACKEND = "engagex.campaigns.backends.SendGridBackend"

# A worker started by a test reads uploads the test stored in this folder (memory is not shared).
if env.str("ENGAGEX_TEST_MEDIA_ROOT", default=""):
    STORAGES["default"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("ENGAGEX_TEST_MEDIA_ROOT")},
    }

# A worker started by a test (a real qcluster subprocess) must use the test database.
if env.str("ENGAGEX_TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("ENGAGEX_TEST_DATABASE_NAME")
# Tests change forms and lists between two requests of one test: read them every time
# (tests/subscriptions/test_signup_forms.py covers the cache with it on).
SIGNUP_FORM_CACHE_SECONDS = 0
