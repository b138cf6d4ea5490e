"""A service's refusal in the admin's save comes back on the form: no success, nothing stored."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.email_templates.admin import templates as template_admin
from engagex.email_templates.models import EmailTemplate
from tests.factories.email_templates import EmailTemplateFactory

FORM = {
    "name": "Spring sale",
    "description": "",
    "subject": "Sale",
    "preheader": "",
    "html_body": "<p>Hi</p>",
    "text_body": "",
}
# What a service may refuse that the form could not know, e.g. after a parallel request.
NAME_TAKEN = "Another template took this name a moment ago."
READ_ONLY = "This workspace is read-only until its invoice is paid."


def _url(view, *args):
    return reverse(
        f"admin:email_templates_emailtemplate_{view}", args=args, urlconf="config.urls_tenants"
    )


def _refuse(error):
    def service(**kwargs):
        # Like a real service: it may write before it refuses; the admin rolls that back.
        EmailTemplateFactory(name="half-written")
        raise error

    return service


def _rows(tenant):
    with schema_context(tenant.schema_name):
        return list(EmailTemplate.objects.order_by("pk").values())


@pytest.mark.parametrize(
    ("error", "field"),
    [(ValidationError({"name": NAME_TAKEN}), "name"), (ValidationError(READ_ONLY), "__all__")],
)
def test_a_refused_add_shows_the_form_again_with_the_error_and_no_success(
    owner_client, tenant, monkeypatch, error, field
):
    monkeypatch.setattr(template_admin, "template_create", _refuse(error))

    response = owner_client.post(_url("add"), FORM)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {field: [error.messages[0]]}
    page = response.content.decode()
    assert error.messages[0] in page
    assert 'value="Spring sale"' in page  # what was typed is kept
    assert "/None/" not in page
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert _rows(tenant) == []


def test_a_refused_change_keeps_the_row_as_it_was(owner_client, tenant, monkeypatch):
    with schema_context(tenant.schema_name):
        template = EmailTemplateFactory(name="Before")
    before = _rows(tenant)
    monkeypatch.setattr(template_admin, "template_update", _refuse(ValidationError(READ_ONLY)))

    response = owner_client.post(_url("change", template.pk), FORM)

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [READ_ONLY]
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert _rows(tenant) == before
