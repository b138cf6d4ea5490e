import importlib
import io
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from engagex.accounts import roles
from engagex.accounts.services import roles_sync
from engagex.campaigns.models import CampaignRecipient
from engagex.contacts.models import Contact
from engagex.contacts.services.exporting import (
    cell_neutralise,
    export_csv_stream,
    export_headers,
    group_names_join,
)
from engagex.core.audit import audit_parse
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.fixtures.tenants import logged_in_client

CSV_URL = "admin:contacts_contact_export_csv"
XLSX_URL = "admin:contacts_contact_export_xlsx"
FIXED = (
    "Email,First name,Last name,Phone,Language,Time zone,Status,Status changed,"
    "Consent given,Consent source,Created,Groups"
)


def _url(name):
    return reverse(name, urlconf="config.urls_tenants")


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def _xlsx(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def _exports():
    return [
        (entry, audit_parse(entry))
        for entry in LogEntry.objects.order_by("pk")
        if (audit_parse(entry) or ("",))[0] == "exported"
    ]


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def madrid(tenant):
    """The workspace's time zone is Madrid (UTC+1 in winter, +2 in summer)."""
    type(tenant).objects.filter(pk=tenant.pk).update(timezone="Europe/Madrid")
    return tenant


@pytest.fixture
def two_contacts(madrid):
    """Ann (groups, typed attributes, a formula) and Bob (suppressed, hostile text)."""
    with schema_context(madrid.schema_name):
        vip = ContactGroupFactory(name="VIP")
        weekly = ContactGroupFactory(name="Newsletter; weekly")
        ann = ContactFactory(
            email="ann@example.com",
            first_name="Ann",
            last_name="Lee",
            phone="+34 600 000 001",
            language="es",
            timezone="Europe/Madrid",
            consent_source="signup form",
            attributes={
                "city": "Oslo",
                "score": 42,
                "vip": True,
                "ratio": 0.5,
                "note": '=HYPERLINK("http://x")',
                "tags": ["a", "b"],
                "Email": "second@example.com",
            },
        )
        ann.groups.set([vip, weekly])
        bob = ContactFactory(
            email="bob@example.com",
            first_name="-Bob",
            last_name="",
            status="unsubscribed",
            attributes={"City": "Bergen", "score": -7, "note": "@home", "tags": "#N/A"},
        )
        Contact.objects.filter(pk=ann.pk).update(
            status_changed_at=_utc(2024, 3, 15, 8, 5, 6, 789000),
            consent_at=_utc(2024, 7, 1, 10, 0),
            created_at=_utc(2024, 1, 2, 23, 30, 0, 500000),
        )
        Contact.objects.filter(pk=bob.pk).update(
            status_changed_at=_utc(2024, 10, 27, 1, 30),
            consent_at=None,
            consent_source="",
            created_at=_utc(2024, 2, 1),
        )
    return ann, bob


# --- what a cell becomes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-Ann", "'-Ann"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("+²", "'+²"),  # only ASCII digits are phone-like
        # Phone numbers and plain numbers are left alone: a round trip keeps them.
        ("+34 600 000 001", "+34 600 000 001"),
        ("+1 (555) 010-0100", "+1 (555) 010-0100"),
        ("-2.5", "-2.5"),
        ("-2+3", "-2+3"),
        ("plain", "plain"),
        ("'quoted", "'quoted"),
        (None, ""),
        (42, 42),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert cell_neutralise(value) == expected


def test_group_names_escape_the_separator():
    assert group_names_join(["A; B", "C\\D", "E"]) == "A\\; B; C\\\\D; E"


def test_attributes_named_like_a_fixed_column_get_a_suffix():
    headers = export_headers(["email", "Groups", "Groups (attribute)", "city", "City"])

    assert headers[12:] == [
        "email (attribute)",
        "Groups (attribute) (attribute)",
        "Groups (attribute)",
        "city",
        "City",
    ]


# --- exact files ------------------------------------------------------------------------------
def test_csv_export_has_one_column_per_attribute_local_times_and_keeps_phones(
    owner_client, two_contacts
):
    response = owner_client.get(_url(CSV_URL))

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert _csv(response) == (
        f"{FIXED},City,city,Email (attribute),note,ratio,score,tags,vip\r\n"
        "ann@example.com,Ann,Lee,+34 600 000 001,es,Europe/Madrid,subscribed,"
        "2024-03-15 09:05:06,2024-07-01 12:00:00,signup form,2024-01-03 00:30:00,"
        "Newsletter\\; weekly; VIP,,Oslo,second@example.com,"
        '"\'=HYPERLINK(""http://x"")",0.5,42,"[""a"",""b""]",true\r\n'
        "bob@example.com,'-Bob,,,,,unsubscribed,2024-10-27 02:30:00,,,2024-02-01 01:00:00,,"
        "Bergen,,,'@home,,-7,#N/A,\r\n"
    )


def test_xlsx_export_writes_text_as_text_and_numbers_booleans_times_natively(
    owner_client, two_contacts
):
    response = owner_client.get(_url(XLSX_URL))

    sheet = _xlsx(response)
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    ann = {name: cell for name, cell in zip(header, rows[1], strict=False)}
    bob = {name: cell for name, cell in zip(header, rows[2], strict=False)}
    assert header == [*FIXED.split(","), "City", "city", "Email (attribute)"] + [
        "note",
        "ratio",
        "score",
        "tags",
        "vip",
    ]
    assert len(rows) == 3
    assert (ann["Phone"].value, ann["Phone"].data_type) == ("+34 600 000 001", "s")
    assert (ann["note"].value, ann["note"].data_type) == ('=HYPERLINK("http://x")', "s")
    assert (bob["First name"].value, bob["First name"].data_type) == ("-Bob", "s")
    assert (bob["note"].value, bob["note"].data_type) == ("@home", "s")
    assert (bob["tags"].value, bob["tags"].data_type) == ("#N/A", "s")
    assert (ann["score"].value, ann["score"].data_type) == (42, "n")
    assert (bob["score"].value, ann["ratio"].value) == (-7, 0.5)
    assert (ann["vip"].value, ann["vip"].data_type) == (True, "b")
    assert ann["tags"].value == '["a","b"]'
    assert ann["Groups"].value == "Newsletter\\; weekly; VIP"
    assert ann["Status changed"].value == datetime(2024, 3, 15, 9, 5, 6)  # noqa: DTZ001
    assert ann["Status changed"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert ann["Created"].value == datetime(2024, 1, 3, 0, 30)  # noqa: DTZ001
    assert bob["Status changed"].value == datetime(2024, 10, 27, 2, 30)  # noqa: DTZ001
    assert bob["Consent given"].value is None
    assert bob["Last name"].value is None


def test_xlsx_export_drops_characters_xml_cannot_hold(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ctl@example.com", first_name="A\x01nn", attributes={"x": "b\x0bc"})

    response = owner_client.get(_url(XLSX_URL))

    rows = list(_xlsx(response).iter_rows(values_only=True))
    assert rows[1][1] == "Ann"
    assert rows[1][-1] == "bc"


def test_export_follows_the_changelist_filter_and_only_its_attributes(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann@example.com", attributes={"city": "Oslo"})
        ContactFactory(email="gone@example.com", status="unsubscribed", attributes={"old": 1})

    body = _csv(owner_client.get(_url(CSV_URL), {"status__exact": "subscribed"}))

    lines = body.splitlines()
    assert lines[0] == f"{FIXED},city"
    assert len(lines) == 2
    assert lines[1].startswith("ann@example.com,")
    assert "gone@example.com" not in body


def test_export_reads_contacts_and_groups_in_a_fixed_number_of_queries(in_tenant):
    groups = ContactGroupFactory.create_batch(2)

    def queries(contacts: int) -> int:
        for _ in range(contacts):
            ContactFactory(attributes={"a": 1}).groups.set(groups)
        with CaptureQueriesContext(connection) as captured:
            lines = list(export_csv_stream(Contact.objects.all()))
        assert len(lines) == Contact.objects.count() + 1
        return len(captured)

    assert queries(2) == queries(40)


def test_export_selected_action(owner_client, tenant):
    with schema_context(tenant.schema_name):
        chosen = ContactFactory(email="chosen@example.com")
        ContactFactory(email="other@example.com")

    response = owner_client.post(
        _url("admin:contacts_contact_changelist"),
        {"action": "export_selected_csv", "_selected_action": [chosen.pk]},
    )

    body = _csv(response)
    assert "chosen@example.com" in body
    assert "other@example.com" not in body


def test_export_requires_a_login(tenant):
    response = TenantClient(tenant).get(_url(CSV_URL))

    assert response.status_code == 302


def test_an_export_never_contains_another_workspaces_contacts(owner_client, tenant, other_tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="alpha@example.com")
    with schema_context(other_tenant.schema_name):
        ContactFactory(email="beta-only@example.com", attributes={"beta_secret": "x"})

    csv_body = _csv(owner_client.get(_url(CSV_URL)))
    xlsx_rows = list(_xlsx(owner_client.get(_url(XLSX_URL))).iter_rows(values_only=True))

    assert csv_body.splitlines() == [FIXED, csv_body.splitlines()[1]]
    assert csv_body.splitlines()[1].startswith("alpha@example.com,")
    assert [row[0] for row in xlsx_rows] == ["Email", "alpha@example.com"]
    assert "beta_secret" not in xlsx_rows[0]


# --- who may export ---------------------------------------------------------------------------
def _member_client(tenant, make_member, role):
    return logged_in_client(tenant, make_member(role, email=f"{role.lower()}-2@alpha.example"))


@pytest.mark.parametrize("role", [roles.OWNER, roles.ADMIN, roles.MARKETER])
def test_owners_admins_and_marketers_export_and_see_the_buttons(tenant, make_member, role):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="ann@example.com")
    client = _member_client(tenant, make_member, role)

    page = client.get(_url("admin:contacts_contact_changelist")).content.decode()
    csv_response = client.get(_url(CSV_URL))
    xlsx_response = client.get(_url(XLSX_URL))
    action = client.post(
        _url("admin:contacts_contact_changelist"),
        {"action": "export_selected_csv", "_selected_action": [contact.pk]},
    )

    assert _url(CSV_URL) in page
    assert _url(XLSX_URL) in page
    assert 'value="export_selected_csv"' in page
    assert "ann@example.com" in _csv(csv_response)
    assert _xlsx(xlsx_response)["A2"].value == "ann@example.com"
    assert "ann@example.com" in _csv(action)


def test_a_viewer_cannot_export_and_sees_no_export_button(tenant, make_member):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="ann@example.com")
    client = _member_client(tenant, make_member, roles.VIEWER)

    page = client.get(_url("admin:contacts_contact_changelist"))
    csv_response = client.get(_url(CSV_URL))
    xlsx_response = client.get(_url(XLSX_URL))
    action = client.post(
        _url("admin:contacts_contact_changelist"),
        {"action": "export_selected_csv", "_selected_action": [contact.pk]},
    )

    assert page.status_code == 200
    assert "ann@example.com" in page.content.decode()  # a Viewer still reads contacts
    assert _url(CSV_URL) not in page.content.decode()
    assert _url(XLSX_URL) not in page.content.decode()
    assert "export_selected_csv" not in page.content.decode()
    assert csv_response.status_code == 403
    assert xlsx_response.status_code == 403
    assert not action.has_header("Content-Disposition")
    assert not isinstance(action, StreamingHttpResponse)
    with schema_context(tenant.schema_name):
        assert _exports() == []


def test_recipient_outcomes_export_needs_the_export_permission(tenant, make_member):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(status="sent")
        CampaignRecipient.objects.create(campaign=campaign, email="r@example.com", status="sent")
    viewer = _member_client(tenant, make_member, roles.VIEWER)
    marketer = _member_client(tenant, make_member, roles.MARKETER)
    changelist = _url("admin:campaigns_campaignrecipient_changelist")
    export = _url("admin:campaigns_campaignrecipient_export")

    viewer_page = viewer.get(changelist).content.decode()
    viewer_export = viewer.get(export)
    marketer_page = marketer.get(changelist).content.decode()
    marketer_export = marketer.get(export)

    assert export not in viewer_page
    assert viewer_export.status_code == 403
    assert export in marketer_page
    assert "r@example.com" in _csv(marketer_export)
    with schema_context(tenant.schema_name):
        [(entry, recorded)] = _exports()
        assert entry.user.email == "marketer-2@alpha.example"
        assert recorded == ("exported", "1 recipient as CSV")


def test_roles_give_the_export_permission_to_owners_admins_and_marketers(in_tenant):
    roles_sync()

    holders = Group.objects.filter(permissions__codename="export_contact")
    assert sorted(holders.values_list("name", flat=True)) == ["Admin", "Marketer", "Owner"]


def test_existing_workspaces_get_the_export_permission_when_they_migrate(in_tenant):
    # given a workspace from before the permission existed
    Permission.objects.filter(codename="export_contact").delete()
    assert not Group.objects.filter(permissions__codename="export_contact").exists()
    migration = importlib.import_module(
        "engagex.contacts.migrations.0003_contact_export_permission"
    )

    # when its migration runs
    migration.grant_export_permission(apps, None)

    # then the three roles have it, Viewers do not
    holders = Group.objects.filter(permissions__codename="export_contact")
    assert sorted(holders.values_list("name", flat=True)) == ["Admin", "Marketer", "Owner"]
    assert Permission.objects.get(codename="export_contact").content_type.model == "contact"


# --- audit ------------------------------------------------------------------------------------
def test_every_export_is_in_the_audit_log(owner_client, owner, tenant):
    with schema_context(tenant.schema_name):
        chosen = ContactFactory(email="ann@example.com")
        ContactFactory(email="gone@example.com", status="unsubscribed")

    owner_client.get(_url(CSV_URL), {"status__exact": "subscribed"})
    owner_client.get(_url(XLSX_URL))
    owner_client.post(
        _url("admin:contacts_contact_changelist"),
        {"action": "export_selected_csv", "_selected_action": [chosen.pk]},
    )

    with schema_context(tenant.schema_name):
        exports = _exports()
        assert [recorded for _, recorded in exports] == [
            ("exported", "1 contact as CSV (status__exact=subscribed)"),
            ("exported", "2 contacts as XLSX"),
            ("exported", "1 contact as CSV (selected)"),
        ]
        assert {entry.user_id for entry, _ in exports} == {owner.pk}
        assert {entry.content_type.model for entry, _ in exports} == {"contact"}


def test_the_export_audit_entry_is_written_in_the_workspaces_language(owner_client, tenant):
    """Every Owner reads the same audit row: in the workspace's language (German), not the
    exporting member's (Spanish)."""
    type(tenant).objects.filter(pk=tenant.pk).update(default_language="de")
    owner_client.cookies["django_language"] = "es"
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(2)

    b"".join(owner_client.get(_url(CSV_URL)).streaming_content)

    with schema_context(tenant.schema_name):
        entry = LogEntry.objects.get()
    assert entry.object_repr == "Kontakte"
