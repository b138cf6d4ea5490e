import csv

from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import ngettext

from engagex.campaigns.models import CampaignRecipient
from engagex.contacts.services.exporting import (
    EchoWriter,
    LocalTime,
    cell_neutralise,
    export_time_zone,
)
from engagex.core.tenancy import workspace_language

COLUMNS = [
    ("email", "Email"),
    ("campaign__name", "Campaign"),
    ("status", "Status"),
    ("sent_at", "Sent"),
    ("delivered_at", "Delivered"),
    ("opened_at", "First open"),
    ("clicked_at", "First click"),
    ("bounced_at", "Bounced"),
    ("bounce_type", "Bounce type"),
    ("complained_at", "Complained"),
    ("unsubscribed_at", "Unsubscribed"),
    ("error", "Not sent because"),
]
TIMES = {"sent_at", "delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at",
         "unsubscribed_at"}  # fmt: skip


def recipients_csv_stream(queryset: QuerySet[CampaignRecipient]):
    """Yield a CSV of recipient outcomes row by row (a million rows never sit in memory).

    Times are the workspace's wall-clock time to the second, as in the contacts export.
    """
    writer = csv.writer(EchoWriter())
    zone = export_time_zone()
    local = {f"_{name}": LocalTime(name, zone, text=True) for name in TIMES}
    names = [f"_{name}" if name in TIMES else name for name, _ in COLUMNS]
    yield "\ufeff" + writer.writerow([label for _, label in COLUMNS])
    rows = queryset.order_by("pk").annotate(**local).values_list(*names)
    for values in rows.iterator(chunk_size=5000):
        yield writer.writerow([cell_neutralise(v) for v in values])


def recipients_export_note(count: int) -> str:
    """The audit detail of a recipients export, in the workspace's language."""
    with workspace_language():
        return ngettext("%(count)s recipient as CSV", "%(count)s recipients as CSV", count) % {
            "count": number_format(count, force_grouping=True)
        }
