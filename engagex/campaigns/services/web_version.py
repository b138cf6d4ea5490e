"""A sent campaign's web version ("view in browser") for the contact a signed token names.

The link carries the same token as the unsubscribe link (workspace, contact, campaign, day).
The page is the campaign's HTML as frozen when it started, with this contact's merge values.
"""

from django.utils.html import escape
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign
from engagex.campaigns.services.sending import campaign_prepare, recipient_context
from engagex.campaigns.services.unsubscribe import (
    BadToken,
    unsubscribe_lookup,
    unsubscribe_token_parse,
)
from engagex.email_templates.sandbox import MERGE_FIELD_FORMAT, merge_values
from engagex.email_templates.services import contact_merge_data

# The page shows workspace-authored HTML on our domain: nothing in it may run or post.
WEB_VERSION_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline' https:; "
    "font-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def web_version_page(token: str) -> str:
    """The campaign's HTML page for the token's contact; raise BadToken if there is none."""
    target = unsubscribe_token_parse(token)
    tenant, contact = unsubscribe_lookup(target)
    with schema_context(target.schema):
        campaign = Campaign.objects.filter(pk=target.campaign_id, started_at__isnull=False).first()
        if campaign is None:
            raise BadToken("campaign")
        prepared = campaign_prepare(campaign, tenant=tenant)
    context = recipient_context(
        contact_merge_data(contact), token, schema=target.schema, contact_id=contact.pk
    )
    filled = {}
    for name, merged in {"html": prepared.html, "subject": prepared.subject}.items():
        text = merged.text
        for key, value in merge_values([merged], context).items():
            text = text.replace(MERGE_FIELD_FORMAT.format(key), value)
        filled[name] = text
    html = filled["html"]
    if "<html" in html.lower():
        return html
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(filled['subject'])}</title></head><body>{html}</body></html>"
    )
