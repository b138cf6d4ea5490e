"""Tenant-scoped background tasks.

A task names its workspace explicitly: its first argument is the schema name, and the
`tenant_task` decorator runs the body inside that schema. Nothing reads "the current
tenant" from state the task did not set itself.
"""

import functools
import gc
import logging

from django.db import transaction
from django.utils import translation
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

logger = logging.getLogger(__name__)


_heap_frozen = False


def heap_freeze_once() -> None:
    """Take what a worker has loaded (Django, the apps) out of the garbage collector's scans.

    Batch work allocates tens of thousands of short-lived objects, so full collections run
    often; each one walked the whole long-lived heap, about 12 µs per campaign recipient.
    Done once per process, at its first task, when little else is alive.
    """
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def tenant_task(func):
    """Run `func(schema_name, *args)` inside the schema `schema_name`, in its language.

    What a task writes for people (notifications, their emails, failure reasons) speaks the
    workspace's default language, as its console does. A workspace deleted after the task
    was queued is skipped with a warning, not retried.
    """

    @functools.wraps(func)
    def run(schema_name: str, *args, **kwargs):
        heap_freeze_once()
        found = (
            get_tenant_model()
            .objects.filter(schema_name=schema_name)
            .values_list("default_language", flat=True)
        )
        if not found:
            logger.warning("Skipping %s: workspace %r no longer exists", func.__name__, schema_name)
            return None
        with schema_context(schema_name), translation.override(found[0] or None):
            return func(schema_name, *args, **kwargs)

    return run


def enqueue_tenant_task(task, schema_name: str, *args, **kwargs) -> None:
    """Queue `task` for `schema_name` once the current transaction commits."""
    dotted = f"{task.__module__}.{task.__qualname__}"
    transaction.on_commit(lambda: async_task(dotted, schema_name, *args, **kwargs))


def for_each_schema(func, *args, **kwargs) -> int:
    """Run `func(*args)` in every workspace schema; return how many ran."""
    schemas = list(
        get_tenant_model()
        .objects.exclude(schema_name=get_public_schema_name())
        .values_list("schema_name", "default_language")
    )
    for schema_name, language in schemas:
        try:
            with schema_context(schema_name), translation.override(language or None):
                func(*args, **kwargs)
        except Exception:  # one workspace's failure must not stop the others
            logger.exception("%s failed in workspace %s", func.__name__, schema_name)
    return len(schemas)


def sessions_clear_expired() -> int:
    """Delete expired sessions in the platform and in every workspace (daily schedule)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    def clear():
        Session.objects.filter(expire_date__lt=timezone.now()).delete()

    clear()
    return for_each_schema(clear)
