"""What the erasure check costs an import: N new rows imported (dry run + apply) with the
check switched off (the import as it was before it), on in a workspace that erased no one,
and on in a workspace that erased 10,000 people of whom 1% are in the file.

Each setting runs in a fresh workspace, ROUNDS times, interleaved (this machine's other load
spreads over all three); the check's own statement is timed too.
Usage: python bench/import_erased.py [--rows N] [--rounds R]
"""

import argparse
import os
import statistics
import tempfile
import time

from _common import bench_database, bench_plan
from import_contacts import write_csv

ERASED = 10_000


def run(path: str, schema: str) -> tuple[float, dict]:
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = args.rows
    with bench_database("engagex_bench_erased"), tempfile.TemporaryDirectory() as tmp:
        from django_tenants.utils import schema_context

        from engagex.contacts.models import Contact, ErasedAddress
        from engagex.contacts.services import importing
        from engagex.contacts.services.erasure import address_hash
        from engagex.platform.provisioning import tenant_create

        path = os.path.join(tmp, "contacts.csv")
        write_csv(path, rows, variant="")
        in_file = [f"person{i}@example{i % 97}.com" for i in range(0, rows, 100)]
        others = [f"gone{i}@elsewhere.example" for i in range(ERASED - len(in_file))]
        hashes = [address_hash(e) for e in in_file + others]
        checked = importing._mark_erased
        statement: list[float] = []

        def timed_check(*args, **kwargs):
            start = time.perf_counter()
            try:
                return checked(*args, **kwargs)
            finally:
                statement.append(time.perf_counter() - start)

        settings = {
            "check off (before)": (lambda *a, **k: 0, 0),
            "check on, nobody erased": (timed_check, 0),
            f"check on, {ERASED:,} erased (1% of file)": (timed_check, ERASED),
        }
        results: dict[str, list] = {name: [] for name in settings}
        checks: dict[str, list] = {name: [] for name in settings}
        n = 0
        for _round in range(args.rounds):
            for name, (check, erased) in settings.items():
                n += 1
                slug = f"bench{n}"
                tenant = tenant_create(
                    name=slug, slug=slug, owner_email=f"o@{slug}.example", send_invitation=False
                ).tenant
                bench_plan(tenant, contacts=rows * 2)
                importing._mark_erased = check
                statement.clear()
                with schema_context(tenant.schema_name):
                    ErasedAddress.objects.bulk_create(
                        [ErasedAddress(email_hash=h) for h in hashes[:erased]]
                    )
                    seconds, counts = run(path, tenant.schema_name)
                    stored = Contact.objects.count()
                importing._mark_erased = checked
                expected = rows - (len(in_file) if erased else 0)
                assert counts["new"] == stored == expected, (counts, stored)
                results[name].append(seconds)
                checks[name].append(sum(statement))

    print(f"{rows:,} new rows per import, {args.rounds} rounds, median seconds")
    print(f"{'setting':<42}{'import s':>10}{'rows/s':>10}{'check s':>10}{'not imported':>14}")
    for name in settings:
        seconds = statistics.median(results[name])
        check = statistics.median(checks[name])
        skipped = len(in_file) if "erased (" in name else 0
        print(f"{name:<42}{seconds:>10.2f}{rows / seconds:>10,.0f}{check:>10.3f}{skipped:>14,}")


if __name__ == "__main__":
    main()
