"""Shared set-up for benchmarks: a throw-away database on the same PostgreSQL server."""

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@contextmanager
def bench_database(name: str = "engagex_bench"):
    """Create database `name` with the template schema and public tenant; drop it after."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict["TEST"]["NAME"] = name
    from django.test.utils import setup_databases, teardown_databases

    from tenants.migrating import platform_migrate
    from tenants.services import public_tenant_ensure

    config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        platform_migrate(verbosity=0)
        public_tenant_ensure()
        yield
    finally:
        from django.db import connection

        connection.set_schema_to_public()
        teardown_databases(config, verbosity=0)


def timed(func, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result
