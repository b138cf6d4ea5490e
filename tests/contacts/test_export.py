import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from engagex.contacts.services.exporting import cell_neutralise
from tests.factories.contacts import ContactFactory


def _url(name):
    return reverse(name, urlconf="config.urls_tenants")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        (None, ""),
        (42, 42),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert cell_neutralise(value) == expected


def test_csv_export_is_streamed_follows_the_filter_and_neutralises(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann@example.com", first_name="=cmd|' /C calc'!A0")
        ContactFactory(email="gone@example.com", status="unsubscribed")

    response = owner_client.get(
        _url("admin:contacts_contact_export_csv"), {"status__exact": "subscribed"}
    )

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("Email,First name,Last name")
    assert len(lines) == 2
    assert "ann@example.com,'=cmd|' /C calc'!A0" in lines[1]
    assert "gone@example.com" not in body


def test_xlsx_export_opens_in_excel_format(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann@example.com", first_name="+Ann")

    response = owner_client.get(_url("admin:contacts_contact_export_xlsx"))

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "Email"
    assert rows[1][:2] == ("ann@example.com", "'+Ann")


def test_export_selected_action(owner_client, tenant):
    with schema_context(tenant.schema_name):
        chosen = ContactFactory(email="chosen@example.com")
        ContactFactory(email="other@example.com")

    response = owner_client.post(
        _url("admin:contacts_contact_changelist"),
        {"action": "export_selected_csv", "_selected_action": [chosen.pk]},
    )

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "chosen@example.com" in body
    assert "other@example.com" not in body


def test_export_requires_a_login(tenant):
    from django_tenants.test.client import TenantClient

    response = TenantClient(tenant).get(_url("admin:contacts_contact_export_csv"))

    assert response.status_code == 302
