"""Issue 14, items 17 and 18 where people meet them: the console's forms, previews and the API."""

import json
import time

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.email_templates.models import EmailTemplate
from tests.api.conftest import key_client
from tests.factories.contacts import ContactFactory
from tests.factories.email_templates import EmailTemplateFactory
from tests.fixtures.tenants import logged_in_client

API = "/api/v1/templates/"
FORM = {
    "name": "Spring sale",
    "description": "",
    "subject": "Sale for {{ contact.first_name }}",
    "preheader": "Up to 30% off",
    "html_body": "<p>Hi {{ contact.first_name }}</p>",
    "text_body": "",
}
# The 86-byte template of the report, and the same loops within the allowed width.
ISSUE_TEMPLATE = (
    '{% for a in "x"|ljust:"3000" %}{% for b in "x"|ljust:"3000" %}{{ b }}{% endfor %}{% endfor %}'
)
LOOPS_TEMPLATE = (
    '<p>Hi</p>\n{% with s="x"|ljust:"1000" %}{% for a in s %}{% for b in s %}{{ s }}'
    "{% endfor %}{% endfor %}{% endwith %}"
)
LOOPS_ERROR = "Line 2: this template renders more than 500,000 characters for one email."


def _url(view, *args):
    return reverse(
        f"admin:email_templates_emailtemplate_{view}", args=args, urlconf="config.urls_tenants"
    )


def _rows(tenant):
    with schema_context(tenant.schema_name):
        return list(EmailTemplate.objects.order_by("pk").values())


@pytest.fixture
def marketer_client(tenant, make_member):
    return logged_in_client(tenant, make_member(roles.MARKETER))


@pytest.fixture
def viewer_client(tenant, make_member):
    return logged_in_client(tenant, make_member(roles.VIEWER))


@pytest.fixture
def api(tenant, owner):
    return key_client(tenant, roles.OWNER, owner)


def _form_errors(response) -> dict:
    assert response.status_code == 200
    return response.context["adminform"].form.errors


# --- 17: previewing unsaved text needs the change permission --------------------------------
def test_a_viewer_cannot_render_unsaved_text_in_the_live_preview(viewer_client, marketer_client):
    refused = viewer_client.post(_url("live_preview"), {"subject": "Hi", "html_body": "<p>a</p>"})
    allowed = marketer_client.post(_url("live_preview"), {"subject": "Hi", "html_body": "<p>a</p>"})

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert json.loads(allowed.content)["html"] == "<p>a</p>"


def test_a_viewer_still_previews_saved_templates_and_sees_no_live_preview(viewer_client, tenant):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory()

    preview = viewer_client.get(_url("preview", template.pk))
    change = viewer_client.get(_url("change", template.pk))

    assert preview.status_code == 200
    assert preview.context["rendered"].subject == "Hello Alex"
    assert 'id="live-preview"' not in change.content.decode()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            ISSUE_TEMPLATE,
            "Line 1: the filter |ljust takes widths up to 1,000; this one asks for 3,000.",
        ),
        (LOOPS_TEMPLATE, LOOPS_ERROR),
    ],
)
def test_the_reported_template_ends_fast_in_the_live_preview(marketer_client, source, expected):
    started = time.thread_time()
    response = marketer_client.post(_url("live_preview"), {"subject": "Hi", "html_body": source})
    spent = time.thread_time() - started

    assert json.loads(response.content)["errors"] == [f"HTML body: {expected}"]
    assert spent < 0.5  # the whole request, client and middleware included (3.6 s before)


def test_a_template_past_the_caps_is_not_saved_in_the_console(owner_client, tenant):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory()
    before = _rows(tenant)

    added = owner_client.post(_url("add"), {**FORM, "html_body": LOOPS_TEMPLATE})
    changed = owner_client.post(_url("change", template.pk), {**FORM, "html_body": LOOPS_TEMPLATE})

    for response in (added, changed):
        assert _form_errors(response) == {"html_body": [LOOPS_ERROR]}
        assert escape(LOOPS_ERROR) in response.content.decode()
    assert _rows(tenant) == before


def test_a_template_past_the_caps_is_a_400_in_the_api(api, tenant):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(name="Kept")
    before = _rows(tenant)

    created = api.post(
        API, {"name": "Bomb", "subject": "Hi", "html_body": LOOPS_TEMPLATE}, "application/json"
    )
    updated = api.patch(
        f"{API}{template.pk}/",
        {"subject": '{% for a in "x"|ljust:"999" %}{% for b in "x"|ljust:"999" %}x{% endfor %}'
         "{% endfor %}"},
        "application/json",
    )  # fmt: skip

    assert created.status_code == updated.status_code == 400
    assert created.json()["error"]["fields"] == {"html_body": [LOOPS_ERROR]}
    assert updated.json()["error"]["fields"]["subject"] == [
        "Line 1: loops and list filters go through more than 5,000 items for one email."
    ]
    assert _rows(tenant) == before


