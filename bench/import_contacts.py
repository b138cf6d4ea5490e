"""Import 1,000,000 contacts through the admin's import path, then re-import them as updates.

Beside it, in the same run, a 10,000-row sample goes through a stock django-import-export
ModelResource (no tuning). Prints rows/s for each, the ratio and this process's peak memory.
With --lists N the same two imports then run again in a second, empty workspace, into N lists,
from files that also carry Mailchimp's consent columns (OPTIN_TIME, OPTIN_IP, CONFIRM_TIME),
with the consent choice of --list-consent (double_opt_in queues the confirmation batches
for a no-op sender). The first workspace is vacuumed first (not timed), so that cleaning up
after its re-import does not run inside the second workspace's measurement.
Usage: python bench/import_contacts.py [--rows N] [--lists 2] [--list-consent permission]
"""

import argparse
import csv
import os
import resource
import tempfile
import time

from _common import bench_database, bench_plan

STOCK_ROWS = 10_000


def write_csv(path: str, rows: int, *, variant: str, consent: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = ["Email Address", "First Name", "Last Name", "Phone", "Company", "City"]
        writer.writerow(header + (["OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME"] if consent else []))
        for i in range(rows):
            row = [
                f"person{i}@example{i % 97}.com",
                f"First{i}{variant}",
                f"Last{i % 5000}",
                f"+1555{i:07d}",
                f"Company {i % 1000}",
                "Berlin" if i % 2 else "Lisbon",
            ]
            if consent:
                day = f"2023-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
                confirmed = f"{day} 09:16:{i % 60:02d}" if i % 3 else ""
                ip = f"{i % 223 + 1}.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                row += [f"{day} 09:15:{i % 60:02d}", ip, confirmed]
            writer.writerow(row)


def import_through_jobs(
    path: str, schema: str, groups=(), list_consent: str = ""
) -> tuple[float, dict]:
    """Upload → mapping → background dry run → confirm → background apply (task entry points)."""
    from django.core.files import File

    from engagex.contacts.services import importing
    from engagex.contacts.tasks import contacts_import_apply, contacts_import_validate

    start = time.perf_counter()
    with open(path, "rb") as handle:
        upload = File(handle, name=os.path.basename(path))
        upload.size = os.path.getsize(path)
        job = importing.import_job_create(upload=upload)
    importing.import_job_configure(
        job=job,
        mapping=job.mapping,
        update_existing=True,
        groups=groups,
        list_consent=list_consent,
    )
    importing.import_job_mark_queued(job=job)
    contacts_import_validate(schema, job.pk)
    job.refresh_from_db()
    importing.import_job_confirm(job=job)
    contacts_import_apply(schema, job.pk)
    job.refresh_from_db()
    assert job.status == job.Status.DONE, job.error_message
    return time.perf_counter() - start, job.counts


def stock_import(rows: int) -> float:
    import tablib
    from import_export import resources

    from engagex.contacts.models import Contact

    class StockContactResource(resources.ModelResource):
        class Meta:
            model = Contact
            import_id_fields = ["email"]
            fields = ["email", "first_name", "last_name", "phone"]

    dataset = tablib.Dataset(headers=["email", "first_name", "last_name", "phone"])
    for i in range(rows):
        dataset.append([f"stock{i}@example.com", f"First{i}", f"Last{i}", f"+1666{i:07d}"])
    start = time.perf_counter()
    result = StockContactResource().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - start
    assert result.totals["new"] == rows
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lists", type=int, default=0)
    parser.add_argument(
        "--list-consent", default="permission", choices=["permission", "double_opt_in"]
    )
    options = parser.parse_args()
    rows = options.rows
    with bench_database(), tempfile.TemporaryDirectory() as tmp:
        from django.db import connection
        from django_tenants.utils import schema_context

        from engagex.contacts.models import Contact
        from engagex.platform.provisioning import tenant_create

        tenant = tenant_create(
            name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
        ).tenant
        bench_plan(tenant, contacts=rows * 2 + STOCK_ROWS)
        first, second = os.path.join(tmp, "contacts.csv"), os.path.join(tmp, "contacts-2.csv")
        t0 = time.perf_counter()
        write_csv(first, rows, variant="")
        write_csv(second, rows, variant="x")
        generated = time.perf_counter() - t0
        size_mb = os.path.getsize(first) / 1e6

        with schema_context(tenant.schema_name):
            # Stock first, into an empty table: its best case (no scans over our rows).
            stock_seconds = stock_import(STOCK_ROWS)
            new_seconds, new_counts = import_through_jobs(first, tenant.schema_name)
            update_seconds, update_counts = import_through_jobs(second, tenant.schema_name)
            total = Contact.objects.count()
            # The re-import left 1M dead contact rows: their autovacuum would otherwise run
            # on the second core during the next measurement (seen taking 25 s of it).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM contacts_contact")
        listed = None
        if options.lists:
            listed = lists_variant(tmp, rows, options.lists, options.list_consent)
            new_lists, update_lists, members, asked = listed

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours = rows / new_seconds
    stock = STOCK_ROWS / stock_seconds
    print(f"file: {rows:,} rows, {size_mb:.0f} MB (generated in {generated:.1f}s, not timed)")
    print(f"{'path':<44}{'rows':>11}{'seconds':>9}{'rows/s':>10}")
    print(f"{'EngageX import job, all new':<44}{rows:>11,}{new_seconds:>9.1f}{ours:>10,.0f}")
    print(
        f"{'EngageX import job, re-import (updates)':<44}{rows:>11,}{update_seconds:>9.1f}"
        f"{rows / update_seconds:>10,.0f}"
    )
    label = "stock import-export ModelResource"
    print(f"{label:<44}{STOCK_ROWS:>11,}{stock_seconds:>9.1f}{stock:>10,.0f}")
    print(
        f"speed-up over stock: {ours / stock:.0f}x   peak memory (this process): {peak_mib:.0f} MiB"
    )
    print(f"counts: new={new_counts['new']:,}, then updated={update_counts['update']:,}")
    assert new_counts["new"] == rows
    assert update_counts["update"] == rows
    assert total == rows + STOCK_ROWS
    if listed is not None:
        what = f"{options.lists} lists, consent columns, {options.list_consent}"
        print(f"with {what} (a second, empty workspace):")
        label = "  all new"
        print(f"{label:<44}{rows:>11,}{new_lists:>9.1f}{rows / new_lists:>10,.0f}")
        label = "  re-import (updates; members kept)"
        print(f"{label:<44}{rows:>11,}{update_lists:>9.1f}{rows / update_lists:>10,.0f}")
        print(f"  memberships: {members:,}; confirmation tasks queued: {asked:,}")
        assert members == rows * options.lists


def lists_variant(tmp: str, rows: int, count: int, list_consent: str):
    """The two imports again, into `count` lists, from files with consent columns."""
    from django_q.models import OrmQ
    from django_tenants.utils import schema_context

    from engagex.contacts.models import ContactGroup, Membership
    from engagex.contacts.services import lists
    from engagex.platform.provisioning import tenant_create

    if list_consent == "double_opt_in":
        lists.register_confirmation_sender(lambda *, memberships: None)
    tenant = tenant_create(
        name="Bench lists", slug="bench-lists", owner_email="o@bench.example",
        send_invitation=False,
    ).tenant  # fmt: skip
    bench_plan(tenant, contacts=rows * 2)
    first, second = os.path.join(tmp, "lists.csv"), os.path.join(tmp, "lists-2.csv")
    write_csv(first, rows, variant="", consent=True)
    write_csv(second, rows, variant="x", consent=True)
    with schema_context(tenant.schema_name):
        groups = [ContactGroup.objects.create(name=f"List {n}") for n in range(count)]
        queued = OrmQ.objects.count()
        new_seconds, counts = import_through_jobs(first, tenant.schema_name, groups, list_consent)
        assert counts["new"] == rows, counts
        update_seconds, counts = import_through_jobs(
            second, tenant.schema_name, groups, list_consent
        )
        assert counts["update"] == rows, counts
        members = Membership.objects.count()
        asked = OrmQ.objects.count() - queued
    return new_seconds, update_seconds, members, asked


if __name__ == "__main__":
    main()
