"""Benchmarks: test settings, but uploads on disk (a 70 MB file must not sit in memory)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import BASE_DIR, STORAGES, env

STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BASE_DIR / ".local" / "bench-media")},
    },
}

# Benchmarks send through the real Anymail SendGrid backend to a fake server on loopback.
if env.str("SENDGRID_API_KEY", default=""):
    EMAIL_BACKEND = "engagex.campaigns.backends.SendGridBackend"

# The cluster started by a benchmark uses the benchmark's database.
if env.str("ENGAGEX_BENCH_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("ENGAGEX_BENCH_DATABASE_NAME")  # noqa: F405

# Benchmarks of public endpoints count rate limits in the cache every worker shares, as in
# production (Redis when REDIS_URL is set, else the PostgreSQL cache table), not per process.
if env.bool("ENGAGEX_BENCH_SHARED_CACHE", default=False):
    from config.settings.cache import cache_settings

    CACHES = cache_settings(env.str("REDIS_URL", default=""))

# Benchmarks run what production runs (the tests read forms every time).
SIGNUP_FORM_CACHE_SECONDS = env.int("SIGNUP_FORM_CACHE_SECONDS", default=5)
