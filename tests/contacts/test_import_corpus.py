"""Real-world exports (tests/contacts/corpus/), each imported end to end through the console:
upload → the mapping the page proposes, accepted as it is → dry run → import.

The files are written from each tool's documented column set, with the rows real exports
have: an empty email, accents, phone numbers, people who unsubscribed or bounced there.
"""

import datetime
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ImportJob
from tests.factories.contacts import ContactFactory

CORPUS = Path(__file__).parent / "corpus"
UTC = datetime.UTC


def console_import(client, tenant, relative: str):
    """Upload `relative`, accept the proposed mapping, check, import; return (job, dry run)."""
    path = CORPUS / relative
    with schema_context(tenant.schema_name):
        before = Contact.objects.count()
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    response = client.post(
        add, {"file": SimpleUploadedFile(path.name, path.read_bytes()), "encoding": "auto"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job_url = response["Location"]
    job_id = int(re.search(r"/(\d+)/", job_url).group(1))
    assert client.get(job_url).status_code == 200  # the mapping page
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
    proposed = {f"column_{i}": field for i, field in job.mapping.items()}
    dry_run = client.post(
        job_url,
        {
            "step": "configure",
            "unknown_columns": "attributes",
            "update_existing": "on",
            "file_status": job.file_status,
            **proposed,
        },
        follow=True,
    )
    assert dry_run.status_code == 200
    with schema_context(tenant.schema_name):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.VALIDATED, job.error_message
        assert Contact.objects.count() == before  # the dry run changed nothing
    done = client.post(job_url, {"step": "confirm"}, follow=True)
    assert "Import finished" in done.content.decode()
    with schema_context(tenant.schema_name):
        job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    return job, dry_run.content.decode()


def contacts(tenant):
    with schema_context(tenant.schema_name):
        return {
            c.email: (c.first_name, c.last_name, c.phone, c.timezone, c.status, c.status_source,
                      c.attributes)
            for c in Contact.objects.all()
        }  # fmt: skip


def nonzero(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if v and k not in ("notices", "opted_out")}


def opted_out(counts: dict) -> dict:
    return {k: v for k, v in counts["opted_out"].items() if v}


MAILCHIMP = "mailchimp/subscribed_members_export_4f2a1c9e.csv"
MAILCHIMP_UNSUBSCRIBED = "mailchimp/unsubscribed_members_export_4f2a1c9e.csv"
MAILCHIMP_CLEANED = "mailchimp/cleaned_members_export_4f2a1c9e.csv"


def test_mailchimp_audience_export_with_an_empty_email_imports_and_reports_the_row(
    tenant, owner_client
):
    job, dry_run = console_import(owner_client, tenant, MAILCHIMP)

    assert len(job.headers) == 23
    assert job.encoding == "utf-8-sig"
    assert nonzero(job.counts) == {"new": 3, "invalid": 1}
    assert opted_out(job.counts) == {}
    assert "Email is missing." in dry_run
    source = "import: subscribed_members_export_4f2a1c9e.csv"
    assert contacts(tenant) == {
        "ana.garcia@example.es": ("Ana", "García", "+34 600 000 001", "Europe/Madrid",
            "subscribed", source, {
                "Address": "Calle Mayor 1  Madrid  28013 ES", "Birthday": "03/15",
                "MEMBER_RATING": "4", "CC": "ES", "REGION": "MD",
                "TAGS": '"VIP","Newsletter"',
            }),
        "jurgen.mueller@example.de": ("Jürgen", "Müller", "+49 151 2345678", "Europe/Berlin",
            "subscribed", source, {
                "MEMBER_RATING": "3", "CC": "DE", "REGION": "BE",
                "NOTES": "Met at the Berlin fair",
            }),
        "chloe.dubois@example.fr": ("Chloé", "Dubois", "", "", "subscribed", source, {
                "Birthday": "12/01", "MEMBER_RATING": "5", "CC": "FR", "REGION": "IDF",
            }),
    }  # fmt: skip
    with schema_context(tenant.schema_name):
        ana = Contact.objects.get(email="ana.garcia@example.es")
    # OPTIN_TIME (UTC) is when they consented, not the day of the import.
    assert ana.consent_at == datetime.datetime(2023, 1, 10, 9, 15, 2, tzinfo=UTC)


def test_mailchimp_unsubscribed_export_unsubscribes_with_the_time_and_column(tenant, owner_client):
    with schema_context(tenant.schema_name):
        ContactFactory(email="lena.schmidt@example.de", first_name="Lena", last_name="Schmidt")

    job, dry_run = console_import(owner_client, tenant, MAILCHIMP_UNSUBSCRIBED)

    assert job.file_status == "unsubscribed"  # recognised by its name
    assert nonzero(job.counts) == {"new": 1, "update": 1}
    assert opted_out(job.counts) == {"unsubscribed": 2}
    assert "2 contacts in this file unsubscribed, bounced or complained" in dry_run
    source = "import: unsubscribed_members_export_4f2a1c9e.csv (UNSUB_TIME)"
    assert contacts(tenant) == {
        "paul.martin@example.com": ("Paul", "Martin", "", "", "unsubscribed", source, {
            "MEMBER_RATING": "2", "CC": "US",
            "UNSUB_CAMPAIGN_TITLE": "February newsletter", "UNSUB_CAMPAIGN_ID": "9f8e7d6c5b",
            "UNSUB_REASON": "I no longer want to receive these emails",
        }),
        "lena.schmidt@example.de": ("Lena", "Schmidt", "", "Europe/Berlin", "unsubscribed",
            source, {
                "MEMBER_RATING": "1", "CC": "DE",
                "UNSUB_CAMPAIGN_TITLE": "Christmas offers", "UNSUB_CAMPAIGN_ID": "8e7d6c5b4a",
                "UNSUB_REASON": "Other", "UNSUB_REASON_OTHER": "Too many emails",
            }),
    }  # fmt: skip
    with schema_context(tenant.schema_name):
        paul = Contact.objects.get(email="paul.martin@example.com")
        lena = Contact.objects.get(email="lena.schmidt@example.de")
    assert paul.status_changed_at == datetime.datetime(2024, 2, 11, 8, 59, 58, tzinfo=UTC)
    assert lena.status_changed_at == datetime.datetime(2023, 12, 24, 17, 59, 30, tzinfo=UTC)
    assert paul.consent_at is None
    assert paul.consent_source == ""


def test_mailchimp_cleaned_export_imports_bounced(tenant, owner_client):
    job, _ = console_import(owner_client, tenant, MAILCHIMP_CLEANED)

    assert job.file_status == "bounced"
    assert nonzero(job.counts) == {"new": 1}
    assert opted_out(job.counts) == {"bounced": 1}
    assert contacts(tenant) == {
        "old.address@example.org": ("Olga", "Petrova", "", "", "bounced",
            "import: cleaned_members_export_4f2a1c9e.csv (CLEAN_TIME)", {
                "MEMBER_RATING": "1", "CLEAN_CAMPAIGN_TITLE": "Spring sale",
                "CLEAN_CAMPAIGN_ID": "7d6c5b4a39",
            }),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("relative", "encoding", "counts", "out", "expected"),
    [
        pytest.param(
            "brevo/contacts_export_2024-03-18.csv", "utf-8", {"new": 3, "invalid": 1},
            {"unsubscribed": 1},
            {
                "marie.lefevre@example.fr": ("Marie", "Lefèvre", "+33612345678", "",
                    "subscribed", "import: contacts_export_2024-03-18.csv",
                    {"SMS_BLACKLISTED": "No", "OPT_IN": "Yes", "DOUBLE_OPT-IN": "Yes"}),
                "thomas.bernard@example.fr": ("Thomas", "Bernard", "+33698765432", "",
                    "unsubscribed", "import: contacts_export_2024-03-18.csv (EMAIL_BLACKLISTED)",
                    {"SMS_BLACKLISTED": "No", "OPT_IN": "Yes", "DOUBLE_OPT-IN": "Yes"}),
                "sofia.rossi@example.it": ("Sofia", "Rossi", "", "", "subscribed",
                    "import: contacts_export_2024-03-18.csv",
                    {"SMS_BLACKLISTED": "Yes", "OPT_IN": "No", "DOUBLE_OPT-IN": "No"}),
            },
            id="brevo",
        ),
        pytest.param(
            "hubspot/hubspot-crm-exports-all-contacts-2024-03-18.csv", "utf-8", {"new": 3},
            {"unsubscribed": 1},
            {
                "emma.wilson@example.com": ("Emma", "Wilson", "+1 415 555 0101", "",
                    "subscribed", "import: hubspot-crm-exports-all-contacts-2024-03-18.csv", {
                        "Company Name": "Acme Inc.", "Lifecycle Stage": "Customer",
                        "Marketing contact status": "Marketing contact",
                        "Last Activity Date": "2024-03-10 14:22",
                    }),
                "liam.obrien@example.ie": ("Liam", "O'Brien", "+353 87 123 4567", "",
                    "unsubscribed", "import: hubspot-crm-exports-all-contacts-2024-03-18.csv "
                    "(Unsubscribed from all email)", {
                        "Lifecycle Stage": "Lead",
                        "Marketing contact status": "Marketing contact",
                    }),
                "noah.schulz@example.de": ("Noah", "Schulz", "", "", "subscribed",
                    "import: hubspot-crm-exports-all-contacts-2024-03-18.csv", {
                        "Company Name": "Beispiel GmbH", "Lifecycle Stage": "Subscriber",
                        "Marketing contact status": "Non-marketing contact",
                        "Last Activity Date": "2023-09-01 08:00",
                    }),
            },
            id="hubspot-contacts",
        ),
        pytest.param(
            "hubspot/hubspot-unsubscribes-and-bounces.csv", "utf-8", {"new": 4},
            {"unsubscribed": 2, "bounced": 1, "complained": 1},
            {
                "gone@example.com": ("", "", "", "", "bounced",
                    "import: hubspot-unsubscribes-and-bounces.csv (Portal Bounce)", {}),
                "optout@example.com": ("", "", "", "", "unsubscribed",
                    "import: hubspot-unsubscribes-and-bounces.csv (Portal Unsubscribe)", {}),
                "angry@example.com": ("", "", "", "", "complained",
                    "import: hubspot-unsubscribes-and-bounces.csv (Portal Spam Report)", {}),
                "typeonly@example.com": ("", "", "", "", "unsubscribed",
                    "import: hubspot-unsubscribes-and-bounces.csv (Marketing Information)", {}),
            },
            id="hubspot-unsubscribes-and-bounces",
        ),
        pytest.param(
            "listmonk/subscribers.csv", "utf-8", {"new": 3}, {"unsubscribed": 1},
            {
                "priya.sharma@example.in": ("Priya", "Sharma", "", "", "subscribed",
                    "import: subscribers.csv", {"city": "Bengaluru", "plan": "pro", "score": 7}),
                "spam.trap@example.net": ("Spam", "Trap", "", "", "unsubscribed",
                    "import: subscribers.csv", {}),
                "madonna@example.com": ("Madonna", "", "", "", "subscribed",
                    "import: subscribers.csv", {"tier": 2, "vip": True}),
            },
            id="listmonk",
        ),
        pytest.param(
            "sendy/newsletter-unsubscribed.csv", "utf-8", {"new": 3}, {"unsubscribed": 3},
            {
                "jane.doe@example.com": ("Jane", "Doe", "", "", "unsubscribed",
                    "import: newsletter-unsubscribed.csv",
                    {"Column 3": "Berlin", "Column 4": "Mar 15 1985"}),
                "bjorn@example.se": ("Björn", "Borg", "", "", "unsubscribed",
                    "import: newsletter-unsubscribed.csv", {"Column 3": "Stockholm"}),
                "ana.armas@example.cu": ("Ana", "de Armas", "", "", "unsubscribed",
                    "import: newsletter-unsubscribed.csv", {}),
            },
            id="sendy-headerless",
        ),
        pytest.param(
            "google-contacts/contacts.csv", "utf-8", {"new": 2, "invalid": 1}, {},
            {
                "ingrid@example.se": ("Ingrid", "Bergström", "+46 70 123 45 67", "",
                    "subscribed", "import: contacts.csv", {
                        "Nickname": "Ingi", "Organization Name": "Nordic AB",
                        "Organization Title": "Buyer", "Birthday": "1990-07-21",
                        "Labels": "* myContacts ::: Friends",
                        "Address 1 - Formatted": "Storgatan 1\n111 22 Stockholm\nSweden",
                        "Address 1 - Street": "Storgatan 1", "Address 1 - City": "Stockholm",
                        "Address 1 - Postal Code": "111 22", "Address 1 - Country": "Sweden",
                    }),
                "carlos.nunez@example.mx": ("Carlos", "Núñez", "+52 55 1234 5678", "",
                    "subscribed", "import: contacts.csv", {
                        "Name Prefix": "Dr.", "Notes": "Prefers Spanish", "Labels": "* myContacts",
                        "E-mail 2 - Value": "carlos@home.example.mx",
                    }),
            },
            id="google-contacts",
        ),
        pytest.param(
            "outlook/contacts.CSV", "cp1252", {"new": 2}, {},
            {
                "kai.mueller@example.de": ("Kai", "Müller", "+49 170 7654321", "", "subscribed",
                    "import: contacts.CSV", {
                        "Home Phone": "+49 30 1234567", "Job Title": "Geschäftsführer",
                        "Company": "Café Kranzler", "Notes": "Kunde seit 2019 – bevorzugt Telefon",
                    }),
                "sarah.oneill@example.co.uk": ("Sarah", "O’Neill", "", "", "subscribed",
                    "import: contacts.CSV", {
                        "Business Phone": "+44 20 7946 0958", "Company": "Example Ltd",
                        "Business City": "London",
                    }),
            },
            id="outlook-windows-1252",
        ),
        pytest.param(
            "excel/kunden_de.csv", "cp1252", {"new": 2}, {},
            {
                "juergen.weiss@example.de": ("Jürgen", "Weiß", "+49 89 1234567", "",
                    "subscribed", "import: kunden_de.csv", {
                        "Anrede": "Herr", "Geburtsdatum": "15.03.1985", "Firma": "Bäckerei Weiß",
                        "Straße": "Hauptstraße 5", "PLZ": "80331", "Ort": "München",
                        "Umsatz": "1.234,50 €",
                    }),
                "renee.gross@example.de": ("Renée", "Groß", "", "", "subscribed",
                    "import: kunden_de.csv", {
                        "Anrede": "Frau", "Geburtsdatum": "01.12.1990", "Straße": "Königsallee 1",
                        "PLZ": "40212", "Ort": "Düsseldorf", "Umsatz": "„Stammkundin“",
                    }),
            },
            id="excel-german-windows-1252",
        ),
        pytest.param(
            "excel/contacts_fr.csv", "latin-1", {"new": 2}, {},
            {
                "francois.lefevre@example.fr": ("François", "Lefèvre", "+33 1 23 45 67 89", "",
                    "subscribed", "import: contacts_fr.csv", {
                        "Civilité": "M.", "Date de naissance": "02/04/1978",
                        "Société": "Crêperie du Château", "Ville": "Besançon",
                    }),
                "helene.garcon@example.fr": ("Hélène", "Garçon", "", "", "subscribed",
                    "import: contacts_fr.csv", {"Civilité": "Mme", "Ville": "Nîmes"}),
            },
            id="excel-french-latin-1",
        ),
        pytest.param(
            "excel/clientes_es.csv", "cp1252", {"new": 2}, {},
            {
                "jose.pena@example.es": ("José", "Peña Núñez", "+34 600 000 002", "",
                    "subscribed", "import: clientes_es.csv", {
                        "Empresa": "Pañuelos S.L.", "Ciudad": "A Coruña",
                        "Comentario": "¡Cliente desde 2015!",
                    }),
                "maria.ibanez@example.es": ("María", "Ibáñez", "", "", "subscribed",
                    "import: clientes_es.csv", {
                        "Ciudad": "Cádiz", "Comentario": "“Prefiere WhatsApp” – sin llamadas…",
                    }),
            },
            id="excel-spanish-windows-1252",
        ),
        pytest.param(
            "excel/members.xlsx", "", {"new": 2, "invalid": 1}, {},
            {
                "lucia@example.com": ("Lucía", "Fernández", "4915112345678", "", "subscribed",
                    "import: members.xlsx", {
                        "Joined": "2024-03-15", "Score": 42, "Balance": 12.5,
                        "Double score": 84, "VIP": True, "Last login": "2024-03-15T10:30:00",
                        "Note": "Lucía Fernández",
                    }),
                "tom@example.com": ("Tom", "Baker", "", "", "subscribed", "import: members.xlsx",
                    {"Joined": "2023-03-15", "Score": 7, "Balance": 0.25, "Double score": 14,
                     "VIP": False}),
            },
            id="xlsx-dates-numbers-formulas-empty-sheet",
        ),
        pytest.param(
            "google-sheets/Newsletter signups - Form responses 1.csv", "utf-8",
            {"new": 2, "duplicate": 1}, {},
            {
                "ana.lopez@example.com": ("Ana", "María López", "", "", "subscribed",
                    "import: Newsletter signups - Form responses 1.csv", {
                        "Timestamp": "3/15/2024 10:30:01", "Country": "Spain",
                        "How did you hear about us?":
                            'A friend, by "word of mouth"\nand on Mastodon',
                    }),
                "Ken.Tanaka@example.jp": ("Ken", "Tanaka", "", "", "subscribed",
                    "import: Newsletter signups - Form responses 1.csv", {
                        "Timestamp": "3/16/2024 9:05:44", "Country": "Japan",
                        "How did you hear about us?": "Search",
                    }),
            },
            id="google-sheets",
        ),
    ],
)  # fmt: skip
def test_real_world_exports_import_end_to_end(
    tenant, owner_client, relative, encoding, counts, out, expected
):
    job, _ = console_import(owner_client, tenant, relative)

    assert job.encoding == encoding
    assert nonzero(job.counts) == counts
    assert opted_out(job.counts) == out
    assert contacts(tenant) == expected


def test_rejected_rows_of_the_corpus_name_their_row_and_reason(tenant, owner_client):
    job, dry_run = console_import(
        owner_client, tenant, "google-sheets/Newsletter signups - Form responses 1.csv"
    )

    assert "Same email address as row 4" in dry_run  # Ana's answer spans lines 2 and 3
    assert job.counts["duplicate"] == 1
