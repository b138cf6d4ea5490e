import csv

from django.db.models import QuerySet

from engagex.campaigns.models import CampaignRecipient
from engagex.contacts.services.exporting import EchoWriter, cell_neutralise

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


def recipients_csv_stream(queryset: QuerySet[CampaignRecipient]):
    """Yield a CSV of recipient outcomes row by row (a million rows never sit in memory)."""
    writer = csv.writer(EchoWriter())
    names = [name for name, _ in COLUMNS]
    yield "\ufeff" + writer.writerow([label for _, label in COLUMNS])
    for values in queryset.order_by("pk").values_list(*names).iterator(chunk_size=5000):
        yield writer.writerow(
            [cell_neutralise(v.isoformat() if hasattr(v, "isoformat") else v) for v in values]
        )
