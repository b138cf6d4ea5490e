import json
import logging
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from engagex.core.logging import ContextFilter, JsonFormatter, request_id_var
from engagex.core.schedules import schedules_register


def test_healthz_reports_every_check(db):
    schedules_register()

    response = Client(HTTP_HOST="localhost").get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok", "cache": "ok", "broker": "ok", "cluster": "ok",
    }  # fmt: skip


def test_healthz_says_degraded_when_no_cluster_runs_the_schedules(db):
    schedules_register()
    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=10))
    client = Client(HTTP_HOST="localhost")

    relaxed = client.get("/healthz")
    strict = client.get("/healthz", {"strict": "1"})

    assert relaxed.status_code == 200
    assert relaxed.json()["status"] == "degraded"
    assert relaxed.json()["checks"]["cluster"].startswith("stale")
    assert strict.status_code == 503


def test_healthz_answers_on_workspace_domains_too(tenant):
    from django_tenants.test.client import TenantClient

    assert TenantClient(tenant).get("/healthz").status_code == 200


def test_every_response_carries_a_request_id(db):
    client = Client(HTTP_HOST="localhost")

    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    made = client.get("/healthz")

    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32


def test_json_log_lines_name_the_request_and_tenant(tenant):
    from django_tenants.utils import schema_context

    record = logging.LogRecord("engagex.test", logging.INFO, __file__, 1, "sent %s", ("x",), None)
    token = request_id_var.set("req-42")
    try:
        with schema_context(tenant.schema_name):
            ContextFilter().filter(record)
    finally:
        request_id_var.reset(token)

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "sent x"
    assert (line["request_id"], line["schema"], line["level"]) == ("req-42", "alpha", "INFO")
