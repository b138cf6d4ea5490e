"""Template versions: written on save, listed, compared, restored; campaigns pin one."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.email_templates.models import EmailTemplate, TemplateVersion
from engagex.email_templates.services import template_create, template_restore, template_update
from tests.fixtures.tenants import logged_in_client

BODY = '<p>Hi {{ contact.first_name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'


def _url(view, *args):
    return reverse(
        f"admin:email_templates_emailtemplate_{view}", args=args, urlconf="config.urls_tenants"
    )


def _versions(template):
    return list(template.versions.order_by("number").values_list("number", "subject"))


def test_every_save_that_changes_the_content_is_a_version(in_tenant, owner):
    template = template_create(name="News", subject="One", html_body=BODY, user=owner)

    template_update(template=template, user=owner, subject="Two")
    template_update(template=template, user=owner, subject="Two")  # nothing changed
    template_update(template=template, user=owner, name="Renamed")  # not content

    assert _versions(template) == [(1, "One"), (2, "Two")]
    assert template.versions.get(number=2).created_by == owner


def test_restoring_makes_a_new_version_with_the_old_content(in_tenant, owner):
    template = template_create(name="News", subject="One", html_body=BODY, user=owner)
    template_update(template=template, user=owner, subject="Two", html_body=BODY + "<p>x</p>")

    template_restore(template=template, version=template.versions.get(number=1), user=owner)

    template.refresh_from_db()
    assert (template.subject, template.html_body) == ("One", BODY)
    assert _versions(template) == [(1, "One"), (2, "Two"), (3, "One")]
    assert template.versions.get(number=3).restored_from == 1


def test_history_page_lists_versions_with_who_and_when(owner_client, tenant, owner):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)
        template_update(template=template, user=owner, subject="Two")

    page = owner_client.get(_url("history", template.pk)).content.decode()

    assert re.findall(r'data-version="(\d+)"', page) == ["2", "1"]
    assert owner.email in page


def test_version_page_shows_an_escaped_diff_and_two_sandboxed_previews(owner_client, tenant, owner):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)
        template_update(template=template, user=owner, html_body=BODY + "<p><b>New line</b></p>")

    response = owner_client.get(_url("version", template.pk, 2))

    page = response.content.decode()
    assert response.status_code == 200
    diff = page[page.index('id="version-diff"') : page.index('class="engagex-side"')]
    added = re.findall(r'<div class="add">\+ (.*?)</div>', diff)
    assert added == [escape("<p>"), escape("<b>New line</b>"), escape("</p>")]  # a tag a line
    assert "<b>New line</b>" not in diff  # never markup of the console page
    assert page.count('<iframe sandbox=""') == 2


def test_restore_asks_first_and_changes_nothing_on_get(owner_client, tenant, owner):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)
        template_update(template=template, user=owner, subject="Two")

    asked = owner_client.get(_url("restore", template.pk, 1))
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().subject == "Two"
    done = owner_client.post(_url("restore", template.pk, 1))

    assert asked.status_code == 200
    assert done.status_code == 302
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().subject == "One"
        assert TemplateVersion.objects.count() == 3


def test_a_viewer_cannot_restore(tenant, owner, make_member):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)
        template_update(template=template, user=owner, subject="Two")
    client = logged_in_client(tenant, make_member(roles.VIEWER))

    history = client.get(_url("history", template.pk))
    response = client.post(_url("restore", template.pk, 1))

    assert history.status_code == 200
    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().subject == "Two"


@pytest.mark.parametrize("number", [99, 0])
def test_an_unknown_version_is_a_404(owner_client, tenant, owner, number):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)

    assert owner_client.get(_url("version", template.pk, number)).status_code == 404
    assert owner_client.post(_url("restore", template.pk, number)).status_code == 404


def test_a_version_that_breaks_todays_rules_is_not_restored(owner_client, tenant, owner):
    with schema_context(tenant.schema_name):
        template = template_create(name="News", subject="One", html_body=BODY, user=owner)
        template_update(template=template, user=owner, subject="Two")
        # saved before a rule existed (written around the services, as old rows were)
        TemplateVersion.objects.filter(template=template, number=1).update(
            html_body="<p>{% load static %}</p>"
        )

    response = owner_client.post(_url("restore", template.pk, 1), follow=True)

    assert "the tag {% load %} is not allowed" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.get().subject == "Two"
        assert TemplateVersion.objects.count() == 2


def test_versions_of_one_workspace_are_not_found_in_another(tenant, other_tenant, owner):
    from tests.factories.email_templates import EmailTemplateFactory

    with schema_context(tenant.schema_name):
        template = template_create(name="Alpha news", subject="One", html_body=BODY, user=owner)
    with schema_context(other_tenant.schema_name):
        from engagex.accounts.models import User

        other_owner = User.objects.filter(is_active=True).order_by("pk").first()
        # a template with the same id in the other workspace, and no versions
        EmailTemplateFactory(id=template.pk, name="Beta news")
    client = logged_in_client(other_tenant, other_owner)

    history = client.get(_url("history", template.pk)).content.decode()

    assert client.get(_url("version", template.pk, 1)).status_code == 404
    assert "Alpha news" not in history
    assert 'data-version="' not in history


def test_the_diff_shows_html_a_tag_a_line_and_mjml_without_its_compiled_html(in_tenant, owner):
    from engagex.email_templates.selectors import template_version_diff

    html = template_create(name="H", subject="S", html_body=BODY, user=owner)
    template_update(template=html, user=owner, html_body=BODY.replace("Hi", "Hello"))
    mjml = template_create(
        name="M",
        subject="S",
        editor="mjml",
        mjml_source="<mjml><mj-body><mj-section><mj-column>\n<mj-text>Hi</mj-text>\n"
        '<mj-text><a href="{{ unsubscribe_url }}">U</a></mj-text>\n'
        "</mj-column></mj-section></mj-body></mjml>",
        user=owner,
    )
    template_update(
        template=mjml, user=owner, mjml_source=mjml.mjml_source.replace(">Hi<", ">Hello<")
    )

    html_diff = template_version_diff(*html.versions.order_by("number"))
    mjml_diff = template_version_diff(*mjml.versions.order_by("number"))

    assert [change["field"] for change in html_diff] == ["html_body"]
    assert [line for line in html_diff[0]["lines"] if line[0] != "hunk"] == [
        ("remove", "<p>Hi {{ contact.first_name }}</p>"),
        ("add", "<p>Hello {{ contact.first_name }}</p>"),
        ("context", "<p>"),
        ("context", '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'),
        ("context", "</p>"),
    ]
    assert [change["field"] for change in mjml_diff] == ["mjml_source"]
    assert ("add", "<mj-text>Hello</mj-text>") in mjml_diff[0]["lines"]
