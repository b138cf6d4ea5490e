import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.services import HTML_BODY_EMPTY, TEST_RECIPIENTS_TOO_MANY
from tests.factories.contacts import ContactFactory
from tests.factories.email_templates import EmailTemplateFactory
from tests.fixtures.tenants import SESSION_TENANTS, logged_in_client

FORM = {
    "name": "Spring sale",
    "description": "Seasonal",
    "subject": "Sale for {{ contact.first_name }}",
    "preheader": "Up to 30% off",
    "html_body": "<p>Hi {{ contact.first_name }}</p>",
    "text_body": "",
}
SCRIPT_HTML = '<p>Hello</p><script>parent.document.title = "pwned"</script>'


def _url(view, *args):
    return reverse(
        f"admin:email_templates_emailtemplate_{view}", args=args, urlconf="config.urls_tenants"
    )


def _template(tenant, **fields) -> EmailTemplate:
    with schema_context(tenant.schema_name):
        return EmailTemplateFactory(**fields)


def _rows(tenant):
    with schema_context(tenant.schema_name):
        return list(EmailTemplate.objects.order_by("pk").values())


@pytest.fixture
def viewer_client(tenant, make_member):
    return logged_in_client(tenant, make_member(roles.VIEWER))


@pytest.fixture
def marketer(make_member):
    return make_member(roles.MARKETER)


# --- list and edit --------------------------------------------------------------------------
def test_changelist_lists_and_searches_templates(owner_client, tenant, owner):
    _template(tenant, name="Welcome series", subject="Welcome!", updated_by=owner)
    _template(tenant, name="Invoice reminder", subject="Your invoice")

    page = owner_client.get(_url("changelist")).content.decode()
    found = owner_client.get(_url("changelist"), {"q": "welcome"}).content.decode()

    assert "Welcome series" in page
    assert "Invoice reminder" in page
    assert SESSION_TENANTS["alpha"][1] in page  # updated by
    assert "Welcome series" in found
    assert "Invoice reminder" not in found


def test_owner_creates_a_template_in_the_admin(owner_client, tenant, owner):
    response = owner_client.post(_url("add"), FORM)

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        template = EmailTemplate.objects.get()
        assert (template.name, template.subject) == ("Spring sale", FORM["subject"])
        assert (template.created_by, template.updated_by) == (owner, owner)
        assert template.text_body == ""


def test_editing_records_who_changed_the_template(tenant, owner, marketer):
    template = _template(tenant, name="Old", created_by=owner, updated_by=owner)
    client = logged_in_client(tenant, marketer)

    response = client.post(_url("change", template.pk), {**FORM, "name": "New"})

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        template.refresh_from_db()
        assert template.name == "New"
        assert (template.created_by, template.updated_by) == (owner, marketer)


@pytest.mark.parametrize(
    ("field", "source", "expected"),
    [
        ("html_body", "<p>Hi</p>\n\n{% if contact.first_name %}unclosed", "Line 3: Unclosed tag"),
        ("html_body", "<p>Hi</p>\n{% load static %}", "Line 2: the tag {% load %} is not allowed"),
        ("html_body", "<p>{% include '/etc/passwd' %}</p>", "Line 1: the tag {% include %} is"),
        ("subject", "Hi {{ contact.first_name|safe }}", "Line 1: the filter |safe is not"),
        ("text_body", "ok\n{{ 7|divisibleby:0 }}", "Line 2: this template cannot be rendered"),
        ("html_body", "", HTML_BODY_EMPTY),
        ("html_body", "<p>   </p>", HTML_BODY_EMPTY),
    ],
)
def test_bad_template_is_a_form_error_on_its_field_and_nothing_is_saved(
    owner_client, tenant, field, source, expected
):
    template = _template(tenant)
    before = _rows(tenant)

    added = owner_client.post(_url("add"), {**FORM, field: source})
    changed = owner_client.post(_url("change", template.pk), {**FORM, field: source})

    for response in (added, changed):
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert list(errors) == [field]
        assert str(expected) in errors[field][0]
        assert escape(errors[field][0]) in response.content.decode()
    assert _rows(tenant) == before


# --- preview --------------------------------------------------------------------------------
def test_preview_renders_the_sample_contact_in_a_sandboxed_iframe(owner_client, tenant):
    template = _template(tenant, html_body=SCRIPT_HTML, text_body="")

    response = owner_client.get(_url("preview", template.pk))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Hello Alex" in body  # subject
    assert "News from Alpha Corp" in body  # preheader
    assert 'sandbox="" referrerpolicy="no-referrer"' in body
    assert "allow-scripts" not in body
    assert "allow-same-origin" not in body
    # The template's HTML only exists escaped inside srcdoc, never as markup of the admin page.
    assert (
        'srcdoc="&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;parent.document.title = '
        '&quot;pwned&quot;&lt;/script&gt;"' in body
    )
    assert "<script>parent.document" not in body
    assert response.context["rendered"].text == "Hello"
    assert 'style="width: 640px;"' in body


