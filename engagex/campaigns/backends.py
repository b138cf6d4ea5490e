"""Mail backends: Anymail's SendGrid backend for production, and a readable one for development.

`SendGridBackend` is Anymail's SendGrid backend, made cheaper for 1,000-recipient batches
with the same request on the wire: recipient addresses that are plain `local@domain`
dot-atoms (what contact validation stores) skip Python's full RFC 5322 parser (anything
else goes through Anymail's), merge data already made of str skips Anymail's lazy-string
conversion, and the JSON is written by orjson.

`LocalMailBackend` (development): every message, batch sends included, lands on disk
readable. Anymail batch messages (merge data) are expanded into one .eml file per recipient
with their merge fields and headers filled in, under EMAIL_FILE_PATH. Nothing is ever dropped.
"""

import re
import uuid
from pathlib import Path

import orjson
from anymail.backends import sendgrid
from anymail.exceptions import AnymailSerializationError
from anymail.message import AnymailRecipientStatus, AnymailStatus
from anymail.utils import EmailAddress, force_non_lazy_dict, parse_address_list
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

PER_RECIPIENT_ATTRS = {"merge_data", "merge_metadata"}
# RFC 5322 dot-atom local part @ an ASCII host name: parsed, these give exactly this split.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")


def recipients_parse(addresses) -> list[EmailAddress]:
    """Anymail's `parse_address_list` for `to`, without the parser for plain addresses."""
    if isinstance(addresses, str):
        addresses = [addresses]
    parsed = []
    for address in addresses:
        if type(address) is str and PLAIN_ADDRESS.match(address):
            username, domain = address.split("@")
            parsed.append(EmailAddress(username=username, domain=domain))
        else:
            parsed.extend(parse_address_list([address], field="to"))
    return parsed


def per_recipient_dict(value):
    """Anymail's `force_non_lazy_dict` for merge data, skipped when every value is a str."""
    inners = value.values()
    if all(type(inner) is dict for inner in inners) and all(
        type(v) is str for inner in inners for v in inner.values()
    ):
        return value
    return force_non_lazy_dict(value)


class SendGridPayload(sendgrid.SendGridPayload):
    base_message_attrs = tuple(
        (attr, combiner, "recipients_parse" if attr == "to" else converter)
        for attr, combiner, converter in sendgrid.SendGridPayload.base_message_attrs
    )
    anymail_message_attrs = tuple(
        (attr, combiner, per_recipient_dict if attr in PER_RECIPIENT_ATTRS else converter)
        for attr, combiner, converter in sendgrid.SendGridPayload.anymail_message_attrs
    )

    def recipients_parse(self, addresses):
        return recipients_parse(addresses)

    def serialize_json(self, data):
        """Anymail's JSON, by orjson: UTF-8 bytes (json.dumps escapes to ASCII), far faster."""
        try:
            return orjson.dumps(data, default=self._json_default)
        except TypeError as error:
            raise AnymailSerializationError(
                orig_err=error, email_message=self.message, backend=self.backend, payload=self
            ) from None


class SendGridBackend(sendgrid.EmailBackend):
    def build_message_payload(self, message, defaults):
        return SendGridPayload(message, defaults, self)


class LocalMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            statuses = {}
            for copy, recipients in _copies(message):
                message_id = uuid.uuid4().hex
                (folder / f"{message_id}.eml").write_bytes(copy.message().as_bytes())
                for address in recipients:
                    statuses[address] = AnymailRecipientStatus(message_id=message_id, status="sent")
            status = AnymailStatus()
            status.set_recipient_status(statuses)
            message.anymail_status = status
        return len(email_messages)


def _copies(message):
    """Yield (message, recipients): the message itself, or one filled-in copy per recipient."""
    merge_data = getattr(message, "merge_data", None)
    if merge_data is None:
        yield message, message.recipients()
        return
    field = (getattr(message, "esp_extra", None) or {}).get("merge_field_format", "{}")
    merge_headers = getattr(message, "merge_headers", None) or {}
    for recipient in message.to:
        values = {field.format(k): str(v) for k, v in (merge_data.get(recipient) or {}).items()}

        def fill(text, values=values):
            for key, value in values.items():
                text = text.replace(key, value)
            return text

        copy = EmailMultiAlternatives(
            subject=fill(message.subject),
            body=fill(message.body),
            from_email=message.from_email,
            to=[recipient],
            reply_to=message.reply_to,
            headers={**message.extra_headers, **merge_headers.get(recipient, {})},
        )
        for content, mimetype in getattr(message, "alternatives", []):
            copy.attach_alternative(fill(content), mimetype)
        yield copy, [recipient]
