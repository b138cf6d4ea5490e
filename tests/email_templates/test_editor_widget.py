"""The drag-and-drop editor's page: the widget, its settings and who may change what."""

import json
import re

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.widgets import VisualEditorWidget
from tests.fixtures.tenants import logged_in_client

MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.first_name }}</mj-text>"
    '<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>'
    "</mj-column></mj-section></mj-body></mjml>"
)
DESIGN = {"pages": [{"frames": [{"component": {"type": "wrapper"}}]}]}
SETTINGS = re.compile(
    r'<script id="id_design_editor_config" type="application/json">(.*?)</script>'
)


def _change_url(template) -> str:
    return reverse(
        "admin:email_templates_emailtemplate_change",
        args=[template.pk],
        urlconf="config.urls_tenants",
    )


@pytest.fixture
def visual_template(tenant, owner):
    with schema_context(tenant.schema_name):
        return EmailTemplate.objects.create(
            name="Visual",
            subject="Hello",
            editor="visual",
            mjml_source=MJML,
            design=DESIGN,
            html_body="<p>Hi</p>",
        )


def _settings(html: str) -> dict:
    match = SETTINGS.search(html)
    assert match, "no editor settings on the page"
    return json.loads(match.group(1))


def test_the_change_page_mounts_the_editor_with_this_workspaces_settings(
    owner_client, visual_template
):
    response = owner_client.get(_change_url(visual_template))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<script src="/static/engagex/editor/editor.js" type="module"></script>' in html
    assert 'href="/static/engagex/editor/editor.css"' in html
    assert 'name="design"' in html
    settings = _settings(html)
    assert settings["readonly"] is False
    assert settings["fields"] == {
        "mode": "editor",
        "mjml": "mjml_source",
        "html": "html_body",
        "design": "design",
    }
    config = settings["config"]
    assert config["upload_url"] == "/admin/email_templates/mediaasset/upload/"
    assert {"label": "First name", "tag": "{{ contact.first_name }}"} in config["merge_tags"]
    assert config["template"]["id"] == visual_template.pk
    assert settings["strings"]["blocks"]["footer"] == "Footer"
    # The stored design is in the form, as the editor's JSON.
    assert (
        json.loads(
            re.search(
                r"<textarea data-design hidden name=\"design\"[^>]*>(.*?)</textarea>", html, re.S
            )
            .group(1)
            .replace("&quot;", '"')
        )
        == DESIGN
    )


def test_the_editors_texts_follow_the_console_language(owner_client, visual_template):
    owner_client.cookies["django_language"] = "es"

    settings = _settings(owner_client.get(_change_url(visual_template)).content.decode())

    assert settings["locale"] == "es"
    assert settings["strings"]["blocks"]["heading"] == "Encabezado"


def test_the_page_has_no_inline_script_but_the_settings(owner_client, visual_template):
    html = owner_client.get(_change_url(visual_template)).content.decode()

    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    # Inline scripts carry the response's nonce; the editor's settings are data, not code.
    assert all("nonce=" in attrs or "application/json" in attrs for attrs in scripts)


def test_a_viewer_sees_the_design_read_only(tenant, make_member, visual_template):
    client = logged_in_client(tenant, make_member(roles.VIEWER))

    response = client.get(_change_url(visual_template))

    html = response.content.decode()
    assert response.status_code == 200
    settings = _settings(html.replace("id_visual_design_editor_config", "id_design_editor_config"))
    assert settings["readonly"] is True
    assert settings["mjml"] == MJML
    assert "data-readonly" in html
    assert 'name="design"' not in html  # nothing to post, and no save button
    assert 'name="_save"' not in html
    assert "&lt;mjml&gt;" not in html  # not the MJML source as text


def test_a_viewer_of_an_html_template_gets_no_editor(tenant, make_member, owner):
    with schema_context(tenant.schema_name):
        template = EmailTemplate.objects.create(
            name="Code", subject="Hi", editor="html", html_body="<p>Hello</p>"
        )
    client = logged_in_client(tenant, make_member(roles.VIEWER))

    html = client.get(_change_url(template)).content.decode()

    assert "data-engagex-editor" not in html
    assert "&lt;p&gt;Hello&lt;/p&gt;" in html


def test_the_widget_renders_an_empty_design_as_an_empty_field():
    html = VisualEditorWidget(config={"merge_tags": []}).render(
        "design", "", attrs={"id": "id_design"}
    )

    assert re.search(r'<textarea data-design hidden name="design" id="id_design"></textarea>', html)
    assert json.loads(SETTINGS.search(html).group(1))["config"] == {"merge_tags": []}


def test_the_editor_settings_of_one_workspace_never_reach_another(
    owner_client, visual_template, other_tenant
):
    from engagex.email_templates.selectors import editor_config

    del editor_config  # the per-request form class is what keeps them apart:
    from engagex.email_templates.forms import EmailTemplateForm

    owner_client.get(_change_url(visual_template))

    assert EmailTemplateForm.editor_config is None
    assert EmailTemplateForm.base_fields["design"].widget.config == {}
