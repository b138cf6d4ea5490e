"""The workspace audit log: who did what, beyond the admin's own added/changed/deleted rows.

Rows are Django's `LogEntry` (the Owners' *Audit log* page lists them). Actions the admin does
not log by itself (exports, imports, sends, pauses, API keys…) are written here with a verb
kept in `change_message` as `[{"engagex": {"verb": …, "detail": …}}]`: Django's own
`get_change_message()` ignores keys it does not know, and the audit page reads ours.
"""

import json

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.core.tenancy import workspace_language


class AuditVerb(models.TextChoices):
    EXPORTED = "exported", _("Exported")
    IMPORTED = "imported", _("Imported")
    SENT = "sent", _("Sent")
    SCHEDULED = "scheduled", _("Scheduled")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    CANCELLED = "cancelled", _("Cancelled")
    GROUP_CHANGED = "group_changed", _("Changed list members")
    KEY_CREATED = "key_created", _("Created API key")
    KEY_REVOKED = "key_revoked", _("Revoked API key")
    ERASED = "erased", _("Erased at the person's request")


def audit_record(
    *, user, verb: AuditVerb, obj: models.Model | None = None, model=None, detail: str = ""
) -> LogEntry | None:
    """Record that `user` did `verb` to `obj` (or to the model `model` as a whole).

    `user` is a member of the current workspace (an API key's creator for API calls);
    without one (a schedule, a deleted member) nothing can be attributed and nothing is kept.
    The row is written once and read by every Owner: its object text and `detail` (callers
    build it under `workspace_language()`) speak the workspace's default language.
    """
    if user is None or not getattr(user, "pk", None):
        return None
    target = obj if obj is not None else model
    content_type = ContentType.objects.get_for_model(target) if target is not None else None
    with workspace_language():
        if obj is not None:
            object_repr = str(obj)
        elif model is not None:
            object_repr = str(model._meta.verbose_name_plural)
        else:
            object_repr = ""
        detail = str(detail)
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=content_type,
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else None,
        object_repr=object_repr[:200],
        action_flag=CHANGE,
        change_message=json.dumps([{"engagex": {"verb": verb.value, "detail": detail}}]),
    )


def audit_parse(entry: LogEntry) -> tuple[str, str] | None:
    """The (verb, detail) `audit_record` stored in `entry`, or None for Django's own rows."""
    message = entry.change_message or ""
    if not message.startswith("["):
        return None
    try:
        items = json.loads(message)
    except ValueError:
        return None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("engagex"), dict):
            found = item["engagex"]
            return str(found.get("verb", "")), str(found.get("detail", ""))
    return None
