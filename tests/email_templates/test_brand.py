"""The brand kit page: one per workspace, validated, used by the editor and the starters."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.email_templates.models import BrandKit, EmailTemplate
from engagex.email_templates.selectors import editor_config
from tests.email_templates.images import image_bytes
from tests.email_templates.test_media import _upload
from tests.fixtures.tenants import logged_in_client

URL = reverse("admin:email_templates_brandkit_changelist", urlconf="config.urls_tenants")


def _save(client, data):
    """Post the brand kit form where the sidebar entry leads (add first, then change)."""
    page = client.get(URL, follow=True)
    return client.post(page.redirect_chain[-1][0], data)


FORM = {
    "logo": "",
    "primary_colour": "#ff5500",
    "text_colour": "#111111",
    "background_colour": "#ffffff",
    "font_family": "Georgia, 'Times New Roman', serif",
    "footer_address": "Acme Ltd, 1 Main Street, Springfield",
}


def test_an_owner_edits_the_brand_kit_and_the_editor_gets_it(owner_client, tenant, owner):
    _upload(owner_client, ("logo.png", image_bytes(size=(120, 40)), "image/png"))
    with schema_context(tenant.schema_name):
        from engagex.email_templates.models import MediaAsset

        logo = MediaAsset.objects.get()

    response = _save(owner_client, {**FORM, "logo": logo.pk})

    assert response.status_code == 302
    assert owner_client.get(URL)["Location"].endswith("/change/")
    request = RequestFactory().get("/", HTTP_HOST="alpha.localhost")
    request.user = owner
    with schema_context(tenant.schema_name):
        assert BrandKit.objects.count() == 1
        brand = editor_config(request)["brand"]
    assert brand["primary_colour"] == "#ff5500"
    assert brand["font_family"] == FORM["font_family"]
    assert brand["logo_url"].startswith("http://alpha.localhost/media/alpha/media/")
    assert brand["footer_address"] == FORM["footer_address"]


def test_saving_twice_keeps_one_brand_kit(owner_client, tenant):
    _save(owner_client, FORM)
    _save(owner_client, {**FORM, "primary_colour": "#000000"})

    with schema_context(tenant.schema_name):
        assert list(BrandKit.objects.values_list("primary_colour", flat=True)) == ["#000000"]


@pytest.mark.parametrize("colour", ["#zzzzzz", "red; background:url(x)", "#fff"])
def test_a_colour_that_is_not_hex_is_a_form_error_and_nothing_is_saved(
    owner_client, tenant, colour
):
    response = _save(owner_client, {**FORM, "primary_colour": colour})

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["primary_colour"]
    if len(colour) == 7:
        assert "Enter a colour as # and six hexadecimal digits" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert BrandKit.objects.count() == 0


def test_a_font_outside_the_web_safe_stacks_is_refused(owner_client, tenant):
    response = _save(owner_client, {**FORM, "font_family": "Comic Sans"})

    assert response.status_code == 200
    with schema_context(tenant.schema_name):
        assert BrandKit.objects.count() == 0


def test_a_viewer_reads_the_brand_kit_but_cannot_change_it(tenant, make_member):
    client = logged_in_client(tenant, make_member(roles.VIEWER))
    add = reverse("admin:email_templates_brandkit_add", urlconf="config.urls_tenants")

    assert client.get(URL).status_code == 200  # the defaults, read-only
    assert client.post(add, FORM).status_code == 403
    with schema_context(tenant.schema_name):
        assert BrandKit.objects.count() == 0


def test_starters_use_the_brand_kit(owner_client, tenant):
    _save(owner_client, FORM)

    owner_client.post(
        reverse("admin:email_templates_emailtemplate_starters", urlconf="config.urls_tenants"),
        {"starter": "announcement", "name": "Branded"},
    )

    with schema_context(tenant.schema_name):
        html = EmailTemplate.objects.get().html_body
    assert "#ff5500" in html
    assert "Acme Ltd, 1 Main Street, Springfield" in html
    assert "Georgia" in html
