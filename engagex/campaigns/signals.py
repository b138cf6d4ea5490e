"""Events of campaigns that apps above them act on (they connect from AppConfig.ready())."""

from django.dispatch import Signal

# Sent when a recipient first unsubscribes through our own link, inside the transaction and
# the workspace's schema: `campaign_id`.
recipient_unsubscribed = Signal()
