"""Issue 14, item 4: re-importing an EngageX export changes nothing (CSV and XLSX).

Contacts with everything a real list has (phones with `+`, text a spreadsheet would run,
accents, typed attributes, lists, suppressed statuses, groups with a `;` in their name) are
exported through the console's buttons, and the file is imported back through the console
with the mapping it proposes. The dry run finds every row unchanged, and after the import
every stored value (status times and sources included) is what it was.
"""

import re
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactStatus, ImportJob
from tests.factories.contacts import ContactFactory, ContactGroupFactory

EXPORTS = {
    "csv": ("admin:contacts_contact_export_csv", "contacts.csv"),
    "xlsx": ("admin:contacts_contact_export_xlsx", "contacts.xlsx"),
}


def _url(name: str) -> str:
    return reverse(name, urlconf="config.urls_tenants")


def _snapshot() -> list[dict]:
    rows = Contact.objects.order_by("pk").values()
    groups = {
        contact.pk: sorted(g.name for g in contact.groups.all())
        for contact in Contact.objects.prefetch_related("groups")
    }
    return [
        {**{k: v for k, v in row.items() if k != "updated_at"}, "groups": groups[row["id"]]}
        for row in rows
    ]


@pytest.fixture
def real_list(tenant):
    """Five contacts with the values that break round trips in other tools."""
    type(tenant).objects.filter(pk=tenant.pk).update(timezone="Europe/Berlin")
    with schema_context(tenant.schema_name):
        vip = ContactGroupFactory(name="VIP")
        odd = ContactGroupFactory(name="A; B \\ C")
        ann = ContactFactory(
            email="ann@example.com",
            first_name="Ann-Sophie",
            last_name="Müller",
            phone="+34 600 000 001",
            language="de",
            timezone="Europe/Berlin",
            attributes={
                "Score": 3,
                "Ratio": 0.5,
                "VIP": True,
                "Joined": "2024-03-15",
                "Tags": ["a", "b"],
                "Formula": '=HYPERLINK("http://evil")',
                "Note": "-5 apples",
                "City": "Köln",
            },
        )
        ann.groups.set([vip, odd])
        ContactFactory(
            email="Bob.Smith@Example.com",
            first_name="@bob",
            last_name="+O'Neil",
            phone="(030) 123-45.67",
            attributes={"Score": 10, "Empty": ""},
            status=ContactStatus.UNSUBSCRIBED,
            status_changed_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            status_source="mailchimp import",
        ).groups.set([vip])
        ContactFactory(email="cara@example.com", status=ContactStatus.BOUNCED)
        ContactFactory(email="dan@example.com", status=ContactStatus.COMPLAINED, attributes={})
        ContactFactory(email="eve@example.com", first_name="Ève", attributes={"Score": -1.25})
        return _snapshot()


def _console_reimport(client, name: str, data: bytes) -> ImportJob:
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    response = client.post(add, {"file": SimpleUploadedFile(name, data), "encoding": "auto"})
    assert response.status_code == 302, response.content.decode()[:2000]
    job_url = response["Location"]
    job_id = int(re.search(r"/(\d+)/", job_url).group(1))
    job = ImportJob.objects.get(pk=job_id)
    proposed = {f"column_{i}": field for i, field in job.mapping.items()}
    client.post(
        job_url,
        {
            "step": "configure",
            "unknown_columns": "attributes",
            "update_existing": "on",
            "file_status": job.file_status,
            **proposed,
        },
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED, job.error_message
    counts = {k: v for k, v in job.counts.items() if isinstance(v, int) and v}
    assert counts == {"unchanged": 5}, counts
    done = client.post(job_url, {"step": "confirm"}, follow=True)
    assert "Import finished" in done.content.decode()
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_reimporting_an_export_changes_nothing(owner_client, tenant, real_list, file_format):
    # given: the console's export of the list
    url, name = EXPORTS[file_format]
    response = owner_client.get(_url(url))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)

    # when: the file comes back through the console's import
    with schema_context(tenant.schema_name):
        job = _console_reimport(owner_client, name, data)

        # then: nothing changed
        assert job.status == ImportJob.Status.DONE
        assert _snapshot() == real_list