def test_the_caps_count_the_whole_email_not_each_field(owner_client, tenant):
    # Each body alone fits; together (as a send renders them) they do not.
    half = (
        '<p>x</p>{% for a in "x"|ljust:"400" %}{% for b in "x"|ljust:"10" %}.'
        "{% endfor %}{% endfor %}"
    )

    response = owner_client.post(_url("add"), {**FORM, "html_body": half, "text_body": half})

    assert _form_errors(response) == {
        "text_body": [
            "Line 1: loops and list filters go through more than 5,000 items for one email."
        ]
    }
    assert _rows(tenant) == []


def test_a_saved_template_past_the_caps_previews_as_an_error(owner_client, tenant):
    # Factories save without validation, like rows written before the caps existed.
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(html_body=LOOPS_TEMPLATE)

    started = time.thread_time()
    response = owner_client.get(_url("preview", template.pk))
    spent = time.thread_time() - started

    assert response.status_code == 200
    assert response.context["render_error"] == LOOPS_ERROR
    assert "<iframe" not in response.content.decode()
    assert spent < 0.5


def test_a_test_send_past_the_caps_sends_nothing(owner_client, tenant):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(html_body=LOOPS_TEMPLATE)

    response = owner_client.post(_url("send_test", template.pk), {"recipients": "qa@example.com"})

    assert response.status_code == 200
    assert response.context["send_form"].errors == {"recipients": [LOOPS_ERROR]}
    assert mail.outbox == []


def test_a_chosen_contacts_data_counts_against_the_caps_in_the_preview(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(attributes={"tags": ["x"] * 20_000})
        template = EmailTemplateFactory(
            html_body="<p>Tags</p>{% for t in contact.attributes.tags %}{{ t }}{% endfor %}"
        )

    sample = owner_client.get(_url("preview", template.pk))
    chosen = owner_client.get(_url("preview", template.pk), {"contact": contact.pk})

    assert sample.context["rendered"].html == "<p>Tags</p>"
    assert chosen.context["render_error"] == (
        "Line 1: loops and list filters go through more than 5,000 items for one email."
    )


# --- 18: refusals -----------------------------------------------------------------------------
AUTOESCAPE_OFF = (
    "Line 2: {% autoescape off %} is not allowed in email templates: contact data is always "
    "escaped in HTML."
)


@pytest.mark.parametrize("field", ["subject", "preheader", "html_body", "text_body"])
def test_autoescape_off_is_refused_on_every_field(owner_client, tenant, field):
    source = "<p>Hi</p>\n{% autoescape off %}{{ contact.first_name }}{% endautoescape %}"

    response = owner_client.post(_url("add"), {**FORM, field: source})

    assert _form_errors(response) == {field: [AUTOESCAPE_OFF]}
    assert _rows(tenant) == []


def test_autoescape_off_is_refused_by_the_api_and_autoescape_on_still_works(api, tenant):
    refused = api.post(
        API,
        {"name": "Raw", "subject": "Hi",
         "html_body": "<p>a</p>\n{% autoescape off %}x{% endautoescape %}"},
        "application/json",
    )  # fmt: skip
    allowed = api.post(
        API,
        {"name": "On", "subject": "Hi",
         "html_body": "<p>{% autoescape on %}{{ contact.first_name }}{% endautoescape %}</p>"},
        "application/json",
    )  # fmt: skip

    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"html_body": [AUTOESCAPE_OFF]}
    assert allowed.status_code == 201
    with schema_context(tenant.schema_name):
        assert list(EmailTemplate.objects.values_list("name", flat=True)) == ["On"]


