"""Hostile JSON bodies on the API: too deep or too big gets a clear 4xx, never a 500."""

import json

import pytest
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactGroup
from engagex.email_templates.models import EmailTemplate
from tests.factories.contacts import ContactFactory

API = "/api/v1"
TOO_DEEP = {
    "error": {
        "status": 400,
        "code": "parse_error",
        "message": "The JSON body is nested more than 32 levels deep.",
        "fields": {},
    }
}
DEEP_LIST = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _deep_field(depth: int) -> str:
    """A valid-looking contact whose attribute nests lists so the body is `depth` deep."""
    lists = depth - 2  # the body object and "attributes" are two levels
    return '{"email": "deep@example.com", "attributes": {"x": ' + "[" * lists + "]" * lists + "}}"


@pytest.fixture
def targets(tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="kept@example.com", first_name="Kept")
        group = ContactGroup.objects.create(name="Kept group")
    return contact, group


def _endpoints(contact, group) -> list[tuple[str, str]]:
    return [
        ("post", f"{API}/contacts/"),
        ("patch", f"{API}/contacts/{contact.pk}/"),
        ("post", f"{API}/contacts/bulk-upsert/"),
        ("post", f"{API}/groups/"),
        ("post", f"{API}/groups/{group.pk}/add-contacts/"),
        ("post", f"{API}/templates/"),
        ("post", f"{API}/campaigns/"),
        ("post", f"{API}/invitations/"),
    ]


def _state(tenant):
    with schema_context(tenant.schema_name):
        return (
            list(Contact.objects.values_list("email", "first_name", "attributes")),
            list(ContactGroup.objects.values_list("name", flat=True)),
            ContactGroup.contacts.through.objects.count(),
            EmailTemplate.objects.count(),
        )


@pytest.mark.parametrize(
    "body",
    [DEEP_LIST, DEEP_OBJECT, _deep_field(33), _deep_field(990)],
    ids=["100k-deep-list", "100k-deep-object", "33-deep-field", "990-deep-field"],
)
def test_a_deeply_nested_body_gets_a_400_on_every_endpoint(api, tenant, targets, body):
    before = _state(tenant)

    for method, url in _endpoints(*targets):
        response = getattr(api, method)(url, body, content_type="application/json")

        assert (url, response.status_code) == (url, 400)
        assert response.json() == TOO_DEEP
    assert _state(tenant) == before


def test_nesting_within_the_limit_is_accepted(api, tenant):
    body = json.dumps({"email": "ok@example.com", "attributes": {"x": _nested(30)}})

    response = api.post(f"{API}/contacts/", body, content_type="application/json")

    assert response.status_code == 201
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(email="ok@example.com").attributes == {"x": _nested(30)}


def test_a_body_over_the_upload_limit_gets_a_413(api, tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"email": "big@example.com", "attributes": {"x": "y" * 2000}})

    response = api.post(f"{API}/contacts/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "status": 413,
            "code": "too_large",
            "message": "The request body is larger than 1,000 bytes.",
            "fields": {},
        }
    }
    with schema_context(tenant.schema_name):
        assert not Contact.objects.filter(email="big@example.com").exists()
