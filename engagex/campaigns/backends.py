"""Development mail backend: every message, batch sends included, lands on disk readable.

Anymail batch messages (merge data) are expanded into one .eml file per recipient with
their merge fields filled in, under EMAIL_FILE_PATH. Nothing is ever dropped.
"""

import uuid
from pathlib import Path

from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class LocalMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            recipients = {}
            merge_data = getattr(message, "merge_data", None)
            targets = message.to if merge_data is not None else [", ".join(message.to)]
            for target in targets:
                message_id = uuid.uuid4().hex
                raw = message.message()
                text = raw.as_string()
                if merge_data is not None:
                    text = text.replace(", ".join(message.to), target)
                    field_format = (getattr(message, "esp_extra", None) or {}).get(
                        "merge_field_format", "{}"
                    )
                    for key, value in (merge_data.get(target) or {}).items():
                        text = text.replace(field_format.format(key), str(value))
                    for name, value in (
                        (getattr(message, "merge_headers", {}) or {}).get(target, {}).items()
                    ):
                        text = f"{name}: {value}\n" + text
                (folder / f"{message_id}.eml").write_text(text, encoding="utf-8")
                for address in (target,) if merge_data is not None else message.to:
                    recipients[address] = AnymailRecipientStatus(
                        message_id=message_id, status="sent"
                    )
            status = AnymailStatus()
            status.set_recipient_status(recipients)
            message.anymail_status = status
            sent += 1
        return sent
