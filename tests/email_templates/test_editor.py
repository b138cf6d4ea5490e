"""The editor's contract: MJML templates in the admin, media upload/library, editor_config."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.email_templates.mjml import MJML_UNKNOWN_ELEMENT, MJML_WRONG_CLOSE
from engagex.email_templates.models import EmailTemplate, MediaAsset, TemplateVersion
from engagex.email_templates.selectors import editor_config
from engagex.email_templates.services.media import MEDIA_SVG
from tests.email_templates.images import SVG_WITH_SCRIPT, image_bytes
from tests.fixtures.tenants import logged_in_client

MJML = (
    "<mjml><mj-body><mj-section><mj-column>\n"
    "<mj-text>Hi {{ contact.first_name }}</mj-text>\n"
    '<mj-image src="https://example.com/a.png" alt="A picture" />\n'
    '<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>\n'
    "</mj-column></mj-section></mj-body></mjml>"
)
FORM = {
    "name": "Visual one",
    "description": "",
    "subject": "Hello",
    "preheader": "",
    "editor": "visual",
    "mjml_source": MJML,
    "design": json.dumps({"pages": [{"component": "x"}]}),
    "html_body": "",
    "text_body": "",
}


def _url(model, view, *args):
    return reverse(
        f"admin:email_templates_{model}_{view}", args=args, urlconf="config.urls_tenants"
    )


def _counts(tenant):
    with schema_context(tenant.schema_name):
        return (
            EmailTemplate.objects.count(),
            TemplateVersion.objects.count(),
            MediaAsset.objects.count(),
        )


def test_a_visual_template_saves_its_mjml_compiled_to_inlined_html(owner_client, tenant):
    response = owner_client.post(_url("emailtemplate", "add"), FORM)

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        template = EmailTemplate.objects.get()
        assert template.editor == "visual"
        assert template.design == {"pages": [{"component": "x"}]}
        assert "<table" in template.html_body
        assert "Hi {{ contact.first_name }}" in template.html_body
        assert 'href="{{ unsubscribe_url }}"' in template.html_body
        assert "<link" not in template.html_body
        assert template.versions.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "mjml_source",
            MJML.replace("</mj-column>", ""),
            MJML_WRONG_CLOSE.format(line=5, element="mj-section", open="mj-column", opened=1),
        ),
        (
            "mjml_source",
            MJML.replace("<mj-text>Hi", "<mj-txt>Hi").replace(
                "</mj-text>\n<mj-image", "</mj-txt>\n<mj-image"
            ),
            MJML_UNKNOWN_ELEMENT.format(line=2, element="mj-txt"),
        ),
        (
            "mjml_source",
            MJML.replace("{{ contact.first_name }}", "{{ x|safe }}"),
            "Line 2: the filter |safe",
        ),
        ("design", '{"pages": [', "The design is not valid JSON"),
        ("design", "[" * 100 + "]" * 100, "nested more than 64 levels"),
        ("design", '{"a": NaN}', "cannot be stored"),
    ],
)
def test_bad_editor_input_is_a_form_error_and_nothing_is_saved(
    owner_client, tenant, field, value, expected
):
    before = _counts(tenant)

    response = owner_client.post(_url("emailtemplate", "add"), {**FORM, field: value})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert str(expected) in " ".join(errors[field])
    assert _counts(tenant) == before


def test_upload_answers_the_asset_manager_json(tenant, make_member):
    client = logged_in_client(tenant, make_member(roles.MARKETER))

    response = client.post(
        _url("mediaasset", "upload"),
        {"files": [SimpleUploadedFile("hero.png", image_bytes(size=(64, 32)), "image/png")]},
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data) == 1
    assert (data[0]["width"], data[0]["height"], data[0]["name"]) == (64, 32, "hero.png")
    assert data[0]["src"].startswith("http://")
    assert "/media/alpha/media/" in data[0]["src"]
    library = client.get(_url("mediaasset", "library")).json()["data"]
    assert [item["src"] for item in library] == [data[0]["src"]]


def test_an_svg_with_a_script_is_refused_naming_the_file(owner_client, tenant):
    before = _counts(tenant)

    response = owner_client.post(
        _url("mediaasset", "upload"),
        {"files": [SimpleUploadedFile("logo.svg", SVG_WITH_SCRIPT, "image/svg+xml")]},
    )

    assert response.status_code == 400
    assert response.json() == {"error": str(MEDIA_SVG.format(name="logo.svg"))}
    assert _counts(tenant) == before


def test_a_viewer_cannot_upload(tenant, make_member):
    client = logged_in_client(tenant, make_member(roles.VIEWER))
    before = _counts(tenant)

    response = client.post(
        _url("mediaasset", "upload"),
        {"files": [SimpleUploadedFile("a.png", image_bytes(), "image/png")]},
    )

    assert response.status_code == 403
    assert _counts(tenant) == before


def test_editor_config_names_the_endpoints_tags_and_brand(tenant, owner):
    request = RequestFactory().get("/", HTTP_HOST="alpha.localhost")
    request.user = owner

    with schema_context(tenant.schema_name):
        config = editor_config(request, None)

    assert config["upload_url"].endswith("/mediaasset/upload/")
    assert config["library_url"].endswith("/mediaasset/library/")
    tags = [tag["tag"] for tag in config["merge_tags"]]
    assert "{{ contact.first_name }}" in tags
    assert "{{ unsubscribe_url }}" in tags
    assert "{{ preferences_url }}" in tags
    assert config["required_footer_tags"] == ["{{ unsubscribe_url }}", "{{ preferences_url }}"]
    assert config["brand"]["primary_colour"] == "#1a73e8"
    assert "{{ unsubscribe_url }}" in config["footer_mjml"]
    json.dumps(config)  # all of it goes into the page as JSON


def test_a_design_over_the_size_limit_is_refused(owner_client, tenant):
    before = _counts(tenant)
    big = json.dumps({"pages": ["x" * (2 * 1024 * 1024)]})

    response = owner_client.post(_url("emailtemplate", "add"), {**FORM, "design": big})

    assert response.status_code == 200
    assert "it may be at most 2,097,152 bytes" in " ".join(
        response.context["adminform"].form.errors["design"]
    )
    assert _counts(tenant) == before


def test_the_live_preview_compiles_unsaved_mjml(owner_client):
    url = _url("emailtemplate", "live_preview")

    good = owner_client.post(url, {**FORM, "html_body": ""}).json()
    bad = owner_client.post(url, {**FORM, "mjml_source": MJML.replace("</mj-column>", "")}).json()

    assert good["errors"] == []
    assert "Hi Alex" in good["html"]  # the sample contact
    assert bad["errors"] == [
        "MJML source: Line 5: </mj-section> comes before <mj-column> (opened on line 1) is closed."
    ]


def test_editing_the_mjml_of_a_saved_template_recompiles_it(owner_client, tenant):
    owner_client.post(_url("emailtemplate", "add"), FORM)
    with schema_context(tenant.schema_name):
        template = EmailTemplate.objects.get()

    response = owner_client.post(
        _url("emailtemplate", "change", template.pk),
        {**FORM, "mjml_source": MJML.replace("Hi {{", "Hello {{")},
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        template.refresh_from_db()
        assert "Hello {{ contact.first_name }}" in template.html_body
        assert template.versions.count() == 2


@pytest.mark.parametrize(
    "source",
    [
        "<mjml><mj-body>" + "<mj-section><mj-column></mj-column></mj-section>\n" * 8000,
        "<mjml><mj-body><mj-section " + "<a " * 150_000,
        "<mjml><mj-body><mj-section><mj-column>" + "<mj-text>" * 50_000,
    ],
    ids=["many-lines", "tag-never-ends", "text-never-closed"],
)
def test_reading_broken_mjml_stays_linear(source):
    import time

    from django.core.exceptions import ValidationError

    from engagex.email_templates.mjml import mjml_check

    start = time.perf_counter()
    with pytest.raises(ValidationError):
        mjml_check(source)

    assert time.perf_counter() - start < 1.0  # was 8 s and 51 s before the reading was linear


def test_mjml_longer_than_a_template_field_is_refused_before_compiling():
    from django.core.exceptions import ValidationError

    from engagex.email_templates.mjml import mjml_to_html

    with pytest.raises(ValidationError, match="at most 500,000 characters"):
        mjml_to_html(MJML + " " * 500_000)


def test_mjml_posted_with_crlf_line_endings_compiles(owner_client, tenant):
    # what a browser posts from a textarea; MRML alone refuses a CR inside <mj-head>
    source = (
        '<mjml>\n  <mj-head>\n    <mj-attributes>\n      <mj-all font-family="Arial" />\n'
        "    </mj-attributes>\n  </mj-head>\n" + MJML.removeprefix("<mjml>")
    ).replace("\n", "\r\n")

    response = owner_client.post(
        _url("emailtemplate", "add"), {**FORM, "editor": "mjml", "mjml_source": source}
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert "font-family:Arial" in EmailTemplate.objects.get().html_body.replace(": ", ":")


@pytest.mark.parametrize("spacing", ["\n  ", "\r\n", "\t", " ", "\u00a0", ""])
def test_the_head_compiles_whatever_the_spacing_between_its_tags(spacing):
    from engagex.email_templates.mjml import mjml_to_html

    head = spacing.join(
        ["<mj-head>", "<mj-title>Spring</mj-title>", "<mj-style>a { color: red; }</mj-style>"]
    )
    source = f"<mjml>{spacing}{head}{spacing}</mj-head>" + MJML.removeprefix("<mjml>")

    html = mjml_to_html(source)

    assert "<title>Spring</title>" in html
    assert "color: red" in html or "color:red" in html
