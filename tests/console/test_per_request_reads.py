"""Reads every console page makes (MFA rule, billing banner, unread count) run once a page.

unfold renders many sub-templates with the request and asks each sidebar badge twice, so a
read that is not kept for the request repeats as the page grows.
"""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from engagex.billing.models import BillingAccount
from engagex.notifications.services import notification_send
from tests.factories.contacts import ContactFactory

URL = "/admin/contacts/contact/"
PER_REQUEST_TABLES = (
    '"accounts_workspacesecurity"',  # the workspace's MFA rule
    '"billing_billingaccount"',  # the billing banner
    '"notifications_notification"',  # the unread badge
)


def _selects(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    assert "A payment failed. Update the card" in response.content.decode()
    return [query["sql"] for query in queries if query["sql"].startswith("SELECT")]


def test_a_console_page_reads_each_per_request_fact_once_however_many_rows_it_renders(
    owner_client, tenant, owner, on_plan
):
    # given: a banner to show and two unread notifications to count
    on_plan(tenant, status=BillingAccount.Status.PAST_DUE)
    with schema_context(tenant.schema_name):
        notification_send(recipients=[owner], title="Import finished")
        notification_send(recipients=[owner], title="Campaign sent")
        ContactFactory()
    one_row = _selects(owner_client)
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(20)

    # when
    many_rows = _selects(owner_client)

    # then
    assert len(many_rows) == len(one_row)
    for table in PER_REQUEST_TABLES:
        assert sum(table in sql for sql in many_rows) == 1, table


def test_the_bell_shows_the_unread_count_and_no_badge_at_zero(owner_client, tenant, owner):
    none_unread = owner_client.get("/admin/").content.decode()
    with schema_context(tenant.schema_name):
        notification_send(recipients=[owner], title="Import finished")
        notification_send(recipients=[owner], title="Campaign sent")

    two_unread = owner_client.get("/admin/").content.decode()

    assert _badges(none_unread) == []
    assert _badges(two_unread) == ["2"]


def _badges(page: str) -> list[str]:
    """The texts of the sidebar's badges (unfold's app_list_badge helper)."""
    return re.findall(r'<span class="font-semibold h-\[18px\][^>]*>\s*(\S+)\s*</span>', page)
