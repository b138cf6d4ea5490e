"""Shared set-up for benchmarks: a throw-away database on the same PostgreSQL server."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@contextmanager
def bench_database(name: str = "engagex_bench", *, keep: bool = False, reuse: bool = False):
    """Create database `name` with the template schema and public tenant; drop it after.

    `keep` leaves it in place afterwards and `reuse` works in the one a kept run left, so a
    benchmark whose data takes minutes to build can be measured again on the same data.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from django.db import connections

    if reuse:
        connections["default"].settings_dict["NAME"] = name
        yield
        return
    connections["default"].settings_dict["TEST"]["NAME"] = name
    from django.test.utils import setup_databases, teardown_databases

    from engagex.platform.migrating import platform_migrate
    from engagex.platform.provisioning import public_tenant_ensure

    config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        platform_migrate(verbosity=0)
        public_tenant_ensure()
        yield
    finally:
        from django.db import connection

        connection.set_schema_to_public()
        if keep:
            print(f"kept the database {name} (--reuse measures on it again)")
        else:
            teardown_databases(config, verbosity=0)


def bench_plan(tenant, *, contacts: int, sends: int = 0) -> None:
    """Give the bench workspace an active plan with room for the run (limits live on plans)."""
    from engagex.billing.models import BillingAccount, Plan

    plan, _ = Plan.objects.update_or_create(
        code="bench",
        defaults={
            "name": "Bench",
            "is_public": False,
            "contact_limit": contacts,
            "monthly_send_limit": sends or None,
        },
    )
    BillingAccount.objects.filter(tenant=tenant).update(
        plan=plan, status=BillingAccount.Status.ACTIVE
    )


def timed(func, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def gunicorn_start(port: int) -> subprocess.Popen:
    """Serve the project with gunicorn (2 workers) on loopback, against the bench database.

    Returns once /healthz answers; the caller terminates the process.
    """
    import requests
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "ENGAGEX_BENCH_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(100):
        try:
            requests.get(
                f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=1
            )
            break
        except requests.RequestException:
            time.sleep(0.1)
    return server
