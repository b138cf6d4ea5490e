"""The OpenAPI schema is served, and generated requests (schemathesis) never get a 500."""

import json
from urllib.parse import urlencode

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core import NotSet

from engagex.accounts import roles
from tests.api.conftest import key_client
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory

EXAMPLES_PER_OPERATION = 6


def test_schema_and_docs_pages_are_served_to_authenticated_callers(tenant, api):
    from django_tenants.test.client import TenantClient

    schema = api.get("/api/v1/schema/", {"format": "json"})
    docs = api.get("/api/v1/docs/")
    anonymous = TenantClient(tenant).get("/api/v1/schema/")

    assert schema.status_code == 200
    assert "/api/v1/campaigns/{id}/send/" in schema.json()["paths"]
    assert schema.json()["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert docs.status_code == 200
    assert anonymous.status_code == 401


def test_generated_requests_never_get_a_server_error(tenant, owner):
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(3)
        ContactGroupFactory()
        CampaignFactory()
    client = key_client(tenant, roles.OWNER, owner)
    client.raise_request_exception = False
    schema = schemathesis.openapi.from_dict(
        client.get("/api/v1/schema/", {"format": "json"}).json()
    )
    failures, sent = [], []

    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            path = case.formatted_path
            if case.query:
                path += "?" + urlencode(case.query, doseq=True)
            body, content_type = "", "application/json"
            if not isinstance(case.body, NotSet) and case.media_type == "application/json":
                body = json.dumps(case.body)
            response = client.generic(case.method, path, body, content_type=content_type)
            sent.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {path} {body[:200]} -> {response.status_code}")

        run()

    assert failures == []
    assert len(sent) >= 150  # every operation was exercised
    assert {200, 201, 204} & set(sent)  # and some generated requests were valid
