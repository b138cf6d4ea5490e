"""Signed, compact unsubscribe tokens: workspace + contact + campaign + issue day."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model, schema_context

from engagex.campaigns.signals import recipient_unsubscribed
from engagex.contacts.models import ConsentSource, Contact, ContactGroup, ContactStatus
from engagex.contacts.services.lists import (
    contact_unsubscribe_everywhere,
    membership_unsubscribe,
    memberships_current,
)
from engagex.core.tokens import b36, token_sign, token_signature_valid
from tenants.selectors import platform_url

# Keys the signatures: a token of another purpose never passes here.
PURPOSE = "unsubscribe"


class BadToken(Exception):
    pass


@dataclass(frozen=True)
class UnsubscribeTarget:
    schema: str
    contact_id: int
    campaign_id: int


def unsubscribe_token(
    *, schema: str, contact_id: int, campaign_id: int, issued: date | None = None
) -> str:
    day = (issued or timezone.now().date()).toordinal()
    payload = f"{schema}.{b36(contact_id)}.{b36(campaign_id)}.{b36(day)}"
    return f"{payload}.{token_sign(PURPOSE, payload)}"


def unsubscribe_token_parse(token: str) -> UnsubscribeTarget:
    """Return what the token names; raise BadToken if it was altered or has expired."""
    try:
        schema, contact, campaign, day, signature = token.split(".")
        payload = f"{schema}.{contact}.{campaign}.{day}"
        # Links already sent keep working after the secret key is rotated.
        if not token_signature_valid(PURPOSE, payload, signature):
            raise BadToken("signature")
        age = timezone.now().date().toordinal() - int(day, 36)
        if age > settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS:
            raise BadToken("expired")
        return UnsubscribeTarget(schema, int(contact, 36), int(campaign, 36))
    except (ValueError, TypeError) as error:
        raise BadToken("malformed") from error


def unsubscribe_url(token: str) -> str:
    return platform_url(f"/u/{token}/")


def web_version_url(token: str) -> str:
    """The campaign as this recipient got it, in a browser ("view in browser")."""
    return platform_url(f"/v/{token}/")


def unsubscribe_mailto(token: str) -> str:
    return f"mailto:unsubscribe@{settings.BASE_DOMAIN}?subject=unsubscribe%20{token}"


def unsubscribe_lookup(target: UnsubscribeTarget):
    """Return (workspace, contact) for a valid token, or raise BadToken."""
    tenant = get_tenant_model().objects.filter(schema_name=target.schema).first()
    if tenant is None:
        raise BadToken("workspace")
    with schema_context(target.schema):
        contact = Contact.objects.filter(pk=target.contact_id).first()
    if contact is None:
        raise BadToken("contact")
    return tenant, contact


def unsubscribe_lists(target: UnsubscribeTarget) -> list[ContactGroup]:
    """The campaign's lists the contact is on now: what "unsubscribe" takes them off.

    Empty when the campaign went to everyone subscribed, or they already left those lists:
    then unsubscribing means from everything."""
    from engagex.campaigns.models import Campaign

    with schema_context(target.schema):
        campaign = Campaign.objects.filter(pk=target.campaign_id).first()
        if campaign is None:
            return []
        return list(
            memberships_current(Contact(pk=target.contact_id)).filter(
                pk__in=campaign.include_groups.values("pk")
            )
        )


def contact_unsubscribe(*, target: UnsubscribeTarget, everything: bool = False) -> bool:
    """Unsubscribe the contact named by a token from the campaign's lists, or from
    everything when `everything` or the campaign had no lists (idempotent); return True if
    it changed anything."""
    from engagex.campaigns.models import Campaign, CampaignRecipient

    now = timezone.now()
    with schema_context(target.schema), transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=target.contact_id).first()
        if contact is None:
            raise BadToken("contact")
        first_time = CampaignRecipient.objects.filter(
            campaign_id=target.campaign_id, contact_id=contact.pk, unsubscribed_at__isnull=True
        ).update(unsubscribed_at=now)
        if first_time:
            recipient_unsubscribed.send(sender=CampaignRecipient, campaign_id=target.campaign_id)
        lists = [] if everything else unsubscribe_lists(target)
        if lists:
            left = membership_unsubscribe(
                contact=contact, groups=lists, source=ConsentSource.PREFERENCES
            )
            return left > 0
        if contact.status != ContactStatus.SUBSCRIBED:
            return False
        campaign = (
            Campaign.objects.filter(pk=target.campaign_id).values_list("name", flat=True).first()
        )
        source = f"unsubscribe link: {campaign or 'a campaign'}"
        return contact_unsubscribe_everywhere(contact=contact, source=source)
