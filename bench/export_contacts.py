"""Time the contact export (CSV and XLSX buttons of the changelist) on 100,000 contacts.

Each contact has 10 of 40 custom attributes (text, numbers, booleans) and belongs to 2 of
20 groups. Both files are downloaded through the full middleware stack as a logged-in
Owner and read to the end. "CPU s" is this process's CPU time (the web side; PostgreSQL
works in its own processes): on a shared machine it is steadier than wall-clock time.
Peak memory is the process's maximum resident set size.
Usage: python bench/export_contacts.py [--rows N] [--keys K]
"""

import argparse
import resource
import time

from _common import bench_database, bench_plan


def fill(rows: int, keys: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (email, first_name, last_name, phone, language, timezone,
                attributes, status, status_changed_at, status_source, consent_at, consent_source,
                created_at, updated_at)
            SELECT 'person' || i || '@example.com', 'First' || i, 'Last' || (i %% 5000),
                '+34 600 ' || lpad((i %% 1000000)::text, 6, '0'), 'en', 'Europe/Madrid',
                (SELECT jsonb_object_agg('attribute_' || ((i + k * 7) %% %s),
                    CASE k %% 3 WHEN 0 THEN to_jsonb('value ' || i)
                        WHEN 1 THEN to_jsonb(i * k) ELSE to_jsonb(i %% 2 = 0) END)
                 FROM generate_series(0, 9) AS k),
                'subscribed', now(), 'bench', now(), 'bench', now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [keys, rows],
        )
        cursor.execute(
            "INSERT INTO contacts_contactgroup (name, description, created_at) "
            "SELECT 'Group ' || g, '', now() FROM generate_series(1, 20) AS g"
        )
        cursor.execute(
            """
            INSERT INTO contacts_contact_groups (contact_id, contactgroup_id)
            SELECT c.id, g.id FROM contacts_contact c
            JOIN contacts_contactgroup g ON g.id % 20 IN (c.id % 20, (c.id * 3) % 20)
            """
        )
        cursor.execute("ANALYZE")


def download(client, url) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds of this process (the web side), and the file's size."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    size = sum(len(chunk) for chunk in response.streaming_content)
    return time.perf_counter() - start, time.process_time() - cpu, size


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=40)
    options = parser.parse_args()
    with bench_database():
        from django_tenants.test.client import TenantClient
        from django_tenants.utils import schema_context

        from engagex.platform.provisioning import tenant_create

        result = tenant_create(
            name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
        )
        tenant = result.tenant
        bench_plan(tenant, contacts=options.rows)
        with schema_context(tenant.schema_name):
            fill(options.rows, options.keys)
        client = TenantClient(tenant)
        with schema_context(tenant.schema_name):
            client.force_login(result.owner)

        before = peak_mib()
        print(f"contact export, {options.rows:,} contacts, {options.keys} attribute keys")
        print(f"{'file':<6}{'seconds':>10}{'CPU s':>8}{'rows/s':>10}{'MB':>8}{'peak MiB':>10}")
        for label, url in [
            ("CSV", "/admin/contacts/contact/export/csv/"),
            ("XLSX", "/admin/contacts/contact/export/xlsx/"),
        ]:
            seconds, cpu, size = download(client, url)
            print(
                f"{label:<6}{seconds:>10.1f}{cpu:>8.1f}{options.rows / seconds:>10,.0f}"
                f"{size / 1e6:>8.1f}{peak_mib():>10.0f}"
            )
        print(f"(peak before the exports: {before:.0f} MiB)")


if __name__ == "__main__":
    main()
