"""/healthz for load balancers: database, cache, task broker and the cluster's heartbeat."""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone

logger = logging.getLogger(__name__)
# The minute schedule runs every minute; three minutes late means no cluster is working.
HEARTBEAT_STALE = timedelta(minutes=3)


def healthz(request):
    checks = {
        "database": _check(_database),
        "cache": _check(_cache),
        "broker": _check(_broker),
        "cluster": _check(_cluster),
    }
    critical = ("database", "cache", "broker")
    healthy = all(checks[name] == "ok" for name in critical)
    strict = request.GET.get("strict") == "1"
    status = 200 if healthy and (not strict or checks["cluster"] == "ok") else 503
    body = {"status": "ok" if status == 200 and checks["cluster"] == "ok" else "degraded"}
    return JsonResponse({**body, "checks": checks}, status=status)


def _check(probe) -> str:
    try:
        return probe()
    except Exception as error:  # a health check reports failures, it does not raise them
        logger.warning("Health check %s failed: %s", probe.__name__, error)
        return f"error: {error.__class__.__name__}"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _cache() -> str:
    cache.set("healthz", "1", 10)
    return "ok" if cache.get("healthz") == "1" else "error: cache did not keep a value"


def _broker() -> str:
    from django_q.brokers import get_broker

    broker = get_broker()
    return "ok" if broker.ping() else "error: broker did not answer"


def _cluster() -> str:
    from django_q.models import Schedule

    overdue = Schedule.objects.filter(
        name="campaigns: start scheduled campaigns",
        next_run__lt=timezone.now() - HEARTBEAT_STALE,
    ).exists()
    return "stale: no task cluster has run the minute schedule" if overdue else "ok"