def test_preview_escapes_contact_data_in_subject_and_text(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(first_name="<img src=x onerror=alert(1)>")
        template = EmailTemplateFactory(
            subject="Hi {{ contact.first_name }}", text_body="Text {{ contact.first_name }}"
        )

    body = owner_client.get(_url("preview", template.pk), {"contact": contact.pk}).content.decode()

    assert "<img src=x onerror" not in body
    assert "Hi &lt;img src=x onerror=alert(1)&gt;" in body
    assert "Text &lt;img src=x onerror=alert(1)&gt;" in body


def test_preview_for_a_chosen_contact_and_mobile_width(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="mia@example.com", first_name="Mia")
        template = EmailTemplateFactory()

    response = owner_client.get(
        _url("preview", template.pk), {"contact": contact.pk, "width": "mobile"}
    )

    body = response.content.decode()
    assert response.context["rendered"].subject == "Hello Mia"
    assert "mia@example.com" in body
    assert 'style="width: 375px;"' in body
    assert f"?contact={contact.pk}&amp;width=desktop" in body  # the width toggle keeps the contact


@pytest.mark.parametrize("contact_id", ["999999", "abc"])
def test_preview_for_an_unknown_contact_falls_back_to_the_sample(owner_client, tenant, contact_id):
    template = _template(tenant)

    response = owner_client.get(_url("preview", template.pk), {"contact": contact_id})

    assert response.status_code == 200
    assert response.context["rendered"].subject == "Hello Alex"
    assert "That contact does not exist" in response.content.decode()


def test_preview_contact_picker_searches_by_email(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ann = ContactFactory(email="ann@example.com")
        ContactFactory(email="bob@example.com")
        template = EmailTemplateFactory()

    response = owner_client.get(_url("preview", template.pk), {"q": "ann@"})

    assert [contact.email for contact in response.context["matches"]] == ["ann@example.com"]
    assert f"?contact={ann.pk}&amp;width=desktop" in response.content.decode()


def test_preview_of_an_empty_template_shows_the_error_not_a_crash(owner_client, tenant):
    # Factories save without validation, like rows written before a rule existed.
    template = _template(tenant, subject="", html_body="")

    response = owner_client.get(_url("preview", template.pk))

    assert response.status_code == 200
    assert response.context["rendered"].html == ""
    assert response.context["rendered"].text == ""


def test_preview_of_a_template_that_fails_to_render_shows_the_error(owner_client, tenant):
    # Factories save without validation, like rows written before a rule existed.
    template = _template(tenant, html_body="<p>x</p>\n{{ 7|divisibleby:0 }}")

    response = owner_client.get(_url("preview", template.pk))

    assert response.status_code == 200
    assert "Line 2: this template cannot be rendered" in response.context["render_error"]
    assert "<iframe" not in response.content.decode()


def test_changelist_rows_link_to_the_preview(owner_client, tenant):
    template = _template(tenant)

    body = owner_client.get(_url("changelist")).content.decode()

    assert f'href="{_url("preview", template.pk)}"' in body


def test_change_page_links_preview_and_duplicate(owner_client, tenant):
    template = _template(tenant)

    body = owner_client.get(_url("change", template.pk)).content.decode()

    assert f'href="{_url("preview", template.pk)}"' in body
    assert f'href="{_url("duplicate", template.pk)}"' in body
    assert 'id="live-preview"' in body


def test_preview_of_another_workspaces_template_is_404(tenant, other_tenant):
    template = _template(tenant)
    with schema_context(other_tenant.schema_name):
        beta_owner = User.objects.get(email=SESSION_TENANTS["beta"][1])
    client = logged_in_client(other_tenant, beta_owner)

    assert client.get(_url("preview", template.pk)).status_code == 404


def test_preview_requires_login(tenant):
    from django_tenants.test.client import TenantClient

    template = _template(tenant)

    response = TenantClient(tenant).get(_url("preview", template.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- live preview ---------------------------------------------------------------------------
def test_live_preview_renders_unsaved_fields(owner_client):
    response = owner_client.post(
        _url("live_preview"),
        {"subject": "Hi {{ contact.first_name }}", "html_body": SCRIPT_HTML, "preheader": ""},
    )

    data = json.loads(response.content)
    assert data["errors"] == []
    assert data["subject"] == "Hi Alex"
    assert data["html"] == SCRIPT_HTML
    assert data["text"] == "Hello"


def test_live_preview_reports_syntax_errors_with_field_and_line(owner_client):
    response = owner_client.post(
        _url("live_preview"), {"subject": "ok", "html_body": "<p>a</p>\n{% include 'x.html' %}"}
    )

    assert json.loads(response.content)["errors"] == [
        "HTML body: Line 2: the tag {% include %} is not allowed in email templates. Allowed tags: "
        "autoescape, comment, cycle, filter, firstof, for, if, ifchanged, now, regroup, "
        "resetcycle, spaceless, templatetag, verbatim, widthratio, with."
    ]


def test_live_preview_only_accepts_post(owner_client):
    assert owner_client.get(_url("live_preview")).status_code == 405


# --- test sends -----------------------------------------------------------------------------
def test_send_test_from_the_preview(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(first_name="Mia")
        template = EmailTemplateFactory()

    response = owner_client.post(
        f"{_url('send_test', template.pk)}?contact={contact.pk}&width=mobile",
        {"recipients": "qa@example.com, boss@example.com"},
    )

    assert response.status_code == 302
    assert (
        response["Location"] == f"{_url('preview', template.pk)}?contact={contact.pk}&width=mobile"
    )
    assert [m.to for m in mail.outbox] == [["qa@example.com"], ["boss@example.com"]]
    assert {m.subject for m in mail.outbox} == {"[Test] Hello Mia"}


@pytest.mark.parametrize(
    ("recipients", "expected"),
    [
        (
            ",".join(f"p{n}@example.com" for n in range(6)),
            TEST_RECIPIENTS_TOO_MANY.format(limit=5, count=6),
        ),
        ("qa@example.com, nope", "Not a valid email address: nope."),
        (" , ", "Enter at least one email address to send the test to."),
    ],
)
def test_bad_test_recipients_are_a_form_error_and_nothing_is_sent(
    owner_client, tenant, recipients, expected
):
    template = _template(tenant)

    response = owner_client.post(_url("send_test", template.pk), {"recipients": recipients})

    assert response.status_code == 200
    assert response.context["send_form"].errors == {"recipients": [expected]}
    assert mail.outbox == []


def test_send_test_by_get_goes_back_to_the_preview(owner_client, tenant):
    template = _template(tenant)

    response = owner_client.get(_url("send_test", template.pk))

    assert response.status_code == 302
    assert mail.outbox == []


# --- duplicate ------------------------------------------------------------------------------
def test_duplicate_asks_then_opens_the_copy(owner_client, tenant, owner):
    template = _template(tenant, name="Newsletter")

    confirm = owner_client.get(_url("duplicate", template.pk))
    response = owner_client.post(_url("duplicate", template.pk))

    assert confirm.status_code == 200
    with schema_context(tenant.schema_name):
        copy = EmailTemplate.objects.get(name="Copy of Newsletter")
        assert copy.created_by == owner
        assert EmailTemplate.objects.count() == 2
    assert response.status_code == 302
    assert response["Location"] == _url("change", copy.pk)


def test_duplicate_confirmation_page_changes_nothing(owner_client, tenant):
    template = _template(tenant)

    owner_client.get(_url("duplicate", template.pk))

    assert len(_rows(tenant)) == 1


def test_duplicate_selected_from_the_list(owner_client, tenant):
    first = _template(tenant, name="A")
    second = _template(tenant, name="B")

    response = owner_client.post(
        _url("changelist"),
        {"action": "duplicate_selected", "_selected_action": [first.pk, second.pk]},
    )

    assert response.status_code == 302
    assert sorted(row["name"] for row in _rows(tenant)) == ["A", "B", "Copy of A", "Copy of B"]


# --- the Viewer role ------------------------------------------------------------------------
def test_viewer_can_preview_but_sees_no_send_or_duplicate(viewer_client, tenant):
    template = _template(tenant)

    preview = viewer_client.get(_url("preview", template.pk))
    change = viewer_client.get(_url("change", template.pk))

    assert preview.status_code == 200
    assert preview.context["rendered"].subject == "Hello Alex"
    body = preview.content.decode()
    assert 'id="send-test"' not in body
    assert _url("duplicate", template.pk) not in body
    assert change.status_code == 200
    assert _url("preview", template.pk) in change.content.decode()
    assert _url("duplicate", template.pk) not in change.content.decode()
    assert 'id="live-preview"' not in change.content.decode()


def test_viewer_cannot_send_tests_duplicate_or_edit(viewer_client, tenant):
    template = _template(tenant, name="Untouched")
    before = _rows(tenant)

    responses = [
        viewer_client.post(_url("send_test", template.pk), {"recipients": "qa@example.com"}),
        viewer_client.get(_url("duplicate", template.pk)),
        viewer_client.post(_url("duplicate", template.pk)),
        viewer_client.post(_url("change", template.pk), {**FORM, "name": "Changed"}),
        viewer_client.post(_url("add"), FORM),
        viewer_client.post(
            _url("changelist"), {"action": "duplicate_selected", "_selected_action": [template.pk]}
        ),
    ]

    assert [response.status_code for response in responses[:5]] == [403] * 5
    # An action the user may not run is not offered; Django answers with the list again.
    assert responses[5].status_code == 200
    assert mail.outbox == []
    assert _rows(tenant) == before
