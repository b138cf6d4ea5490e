"""The cache every web and task process shares.

allauth counts failed logins in the cache, and the dashboards are cached there: a per-process
memory cache would multiply every login limit by the number of gunicorn workers (and machines)
and give each its own dashboard figures. Redis when REDIS_URL is set, otherwise a table in
PostgreSQL (created by engagex.core's migration `0001_cache_table`, which `setup_platform` and
the release step run).
"""

from typing import Any

from config.env import env

CACHE_TABLE = "engagex_cache"
# Keys carry the schema name, so one workspace never reads another's cache.
_TENANT_KEYS = {
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
}


def cache_settings(redis_url: str) -> dict[str, dict[str, Any]]:
    backend: dict[str, Any]
    if redis_url:
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    else:
        backend = {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Past MAX_ENTRIES Django culls a third of the table, rate-limit counters included:
            # keep that far beyond what login throttling and dashboards hold.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    return {"default": {**backend, **_TENANT_KEYS}}


CACHES = cache_settings(env.str("REDIS_URL", default=""))
