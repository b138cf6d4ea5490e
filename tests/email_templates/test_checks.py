"""Pre-send checks: the checklist on the test-send page, and links checked by the cluster."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.email_templates.checks import template_checklist
from engagex.email_templates.models import LinkCheck
from engagex.email_templates.services.links import link_checks_request
from engagex.email_templates.tasks import template_links_check
from tests.factories.email_templates import EmailTemplateFactory


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self):
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok")
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
        elif self.path == "/get-only" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/get-only":
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer


@pytest.fixture(scope="module")
def loopback():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _checks(**overrides):
    values = {
        "subject": "Spring news",
        "preheader": "Everything that happened in the garden this month",
        "html_source": '<p>Hi</p><img src="a.png" alt="A"><a href="{{ unsubscribe_url }}">U</a>',
        "rendered_html": '<p>Hi</p><img src="a.png" alt="A"><a href="https://x/u">U</a>',
        "merge_warnings": {},
        "link_checks": [],
    }
    values.update(overrides)
    return {check.key: check for check in template_checklist(**values)}


def test_a_clean_email_passes_every_check():
    assert {key: check.status for key, check in _checks().items()} == {
        "subject": "ok",
        "preheader": "ok",
        "alt": "ok",
        "unsubscribe": "ok",
        "size": "ok",
        "merge": "ok",
        "links": "ok",
    }


@pytest.mark.parametrize(
    ("overrides", "key", "detail"),
    [
        ({"subject": "x" * 61}, "subject", "61 characters: phones show about 60"),
        ({"preheader": ""}, "preheader", "No preheader"),
        ({"preheader": "y" * 120}, "preheader", "120 characters"),
        ({"rendered_html": '<img src="b.png"><img src="c.png" alt="">'}, "alt", "2 images"),
        ({"html_source": "<p>No link</p>"}, "unsubscribe", "No {{ unsubscribe_url }} link"),
        ({"rendered_html": "<p>" + "z" * 110_000 + "</p>"}, "size", "107 KB of HTML"),
        (
            {"merge_warnings": {"subject": ["Line 1: contact.frist_name is not a field."]}},
            "merge",
            "no contact has",
        ),
    ],
)
def test_each_problem_is_a_warning_that_says_what(overrides, key, detail):
    check = _checks(**overrides)[key]

    assert check.status == "warning"
    assert detail in str(check.detail)


def test_links_are_checked_by_the_task_with_a_timeout(in_tenant, loopback, settings):
    settings.LINK_CHECK_ALLOW_PRIVATE = True
    settings.LINK_CHECK_TIMEOUT_SECONDS = 0.5
    links = ["/ok", "/moved", "/missing", "/slow", "/get-only"]
    template = EmailTemplateFactory(
        html_body="".join(f'<a href="{loopback}{path}">{path}</a>' for path in links)
        + '<a href="{{ unsubscribe_url }}">Unsubscribe</a><a href="mailto:a@b.c">Mail</a>'
    )

    urls = link_checks_request(template=template, html=template.html_body)
    pending = set(LinkCheck.objects.values_list("status", flat=True))
    template_links_check(in_tenant.schema_name, template.pk)

    assert urls == [loopback + path for path in links]
    assert pending == {"pending"}
    found = {
        check.url.removeprefix(loopback): (check.status, check.detail)
        for check in LinkCheck.objects.all()
    }
    assert found == {
        "/ok": ("ok", "HTTP 200"),
        "/moved": ("ok", "HTTP 200"),
        "/missing": ("failing", "HTTP 404"),
        "/slow": ("failing", "no answer within 0.5 s"),
        "/get-only": ("ok", "HTTP 200"),
    }


def test_a_link_to_a_private_address_is_not_fetched(in_tenant, loopback, settings):
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    template = EmailTemplateFactory(html_body=f'<a href="{loopback}/ok">internal</a>')

    link_checks_request(template=template, html=template.html_body)
    template_links_check(in_tenant.schema_name, template.pk)

    assert list(LinkCheck.objects.values_list("status", "detail")) == [
        ("failing", "not a public address")
    ]


def test_the_test_send_page_shows_the_checklist_and_queues_link_checks(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(
            subject="A" * 70,
            html_body='<p>Hi</p><img src="x.png"><a href="https://example.com/a">a</a>',
        )
    url = reverse(
        "admin:email_templates_emailtemplate_preview",
        args=[template.pk],
        urlconf="config.urls_tenants",
    )

    with django_capture_on_commit_callbacks() as queued:
        page = owner_client.get(url).content.decode()

    assert 'id="pre-send-checks"' in page
    assert 'data-check="subject" data-status="warning"' in page
    assert 'data-check="alt" data-status="warning"' in page
    assert 'data-check="unsubscribe" data-status="warning"' in page
    assert 'data-check="links" data-status="pending"' in page
    assert len(queued) == 1  # the link check task, after the commit
    with schema_context(tenant.schema_name):
        assert list(LinkCheck.objects.values_list("url", "status")) == [
            ("https://example.com/a", "pending")
        ]
    status = owner_client.get(
        reverse(
            "admin:email_templates_emailtemplate_link_checks",
            args=[template.pk],
            urlconf="config.urls_tenants",
        )
    ).json()
    assert status["status"] == "pending"
    assert [link["url"] for link in status["links"]] == ["https://example.com/a"]


def test_merge_tag_mail_and_overlong_links_are_not_checked():
    from engagex.email_templates.checks import html_links

    html = (
        '<a href="https://example.com/a">a</a><a href="https://example.com/a">again</a>'
        '<a href="{{ view_in_browser_url }}">v</a><a href="mailto:x@y.z">m</a>'
        f'<a href="https://example.com/{"x" * 2100}">long</a>'
    )

    assert html_links(html) == ["https://example.com/a"]


def test_lengths_are_of_the_subject_and_preheader_as_rendered(owner_client, tenant):
    subject = "{{ contact.first_name|default:'there' }}, " + "x" * 20  # 63 as written
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(subject=subject, preheader="{{ workspace.name }}")
    url = reverse(
        "admin:email_templates_emailtemplate_preview",
        args=[template.pk],
        urlconf="config.urls_tenants",
    )

    page = owner_client.get(url).content.decode()

    assert 'data-check="subject" data-status="ok"' in page
    assert "26 characters." in page  # "Alex, " + 20 for the sample contact
    assert 'data-check="preheader" data-status="warning"' in page  # "Alpha Corp": short
