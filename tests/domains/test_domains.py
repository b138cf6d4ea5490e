import dns.exception
import dns.resolver
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.domains.models import SendingDomain
from engagex.domains.services import ANY_SENDGRID, domain_create, domain_verify
from engagex.domains.tasks import domains_recheck
from engagex.notifications.models import Notification
from tests.factories.domains import SendingDomainFactory


class _Txt:
    def __init__(self, value):
        self.strings = [value.encode()]


class _Cname:
    def __init__(self, target):
        self.target = target + "."


class FakeResolver:
    """Answers from a dict {(name, type): [values] or an exception class}."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def resolve(self, name, rdtype):
        self.asked.append((name, rdtype))
        answer = self.answers.get((name, rdtype), dns.resolver.NXDOMAIN)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer()
        return [_Txt(v) if rdtype == "TXT" else _Cname(v) for v in answer]


def good_dns(domain):
    return {
        (domain, "TXT"): ["google-site-verification=x", "v=spf1 include:sendgrid.net ~all"],
        (f"s1._domainkey.{domain}", "CNAME"): ["s1.domainkey.u1.wl1.sendgrid.net"],
        (f"s2._domainkey.{domain}", "CNAME"): ["s2.domainkey.u1.wl1.sendgrid.net"],
        (f"em.{domain}", "CNAME"): ["u1.wl1.sendgrid.net"],
        (f"_dmarc.{domain}", "TXT"): ["v=DMARC1; p=none"],
    }


def statuses(sending_domain):
    return {r["kind"]: r["status"] for r in sending_domain.records}


def test_new_domain_lists_spf_dkim_return_path_and_dmarc(in_tenant):
    created = domain_create(domain=" News.Example.COM. ")

    assert created.domain == "news.example.com"
    assert [(r["kind"], r["type"], r["host"]) for r in created.records] == [
        ("spf", "TXT", "news.example.com"),
        ("dkim1", "CNAME", "s1._domainkey.news.example.com"),
        ("dkim2", "CNAME", "s2._domainkey.news.example.com"),
        ("mail_cname", "CNAME", "em.news.example.com"),
        ("dmarc", "TXT", "_dmarc.news.example.com"),
    ]
    assert created.records[1]["value"] == ANY_SENDGRID
    assert created.status == SendingDomain.Status.PENDING


def test_with_an_api_key_sendgrid_creates_the_dkim_records(in_tenant, fake_sendgrid):
    created = domain_create(domain="mail.example.org")

    assert created.sendgrid_id == "4242"
    request = fake_sendgrid.requests[-1]
    assert request["json"] == {
        "domain": "mail.example.org",
        "automatic_security": True,
        "default": False,
    }
    dkim1 = next(r for r in created.records if r["kind"] == "dkim1")
    assert dkim1["value"] == "s1.domainkey.u42.wl4242.sendgrid.net"


@pytest.mark.parametrize(
    "bad", ["", "localhost", "no spaces.com", "-bad.example.com", "x" * 250 + ".com"]
)
def test_invalid_domains_are_refused(in_tenant, bad):
    with pytest.raises(ValidationError) as error:
        domain_create(domain=bad)

    assert "is not a domain name" in error.value.message_dict["domain"][0]
    assert SendingDomain.objects.count() == 0


def test_a_domain_is_added_once_per_workspace(in_tenant):
    domain_create(domain="news.example.com")

    with pytest.raises(ValidationError, match="already one of this workspace"):
        domain_create(domain="NEWS.example.com")


def test_verify_passes_when_every_required_record_is_right(in_tenant):
    created = domain_create(domain="news.example.com")

    domain_verify(sending_domain=created, resolver=FakeResolver(good_dns("news.example.com")))

    assert created.status == SendingDomain.Status.VERIFIED
    assert set(statuses(created).values()) == {"pass"}
    spf = created.records[0]
    assert spf["found"] == ["google-site-verification=x", "v=spf1 include:sendgrid.net ~all"]


def test_verify_reports_missing_wrong_nxdomain_and_timeout_per_record(in_tenant):
    created = domain_create(domain="news.example.com")
    answers = good_dns("news.example.com")
    answers[("news.example.com", "TXT")] = ["v=spf1 include:mailgun.org ~all"]  # wrong
    answers[("s1._domainkey.news.example.com", "CNAME")] = dns.resolver.NoAnswer  # missing
    del answers[("s2._domainkey.news.example.com", "CNAME")]  # NXDOMAIN
    answers[("em.news.example.com", "CNAME")] = dns.exception.Timeout

    domain_verify(sending_domain=created, resolver=FakeResolver(answers))

    assert created.status == SendingDomain.Status.PENDING
    assert statuses(created) == {
        "spf": "fail", "dkim1": "missing", "dkim2": "missing", "mail_cname": "timeout",
        "dmarc": "pass",
    }  # fmt: skip
    # `found` holds only what DNS returned; the status says why nothing was.
    assert [r["found"] for r in created.records[1:4]] == [[], [], []]


def test_a_failed_lookup_shows_no_exception_text(in_tenant):
    created = domain_create(domain="news.example.com")
    answers = good_dns("news.example.com")
    answers[("s1._domainkey.news.example.com", "CNAME")] = dns.resolver.NoNameservers

    domain_verify(sending_domain=created, resolver=FakeResolver(answers))

    dkim1 = created.records[1]
    assert (dkim1["status"], dkim1["found"]) == ("error", [])


def test_dmarc_is_recommended_not_required(in_tenant):
    created = domain_create(domain="news.example.com")
    answers = good_dns("news.example.com")
    del answers[("_dmarc.news.example.com", "TXT")]

    domain_verify(sending_domain=created, resolver=FakeResolver(answers))

    assert created.status == SendingDomain.Status.VERIFIED


def test_a_domain_that_stops_verifying_fails_and_notifies_admins(in_tenant, owner):
    created = domain_create(domain="news.example.com")
    domain_verify(sending_domain=created, resolver=FakeResolver(good_dns("news.example.com")))

    domain_verify(sending_domain=created, resolver=FakeResolver({}))

    assert created.status == SendingDomain.Status.FAILED
    note = Notification.objects.get(recipient=owner, title__contains="stopped verifying")
    assert "TXT news.example.com" in note.body


def test_recheck_schedule_only_checks_due_domains(in_tenant, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    checked = []
    monkeypatch.setattr(
        "engagex.domains.tasks.domain_verify",
        lambda sending_domain: checked.append(sending_domain.domain),
    )
    now = timezone.now()
    SendingDomain.objects.create(domain="new.example.com", records=[])
    SendingDomain.objects.create(
        domain="pending-old.example.com", last_checked_at=now - timedelta(hours=2)
    )
    SendingDomain.objects.create(
        domain="pending-fresh.example.com", last_checked_at=now - timedelta(minutes=5)
    )
    SendingDomain.objects.create(
        domain="verified-fresh.example.com",
        status="verified",
        last_checked_at=now - timedelta(hours=5),
    )
    SendingDomain.objects.create(
        domain="verified-old.example.com",
        status="verified",
        last_checked_at=now - timedelta(days=2),
    )

    domains_recheck()

    assert sorted(d for d in checked if d.endswith("example.com")) == [
        "new.example.com", "pending-old.example.com", "verified-old.example.com",
    ]  # fmt: skip


def test_admin_adds_a_domain_and_shows_the_records(owner_client, tenant):
    url = reverse("admin:domains_sendingdomain_add", urlconf="config.urls_tenants")

    response = owner_client.post(url, {"domain": "news.example.com"}, follow=True)
    bad = owner_client.post(url, {"domain": "not a domain"})

    body = response.content.decode()
    assert "s1._domainkey.news.example.com" in body
    assert "v=spf1 include:sendgrid.net ~all" in body
    assert "Verify now" in body
    assert "is not a domain name" in bad.content.decode()


def test_marketer_cannot_add_a_domain(tenant, make_member):
    from engagex.accounts import roles
    from tests.fixtures.tenants import logged_in_client

    client = logged_in_client(tenant, make_member(roles.MARKETER))
    url = reverse("admin:domains_sendingdomain_add", urlconf="config.urls_tenants")

    assert client.post(url, {"domain": "news.example.com"}).status_code == 403
    with schema_context(tenant.schema_name):
        assert SendingDomain.objects.count() == 0


def test_exempt_domains_are_not_rechecked(in_tenant, monkeypatch):
    checked = []
    monkeypatch.setattr(
        "engagex.domains.tasks.domain_verify",
        lambda sending_domain: checked.append(sending_domain.domain),
    )
    SendingDomain.objects.create(
        domain="demo.example.com", status="verified", dns_check_exempt=True
    )

    domains_recheck()

    assert "demo.example.com" not in checked


def test_verify_asks_before_looking_up(owner_client, tenant):
    with schema_context(tenant.schema_name):
        created = domain_create(domain="news.example.com")
    url = reverse(
        "admin:domains_sendingdomain_verify_detail",
        args=[created.pk],
        urlconf="config.urls_tenants",
    )

    page = owner_client.get(url)

    assert page.status_code == 200
    assert "Look every record up in DNS now" in page.content.decode()
    with schema_context(tenant.schema_name):
        created.refresh_from_db()
        assert created.last_checked_at is None


def _add_url():
    return reverse("admin:domains_sendingdomain_add", urlconf="config.urls_tenants")


def test_domain_page_without_sendgrids_values_names_no_setting(owner_client, tenant, settings):
    settings.SENDGRID_API_KEY = ""
    owner_client.post(_add_url(), {"domain": "news.example.com"})
    with schema_context(tenant.schema_name):
        created = SendingDomain.objects.get()
        domain_verify(sending_domain=created, resolver=FakeResolver({}))
    url = reverse(
        "admin:domains_sendingdomain_change", args=[created.pk], urlconf="config.urls_tenants"
    )

    page = owner_client.get(url).content.decode()

    assert "SENDGRID" not in page
    assert page.count("<em>not known yet: ask your EngageX administrator</em>") == 3  # DKIM, path
    assert "✗ not found" in page


def test_adding_a_domain_past_the_plans_limit_explains_it_on_the_form(owner_client, tenant):
    with schema_context(tenant.schema_name):
        SendingDomainFactory(domain="first.example.com")  # the Free Trial allows one

    response = owner_client.post(_add_url(), {"domain": "news.example.com"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["domain"] == [
        "Your Free Trial plan allows 1 sender domains and this workspace uses 1, so 1 more "
        "cannot be added. An Owner can upgrade on the Billing page."
    ]
    with schema_context(tenant.schema_name):
        assert list(SendingDomain.objects.values_list("domain", flat=True)) == ["first.example.com"]


def test_sendgrid_not_answering_while_adding_a_domain_is_explained(
    owner_client, tenant, fake_sendgrid, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_API_URL": "http://127.0.0.1:9/v3/"}

    response = owner_client.post(_add_url(), {"domain": "news.example.com"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["domain"] == [
        "“news.example.com” could not be set up just now: the sending service did not answer. "
        "Nothing was added; try again in a few minutes."
    ]
    page = response.content.decode()
    assert "HTTPConnection" not in page
    assert "Errno" not in page
    with schema_context(tenant.schema_name):
        assert SendingDomain.objects.count() == 0
