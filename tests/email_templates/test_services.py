import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeData

from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.services import (
    COPY_NAME,
    HTML_BODY_EMPTY,
    TEST_RECIPIENTS_INVALID,
    TEST_RECIPIENTS_REQUIRED,
    TEST_RECIPIENTS_TOO_MANY,
    html_to_text,
    html_with_preheader,
    template_create,
    template_duplicate,
    template_render,
    template_send_test,
    template_update,
)
from tests.factories.contacts import ContactFactory
from tests.factories.email_templates import EmailTemplateFactory

VALID = {
    "name": "Welcome",
    "subject": "Welcome, {{ contact.first_name|default:'friend' }}",
    "html_body": "<p>Hello {{ contact.first_name }}</p>",
}


# --- html_to_text ---------------------------------------------------------------------------
def test_html_to_text_keeps_paragraphs_line_breaks_lists_and_links():
    html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Ignored title</title>
    <style>p { color: red; }</style></head>
    <body>
      <h1>Hello   &amp; welcome</h1>
      <p>First line<br>second line &eacute;&nbsp;&lt;b&gt;</p>
      <p>Read <a href="https://example.com/a?b=1&amp;c=2">our blog</a>,
         <a href="https://example.com">https://example.com</a> or
         <a href="mailto:hi@example.com">hi@example.com</a>.</p>
      <script>alert("never")</script>
      <ul><li>One</li><li> Two <b>bold</b></li></ul>
      <ol><li>First</li><li>Second</li></ol>
      <table><tr><td>Cell 1</td><td>Cell 2</td></tr></table>
      <div>Logo: <img src="logo.png" alt="Acme"></div>
    </body></html>"""

    assert html_to_text(html) == (
        "Hello & welcome\n"
        "\n"
        "First line\n"
        "second line é <b>\n"
        "\n"
        "Read our blog (https://example.com/a?b=1&c=2), https://example.com or hi@example.com.\n"
        "\n"
        "- One\n"
        "- Two bold\n"
        "\n"
        "1. First\n"
        "2. Second\n"
        "\n"
        "Cell 1 Cell 2\n"
        "\n"
        "Logo: Acme"
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("", ""),
        ("<p></p><div>  </div>", ""),
        ("plain words", "plain words"),
        ("<a href='https://x.example/'></a>", "https://x.example/"),
        ("<a href='#top'>Back to top</a>", "Back to top"),
        ("<head><style>x{}</style><p>Body with no closing head</p>", "Body with no closing head"),
        ("<p>a</p>\n\n\n<p>b</p><br><br><br><br><p>c</p>", "a\n\nb\n\nc"),
        ("<pre>  keep\n    indent</pre>", "  keep\n    indent"),
    ],
)
def test_html_to_text_edge_cases(html, expected):
    assert html_to_text(html) == expected


def test_html_to_text_of_a_template_source_keeps_its_merge_tags():
    source = (
        '<p>Hi {{ contact.first_name|default:"there" }},</p>'
        "{% if contact.attributes.vip %}<p>VIP &amp; friends</p>{% endif %}"
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )

    assert html_to_text(source) == (
        'Hi {{ contact.first_name|default:"there" }},\n\n'
        "{% if contact.attributes.vip %}\n\nVIP & friends\n\n{% endif %}"
        "Unsubscribe ({{ unsubscribe_url }})"
    )


def test_html_with_preheader_hides_it_right_after_body():
    html = html_with_preheader('<html><body class="x"><p>Hi</p></body></html>', "Save <20%>")

    assert html.startswith('<html><body class="x"><div style="display:none;')
    assert "Save &lt;20%&gt;</div><p>Hi</p>" in html
    assert html_with_preheader("<p>Hi</p>", "") == "<p>Hi</p>"


# --- create / update / duplicate ------------------------------------------------------------
def test_create_sets_authors_and_keeps_text_body_blank(in_tenant, owner):
    template = template_create(**VALID, user=owner)

    template.refresh_from_db()
    assert template.created_by == owner
    assert template.updated_by == owner
    assert template.text_body == ""
    assert EmailTemplate.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "source", "expected"),
    [
        ("html_body", "<p>Hi</p>\n{% if contact.first_name %}\nno end", "Line 2: Unclosed tag"),
        ("html_body", "<p>Hi</p>\n{% load static %}", "Line 2: the tag {% load %} is not allowed"),
        ("html_body", "<p>{% include '/etc/passwd' %}</p>", "Line 1: the tag {% include %}"),
        ("html_body", "<p>{% include 'admin/base.html' %}</p>", "the tag {% include %}"),
        ("subject", "Hi {{ contact.first_name|safe }}", "Line 1: the filter |safe"),
        ("text_body", "a\nb\n{% extends 'base.html' %}", "Line 3: the tag {% extends %}"),
        ("html_body", "<p>a</p>\n<p>{{ 7|divisibleby:0 }}</p>", "Line 2: this template cannot"),
    ],
)
def test_create_refuses_bad_templates_naming_field_and_line(
    in_tenant, owner, field, source, expected
):
    with pytest.raises(ValidationError) as error:
        template_create(**{**VALID, field: source}, user=owner)

    assert list(error.value.message_dict) == [field]
    assert expected in error.value.message_dict[field][0]
    assert EmailTemplate.objects.count() == 0


@pytest.mark.parametrize("html_body", ["", "   \n ", "<html><body><p> </p></body></html>"])
def test_create_refuses_an_empty_html_body(in_tenant, owner, html_body):
    with pytest.raises(ValidationError) as error:
        template_create(**{**VALID, "html_body": html_body}, user=owner)

    assert error.value.message_dict == {"html_body": [HTML_BODY_EMPTY]}
    assert EmailTemplate.objects.count() == 0


def test_create_accepts_an_image_only_body(in_tenant, owner):
    template_create(**{**VALID, "html_body": '<img src="https://x.example/a.png">'}, user=owner)

    assert EmailTemplate.objects.count() == 1


def test_update_saves_fields_and_who_changed_them(in_tenant, owner, make_member):
    template = EmailTemplateFactory(created_by=owner, updated_by=owner)
    marketer = make_member()

    template_update(template=template, user=marketer, name="Renamed", text_body="Plain {{ x }}")

    template.refresh_from_db()
    assert (template.name, template.text_body) == ("Renamed", "Plain {{ x }}")
    assert template.created_by == owner
    assert template.updated_by == marketer


def test_update_with_a_syntax_error_changes_nothing(in_tenant, owner):
    template = EmailTemplateFactory(name="Kept", updated_by=owner)
    before = EmailTemplate.objects.values().get(pk=template.pk)

    with pytest.raises(ValidationError, match="Line 1: the tag {% load %}"):
        template_update(template=template, user=None, name="New", html_body="{% load i18n %}")

    assert EmailTemplate.objects.values().get(pk=template.pk) == before


def test_update_refuses_fields_that_are_not_template_content(in_tenant, owner):
    template = EmailTemplateFactory()

    with pytest.raises(TypeError, match="created_by"):
        template_update(template=template, user=owner, created_by=None)


def test_duplicate_copies_content_under_a_new_name(in_tenant, owner, make_member):
    original = EmailTemplateFactory(name="Newsletter", description="Monthly", created_by=owner)
    marketer = make_member()

    copy = template_duplicate(template=original, user=marketer)

    assert copy.pk != original.pk
    assert copy.name == COPY_NAME.format(name="Newsletter") == "Copy of Newsletter"
    fields = ["subject", "preheader", "html_body", "text_body", "description"]
    assert [getattr(copy, f) for f in fields] == [getattr(original, f) for f in fields]
    assert (copy.created_by, copy.updated_by) == (marketer, marketer)
    assert EmailTemplate.objects.filter(name="Newsletter").count() == 1
    assert EmailTemplate.objects.count() == 2


def test_duplicate_of_a_long_name_fits_the_name_field(in_tenant, owner):
    original = EmailTemplateFactory(name="x" * 120)

    copy = template_duplicate(template=original, user=owner)

    assert copy.name == ("Copy of " + "x" * 120)[:120]


# --- render ---------------------------------------------------------------------------------
def test_render_uses_the_sample_contact_and_generates_text(in_tenant):
    template = EmailTemplateFactory()

    rendered = template_render(template=template, workspace_name="Alpha Corp")

    assert rendered.subject == "Hello Alex"
    assert rendered.preheader == "News from Alpha Corp"
    assert "<h1>Hi Alex</h1>" in rendered.html
    assert rendered.text == (
        "Hi Alex\n\n"
        "Read the news (https://example.com/news).\n\n"
        "Unsubscribe (https://example.com/unsubscribe/preview/)"
    )


def test_render_for_a_contact_escapes_its_data_in_html_only(in_tenant):
    contact = ContactFactory(
        email="ann@example.com", first_name="<script>x()</script>", attributes={"plan": "gold"}
    )
    template = EmailTemplateFactory(
        subject="Hi {{ contact.first_name }}",
        html_body="<p>{{ contact.first_name }} · {{ contact.attributes.plan }}"
        " · {{ contact.email }}</p>",
        text_body="Plan: {{ contact.attributes.plan }}",
    )

    rendered = template_render(template=template, contact=contact, workspace_name="Alpha")

    assert rendered.html == ("<p>&lt;script&gt;x()&lt;/script&gt; · gold · ann@example.com</p>")
    assert rendered.subject == "Hi <script>x()</script>"
    assert rendered.text == "Plan: gold"
    # Marked-safe output would skip escaping wherever the admin shows it.
    assert not any(isinstance(value, SafeData) for value in vars(rendered).values())


def test_render_keeps_the_subject_on_one_line(in_tenant):
    contact = ContactFactory(first_name="Ann\r\nBcc: victim@example.com")
    template = EmailTemplateFactory(subject="Hi {{ contact.first_name }}")

    rendered = template_render(template=template, contact=contact, workspace_name="Alpha")

    assert rendered.subject == "Hi Ann Bcc: victim@example.com"


def test_render_error_for_one_contact_is_a_validation_error(in_tenant):
    template = EmailTemplateFactory(
        html_body="<p>x</p>\n{% if contact.attributes.d %}{{ 10|divisibleby:contact.attributes.d }}"
        "{% endif %}"
    )
    contact = ContactFactory(attributes={"d": "0"})

    with pytest.raises(ValidationError, match="Line 2: this template cannot be rendered"):
        template_render(template=template, contact=contact, workspace_name="Alpha")


# --- test sends -----------------------------------------------------------------------------
def test_send_test_sends_one_message_per_address(in_tenant, owner):
    template = EmailTemplateFactory()

    sent = template_send_test(
        template=template,
        recipients=[" ann@example.com", "ANN@example.com", "bob@example.com", ""],
        workspace_name="Alpha Corp",
        user=owner,
    )

    assert sent == 2
    assert [message.to for message in mail.outbox] == [["ann@example.com"], ["bob@example.com"]]
    message = mail.outbox[0]
    assert message.subject == "[Test] Hello Alex"
    assert message.body.startswith("Hi Alex\n\nRead the news (https://example.com/news).")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "News from Alpha Corp</div><h1>Hi Alex</h1>" in html


def test_send_test_renders_for_the_given_contact(in_tenant, owner):
    contact = ContactFactory(first_name="Mia")

    template_send_test(
        template=EmailTemplateFactory(),
        recipients=["qa@example.com"],
        workspace_name="Alpha",
        user=owner,
        contact=contact,
    )

    assert mail.outbox[0].subject == "[Test] Hello Mia"


@pytest.mark.parametrize(
    ("recipients", "expected"),
    [
        ([], TEST_RECIPIENTS_REQUIRED),
        (["  ", ""], TEST_RECIPIENTS_REQUIRED),
        (
            [f"p{n}@example.com" for n in range(6)],
            TEST_RECIPIENTS_TOO_MANY.format(limit=5, count=6),
        ),
        (
            ["ok@example.com", "not-an-address", "x@"],
            TEST_RECIPIENTS_INVALID.format(addresses="not-an-address, x@"),
        ),
        (
            ["a@example.com\nBcc: victim@example.com"],
            TEST_RECIPIENTS_INVALID.format(addresses="a@example.com\nBcc: victim@example.com"),
        ),
    ],
)
def test_send_test_refuses_bad_recipient_lists_and_sends_nothing(
    in_tenant, owner, recipients, expected
):
    with pytest.raises(ValidationError) as error:
        template_send_test(
            template=EmailTemplateFactory(),
            recipients=recipients,
            workspace_name="Alpha",
            user=owner,
        )

    assert error.value.messages == [expected]
    assert mail.outbox == []
