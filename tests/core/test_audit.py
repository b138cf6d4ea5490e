from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact
from engagex.core.audit import AuditVerb, audit_parse, audit_record


def test_audit_record_shows_its_verb_and_detail_on_the_audit_page(tenant, owner, owner_client):
    # given
    with schema_context(tenant.schema_name):
        entry = audit_record(
            user=owner, verb=AuditVerb.EXPORTED, model=Contact, detail="40 contacts as CSV"
        )

    # when
    response = owner_client.get(reverse("admin:admin_logentry_changelist"))

    # then
    assert audit_parse(entry) == ("exported", "40 contacts as CSV")
    assert entry.object_repr == "contacts"
    body = response.content.decode()
    assert "Exported" in body
    assert "40 contacts as CSV" in body


def test_audit_record_without_a_person_keeps_nothing(tenant):
    with schema_context(tenant.schema_name):
        before = LogEntry.objects.count()

        assert audit_record(user=None, verb=AuditVerb.SENT, model=Contact) is None
        assert LogEntry.objects.count() == before


def test_audit_parse_ignores_djangos_own_messages(tenant, owner):
    with schema_context(tenant.schema_name):
        entry = LogEntry(
            user=owner, action_flag=2, change_message='[{"changed": {"fields": ["x"]}}]'
        )

        assert audit_parse(entry) is None


def test_the_audit_page_is_named_as_the_sidebar_names_it(owner_client):
    owner_client.cookies["django_language"] = "de"

    body = owner_client.get(reverse("admin:admin_logentry_changelist")).content.decode()

    title = body.split("<title>")[1].split("</title>")[0].strip()
    assert title.startswith("Änderungsprotokoll")  # the sidebar's "Audit log"
    assert "Logeinträge" not in title
