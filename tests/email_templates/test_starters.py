"""Starter templates: each compiles to HTML that mail clients' constraints allow."""

import re

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.email_templates.mjml import mjml_to_html
from engagex.email_templates.models import BrandKit, EmailTemplate, FontStack
from engagex.email_templates.selectors import HTML_CLIP_BYTES
from engagex.email_templates.services import template_content_check, template_render
from engagex.email_templates.starters import STARTERS, starter_mjml

KIT = BrandKit(
    primary_colour="#aa3300",
    font_family=FontStack.TREBUCHET,
    footer_address="1 Main Street\nSpringfield",
)
IMAGES = "https://alpha.example.com/static/email_templates/starters/"


def _url(view, *args):
    return reverse(
        f"admin:email_templates_emailtemplate_{view}", args=args, urlconf="config.urls_tenants"
    )


def test_there_are_at_least_six_starters():
    slugs = {starter.slug for starter in STARTERS}
    assert {"newsletter", "announcement", "promotion", "welcome", "event", "letter"} <= slugs


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_each_starter_compiles_within_mail_client_constraints(starter):
    html = mjml_to_html(starter_mjml(starter, KIT, images_url=IMAGES))

    assert len(html.encode()) < HTML_CLIP_BYTES  # Gmail clips past 102 KB
    assert "<table" in html  # table layout
    assert not re.search(r"<(script|link|iframe|object|embed)\b", html, re.I)  # no JS/CSS
    assert "@import" not in html
    # Styles are inlined: a <style> left is media queries, or Outlook's conditional comments.
    outside_outlook = re.sub(r"<!--\[if [^\]]*\]>.*?<!\[endif\]-->", "", html, flags=re.S)
    assert not re.search(r"<style[^>]*>(?![^<]*@media)[^<]*\{", outside_outlook)
    for image in re.findall(r"<img\b[^>]*>", html):
        assert re.search(r'\salt="[^"]+"', image), image  # alt text on every image
    assert 'href="{{ unsubscribe_url }}"' in html
    assert 'href="{{ preferences_url }}"' in html
    assert "Springfield" in html
    assert "#aa3300" in html
    assert "Trebuchet MS" in html
    assert "%%" not in html  # every brand placeholder filled


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_each_starter_passes_the_sandbox_and_renders(starter, in_tenant):
    template = EmailTemplate(
        name=starter.slug,
        subject=starter.subject,
        preheader=starter.preheader,
        html_body=mjml_to_html(starter_mjml(starter, KIT, images_url=IMAGES)),
    )

    template_content_check(template=template)
    rendered = template_render(template=template, workspace_name="Alpha")

    assert "https://example.com/unsubscribe/preview/" in rendered.html
    assert "{{" not in rendered.html


def test_the_chooser_previews_every_starter_in_a_sandboxed_iframe(owner_client):
    response = owner_client.get(_url("starters"))

    page = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'data-starter="([a-z]+)"', page) == [s.slug for s in STARTERS]
    assert page.count('<iframe sandbox=""') == len(STARTERS)


def test_a_template_made_from_a_starter_opens_in_the_visual_editor(owner_client, tenant):
    response = owner_client.post(_url("starters"), {"starter": "welcome", "name": "Hello new"})

    with schema_context(tenant.schema_name):
        template = EmailTemplate.objects.get()
        assert response.status_code == 302
        assert response["Location"] == _url("change", template.pk)
        assert (template.name, template.editor) == ("Hello new", "visual")
        assert "<mj-body" in template.mjml_source
        assert "http://alpha.localhost/static/email_templates/starters/" in template.html_body
        assert template.versions.count() == 1


def test_an_unknown_starter_is_refused_and_nothing_is_saved(owner_client, tenant):
    response = owner_client.post(_url("starters"), {"starter": "nope", "name": "X"})

    assert response.status_code == 200
    assert "There is no such starter template" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert EmailTemplate.objects.count() == 0


def test_a_viewer_cannot_open_the_chooser(tenant, make_member):
    from engagex.accounts import roles
    from tests.fixtures.tenants import logged_in_client

    client = logged_in_client(tenant, make_member(roles.VIEWER))

    assert client.get(_url("starters")).status_code == 403


def test_the_footer_address_is_plain_text(in_tenant):
    kit = BrandKit(footer_address='Acme <b>& Co</b>\n{% now "Y" %} {{ contact.email }}')
    letter = next(starter for starter in STARTERS if starter.slug == "letter")
    html_body = mjml_to_html(starter_mjml(letter, kit))
    template = EmailTemplate(name="x", subject="x", html_body=html_body)

    template_content_check(template=template)
    html = template_render(template=template, workspace_name="Alpha").html

    assert 'Acme &lt;b&gt;&amp; Co&lt;/b&gt;<br>{% now "Y" %} {{ contact.email }}<br>' in html
    assert "alex.sample@example.com" not in html
