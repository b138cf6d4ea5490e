"""The API's JSON parser: DRF's, with a bound on nesting (see engagex/core/jsonlimits.py).

DRF reads JSON bodies through `request.body`, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE bounds
their size; `exceptions.error_handler` turns that refusal into a 413 in the API's error shape.
"""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from engagex.core.jsonlimits import JsonTooDeep, json_loads


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            return json_loads(
                text, parse_constant=drf_json.strict_constant if self.strict else None
            )
        except JsonTooDeep as error:
            raise ParseError(str(error)) from None
        except ValueError as error:  # includes UnicodeDecodeError
            raise ParseError(f"JSON parse error - {error}") from None
