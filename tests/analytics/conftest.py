import base64
import itertools
import json
import time

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from engagex.campaigns.models import CampaignRecipient
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory

WEBHOOK = "/anymail/sendgrid/tracking/"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}


@pytest.fixture
def sent(tenant):
    """A sent campaign to three contacts of `alpha`: (campaign, [recipients])."""
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(status="sent")
        recipients = [
            CampaignRecipient.objects.create(
                campaign=campaign,
                contact=ContactFactory(email=f"r{i}@example.com"),
                email=f"r{i}@example.com",
                status="sent",
            )
            for i in range(3)
        ]
    return campaign, recipients


def event(kind, recipient, *, schema="alpha", when=None, event_id=None, **extra):
    """A SendGrid event as its Event Webhook posts it, with our custom args merged in."""
    return {
        "email": recipient.email,
        "timestamp": int(when or time.time()),
        "event": kind,
        "sg_event_id": event_id or f"evt-{next(_ids)}",
        "sg_message_id": "msg.filter0001",
        "schema": schema,
        "campaign": str(recipient.campaign_id),
        "recipient": str(recipient.pk),
        **extra,
    }


def post(events, *, auth="hook:s3cret", headers=None, raw=None):
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    extra = {}
    if auth:
        extra["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    for name, value in (headers or {}).items():
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    body = raw if raw is not None else json.dumps(events)
    return client.post(WEBHOOK, body, content_type="application/json", **extra)
