"""Import 1,000,000 contacts through the admin's import path, then re-import them as updates.

Beside it, in the same run, a 10,000-row sample goes through a stock django-import-export
ModelResource (no tuning). Prints rows/s for each, the ratio and this process's peak memory.
Usage: python bench/import_contacts.py [--rows N]
"""

import argparse
import csv
import os
import resource
import tempfile
import time

from _common import bench_database, bench_plan

STOCK_ROWS = 10_000


def write_csv(path: str, rows: int, *, variant: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email Address", "First Name", "Last Name", "Phone", "Company", "City"])
        for i in range(rows):
            writer.writerow(
                [
                    f"person{i}@example{i % 97}.com",
                    f"First{i}{variant}",
                    f"Last{i % 5000}",
                    f"+1555{i:07d}",
                    f"Company {i % 1000}",
                    "Berlin" if i % 2 else "Lisbon",
                ]
            )


def import_through_jobs(path: str, schema: str) -> tuple[float, dict]:
    """Upload → mapping → background dry run → confirm → background apply (task entry points)."""
    from django.core.files import File

    from engagex.contacts.services import importing
    from engagex.contacts.tasks import contacts_import_apply, contacts_import_validate

    start = time.perf_counter()
    with open(path, "rb") as handle:
        upload = File(handle, name=os.path.basename(path))
        upload.size = os.path.getsize(path)
        job = importing.import_job_create(upload=upload)
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
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
    rows = parser.parse_args().rows
    with bench_database(), tempfile.TemporaryDirectory() as tmp:
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


if __name__ == "__main__":
    main()