def test_contact_html_stays_escaped_in_the_preview(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(first_name="<img src=x onerror=alert(1)>")
        template = EmailTemplateFactory(
            html_body="<p>{% autoescape on %}{{ contact.first_name }}{% endautoescape %}</p>"
        )

    response = owner_client.get(_url("preview", template.pk), {"contact": contact.pk})

    assert response.context["rendered"].html == "<p>&lt;img src=x onerror=alert(1)&gt;</p>"


UNCLOSED_VARIABLE = (
    "Line {line}: “{{{{” is not closed: end the tag with “}}}}” on the same line "
    "(to show “{{{{” as text, write {{% templatetag openvariable %}})."
)


@pytest.mark.parametrize(
    ("field", "source", "line"),
    [
        ("subject", "Hi {{ contact.first_name", 1),
        ("preheader", "Hello {{ contact.first_name }}, {{ contact.last_name", 1),
        ("html_body", "<p>Hi</p>\n<p>\n{{ contact.first_name\n}}</p>", 3),
        ("text_body", "Hi {{ contact.first_name }}\n\nBye {{ contact.first_name", 3),
    ],
)
def test_an_unclosed_merge_tag_is_refused_with_its_line(owner_client, tenant, field, source, line):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory()
    before = _rows(tenant)

    added = owner_client.post(_url("add"), {**FORM, field: source})
    changed = owner_client.post(_url("change", template.pk), {**FORM, field: source})

    for response in (added, changed):
        assert _form_errors(response) == {field: [UNCLOSED_VARIABLE.format(line=line)]}
    assert _rows(tenant) == before


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>a</p>\n{% if contact.first_name", "Line 2: “{%” is not closed: end the tag"),
        ("<p>a</p>\n\n<p>{{ contact.first_name }} {{ contact.last_name", "Line 3: “{{” is not"),
    ],
)
def test_unclosed_tags_are_refused_by_the_api(api, tenant, source, expected):
    response = api.post(
        API, {"name": "x", "subject": "Hi", "html_body": source}, "application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["html_body"][0].startswith(expected)
    assert _rows(tenant) == []


def test_literal_braces_and_minified_css_can_still_be_written(owner_client, tenant):
    source = (
        "<style>@media(max-width:600px){#header{width:100%}}</style>"
        "<p>{% templatetag openvariable %} name {% templatetag closevariable %}</p>"
        "{% verbatim %}<p>{{ raw</p>{% endverbatim %}{% comment %}{{ ignored{% endcomment %}"
    )

    response = owner_client.post(_url("add"), {**FORM, "html_body": source})

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().html_body == source


# --- 18: unknown fields are a warning ---------------------------------------------------------
def test_an_unknown_field_saves_with_a_warning_naming_the_closest_one(owner_client, tenant):
    response = owner_client.post(
        _url("add"),
        {**FORM, "html_body": "<p>Hi</p>\n<p>{{ contact.frist_name }}</p>"},
        follow=True,
    )

    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().html_body.endswith("{{ contact.frist_name }}</p>")
    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert (
        "warning",
        "The template was saved, but some merge tags will render empty:<br>HTML body: Line 2: "
        "“contact.frist_name” is not a known field, so it renders empty. Did you mean "
        "“contact.first_name”?",
    ) in shown
    assert "will render empty:<br>HTML body: Line 2: “contact.frist_name”" in (
        response.content.decode()
    )


def test_the_live_preview_shows_unknown_fields_as_warnings(marketer_client, tenant, other_tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(attributes={"plan": "gold", "city": "Madrid"})
    with schema_context(other_tenant.schema_name):
        ContactFactory(attributes={"loyalty_tier": "silver"})

    response = marketer_client.post(
        _url("live_preview"),
        {
            "subject": "Hi {{ contat.first_name }}",
            "html_body": (
                "<p>{{ contact.attributes.plan }} {{ contact.attributes.plna }}</p>\n"
                "{% for tag in contact.attributes.tags %}{{ tag }}{{ forloop.counter }}{% endfor %}"
                "\n{{ contact.attributes.loyalty_tier }} {{ workspace.name }} {{ unsubscribe_url }}"
                "{% with name=contact.first_name %}{{ name }}{% endwith %}"
            ),
        },
    )

    data = json.loads(response.content)
    assert data["errors"] == []
    assert data["warnings"] == [
        "Subject: Line 1: “contat.first_name” is not a known field, so it renders empty. "
        "Did you mean “contact.first_name”?",
        "HTML body: Line 1: no contact has the attribute “plna”, so “contact.attributes.plna” "
        "renders empty. Did you mean “contact.attributes.plan”?",
        "HTML body: Line 2: no contact has the attribute “tags”, so “contact.attributes.tags” "
        "renders empty.",
        # Another workspace's attributes are not this one's.
        "HTML body: Line 3: no contact has the attribute “loyalty_tier”, so "
        "“contact.attributes.loyalty_tier” renders empty.",
    ]


def test_known_fields_give_no_warning(marketer_client):
    response = marketer_client.post(
        _url("live_preview"),
        {
            "subject": "{{ contact.first_name|default:'there'|upper }} {{ contact.full_name }}",
            "html_body": (
                "<p>{{ contact.email }} {{ contact.phone }} {{ contact.language }}"
                "{{ contact.last_name.upper }} {{ view_in_browser_url }}</p>"
                "{% for key, value in contact.attributes.items %}{{ key }}={{ value }}{% endfor %}"
                "{% filter upper %}{{ workspace.name }}{% endfilter %}"
                "{% cycle 'a' 'b' as row silent %}{{ row }}"
            ),
        },
    )

    assert json.loads(response.content)["warnings"] == []


def test_the_api_returns_a_templates_warnings_and_still_saves_it(api, tenant):
    created = api.post(
        API,
        {"name": "Typo", "subject": "Hi {{ contact.frist_name }}", "html_body": "<p>Hi</p>"},
        "application/json",
    )

    assert created.status_code == 201
    warnings = created.json()["warnings"]
    assert list(warnings) == ["subject"]
    assert "contact.first_name" in warnings["subject"][0]
    listed = api.get(API).json()["results"]
    assert [t["warnings"] for t in listed if t["name"] == "Typo"] == [warnings]
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.filter(name="Typo").count() == 1
