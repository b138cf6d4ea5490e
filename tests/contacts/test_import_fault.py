"""Fault test: SIGKILL a real cluster while it applies an import; a new cluster's minute
sweeper finds the import with no live run and finishes it, without repeating a row."""

import os
import time

import pytest
from django.core.files import File
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_tenants.utils import schema_context

from devtools.cluster import start_cluster, wait_for
from engagex.billing.models import BillingAccount
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import importing
from engagex.core.schedules import SCHEDULES
from tenants.models import Tenant
from tests.campaigns.test_fault import _kill_tree
from tests.factories.billing import PlanFactory

ROWS = 120_000  # two apply ranges: 100,000 rows, then 20,000


@pytest.mark.cluster
def test_a_killed_cluster_leaves_an_import_that_the_sweeper_finishes(
    django_db_setup, django_db_blocker, tmp_path, settings
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    stale_seconds = 2
    budget = stale_seconds + 60
    env = {
        "ENGAGEX_TEST_MEDIA_ROOT": str(tmp_path / "media"),
        "IMPORT_STALE_SECONDS": str(stale_seconds),
        "Q_WORKERS": "2",
        # django-q2's own redelivery (Q_RETRY) comes far too late to be what recovers it.
        "Q_RETRY": "900",
        "Q_TIMEOUT": "600",
    }
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("email,first_name\n")
        handle.writelines(f"fault{i}@fault.example,F{i}\n" for i in range(ROWS))
    spec = next(s for s in SCHEDULES if s["func"].endswith("contacts_imports_sweep"))
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        account = BillingAccount.objects.get(tenant=tenant)
        plan = PlanFactory(contact_limit=ROWS * 2)
        BillingAccount.objects.filter(pk=account.pk).update(
            plan=plan, status=BillingAccount.Status.ACTIVE
        )
        OrmQ.objects.all().delete()
        Schedule.objects.filter(func=spec["func"]).delete()
        with schema_context(tenant.schema_name), open(path, "rb") as handle:
            upload = File(handle, name="big.csv")
            upload.size = os.path.getsize(path)
            job = importing.import_job_create(upload=upload, unattended=True)
        try:
            first = start_cluster(env)
            deadline = time.monotonic() + 400  # a loaded machine takes minutes
            # Kill it once the first range and its checkpoint are committed.
            while time.monotonic() < deadline and not _job(tenant, job).applied_through_row:
                time.sleep(0.05)
            _kill_tree(first)
            killed_at = time.monotonic()
            at_kill = _job(tenant, job)
            assert at_kill.status == ImportJob.Status.IMPORTING, at_kill.error_message
            assert 0 < at_kill.applied_through_row < ROWS
            Schedule.objects.create(
                name=spec["name"],
                func=spec["func"],
                schedule_type=spec["schedule_type"],
                minutes=spec["minutes"],
                next_run=timezone.now(),
            )

            seconds: dict[str, float] = {}  # since the kill, as the poll first sees them

            def done() -> bool:
                now = _job(tenant, job)
                # A new run counts one more attempt as it takes the job (the killed run's
                # checkpoint left 1); the sweeper's re-queue alone does not.
                if "resumed" not in seconds and (
                    now.attempts > at_kill.attempts or now.status == ImportJob.Status.DONE
                ):
                    seconds["resumed"] = time.monotonic() - killed_at
                if now.status == ImportJob.Status.DONE:
                    seconds["done"] = time.monotonic() - killed_at  # not the cluster's stop
                    return True
                return False

            # Waits past the budget so that a late recovery is measured, not only timed out.
            errors = wait_for(done, [start_cluster(env)], timeout=budget + 60)
            final = _job(tenant, job)
            assert final.status == ImportJob.Status.DONE, errors
            with schema_context(tenant.schema_name):
                imported = Contact.objects.filter(email__endswith="@fault.example").count()
            print(  # noqa: T201 - the figure the issue asks for
                f"\nimport after SIGKILL: running again in {seconds['resumed']:.1f} s, done in "
                f"{seconds['done']:.1f} s (killed at row {at_kill.applied_through_row:,} of "
                f"{ROWS:,}, budget {budget} s)"
            )
        finally:
            BillingAccount.objects.filter(pk=account.pk).update(
                plan=account.plan, status=account.status
            )
            plan.delete()
            Schedule.objects.filter(func=spec["func"]).delete()
            OrmQ.objects.all().delete()
            with schema_context(tenant.schema_name):
                Contact.objects.filter(email__endswith="@fault.example").delete()
                importing._drop_stage(job)
                ImportJob.objects.filter(pk=job.pk).delete()
    assert imported == ROWS  # nobody skipped, nobody twice
    assert final.counts["new"] == ROWS
    assert final.attempts == 0
    # Issue 14 items 6 and 10: recovered within IMPORT_STALE_SECONDS + one minute (stale
    # after 2 s, found at the restarted scheduler's first pass, about 30 s after it starts).
    # The job is done, not only running again, by then: its last range is 20,000 rows.
    assert seconds["resumed"] <= budget
    assert seconds["done"] <= budget


def _job(tenant, job) -> ImportJob:
    with schema_context(tenant.schema_name):
        return ImportJob.objects.get(pk=job.pk)
