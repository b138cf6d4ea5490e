"""Request ids and tenant schemas on every log line; a dependency-free JSON formatter."""

import contextvars
import json
import logging
import uuid

from django.db import connection

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Take the proxy's X-Request-ID (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class ContextFilter(logging.Filter):
    """Add `request_id` and `schema` (the tenant) to every record."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        record.schema = getattr(connection, "schema_name", "public") or "public"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "schema": getattr(record, "schema", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
