"""One error body for every API failure: {"error": {"status", "code", "message", "fields"}}."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from engagex.core.formats import number


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class TooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"


TOO_LARGE = gettext_lazy("The request body is larger than {limit} bytes.")


def error_handler(exc, context):
    if isinstance(exc, ProtectedError):
        exc = Conflict("Other records still use this one (e.g. campaigns use this template).")
    if isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = TooLarge(TOO_LARGE.format(limit=number(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)))
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            fields = {k: v for k, v in detail.items() if k != "non_field_errors"}
            general = detail.get("non_field_errors") or []
        else:
            general = detail if isinstance(detail, list) else [detail]
        message = " ".join(str(m) for m in general) or "The request has invalid fields."
        code = "invalid"
    else:
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        code = getattr(getattr(exc, "detail", None), "code", None) or exc.__class__.__name__
    body = {
        "error": {
            "status": response.status_code,
            "code": code,
            "message": message,
            "fields": fields,
        }
    }
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response):
    return {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
