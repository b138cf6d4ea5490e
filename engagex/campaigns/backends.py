"""Development mail backend: every message, batch sends included, lands on disk readable.

Anymail batch messages (merge data) are expanded into one .eml file per recipient with
their merge fields and headers filled in, under EMAIL_FILE_PATH. Nothing is ever dropped.
"""

import uuid
from pathlib import Path

from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend


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
