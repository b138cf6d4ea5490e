"""Time the contact changelist with 1,000,000 contacts: ours beside the stock admin settings.

Stock = Django's defaults: exact COUNT(*) for the paginator and the result count, and
`icontains` search over email and names. Ours = LargeTablePaginator + prefix search on
indexed lower() expressions. Each page is requested through the full middleware stack.
Usage: python bench/contacts_admin.py [--rows N]
"""

import argparse
import statistics
import time

from _common import bench_database

REPEAT = 7


def fill(rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (email, first_name, last_name, phone, language, timezone,
                attributes, status, status_source, consent_source, created_at, updated_at)
            SELECT 'person' || i || '@example' || (i %% 97) || '.com', 'First' || i,
                'Last' || (i %% 5000), '', 'en', '', '{}'::jsonb,
                CASE WHEN i %% 10 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, 'bench', '',
                now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [rows],
        )
        cursor.execute("ANALYZE contacts_contact")


def time_page(client, url) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with bench_database():
        from django.contrib.admin import ModelAdmin as DjangoModelAdmin
        from django.core.paginator import Paginator
        from django_tenants.test.client import TenantClient
        from django_tenants.utils import schema_context

        from engagex.contacts.admin import ContactAdmin
        from engagex.platform.provisioning import tenant_create

        result = tenant_create(
            name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
        )
        tenant = result.tenant
        with schema_context(tenant.schema_name):
            fill(rows)
        client = TenantClient(tenant)
        with schema_context(tenant.schema_name):
            client.force_login(result.owner)

        base = "/admin/contacts/contact/"
        pages = [
            ("list, first page", base),
            ("list, page 50", base + "?p=50"),
            ("search email prefix 'person12345@'", base + "?q=person12345%40"),
            ("search name 'first4242'", base + "?q=first4242"),
            ("filter status=unsubscribed", base + "?status__exact=unsubscribed"),
        ]
        ours = {label: time_page(client, url) for label, url in pages}

        stock_attrs = {
            "paginator": Paginator,
            "show_full_result_count": True,
            "search_fields": ["email", "first_name", "last_name"],
            "get_search_results": DjangoModelAdmin.get_search_results,
        }
        saved = {name: ContactAdmin.__dict__.get(name) for name in stock_attrs}
        for name, value in stock_attrs.items():
            setattr(ContactAdmin, name, value)
        try:
            stock = {label: time_page(client, url) for label, url in pages}
        finally:
            for name, value in saved.items():
                setattr(ContactAdmin, name, value)

    print(f"contact changelist with {rows:,} contacts, median of {REPEAT} requests (ms)")
    print(f"{'page':<38}{'EngageX':>10}{'stock':>10}")
    for label, _ in pages:
        print(f"{label:<38}{ours[label]:>10.0f}{stock[label]:>10.0f}")


if __name__ == "__main__":
    main()
