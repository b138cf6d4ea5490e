"""A campaign's pre-send checklist: the template's checks, for what this campaign sends.

Templates sit below contacts' owners in the stack and check merge tags against the
workspace's newest contacts; here the merge tags are checked against the attributes of
this campaign's own audience (a field every contact has, but nobody in these groups, still
renders empty for all of them).
"""

from django.core.exceptions import ValidationError
from django.db.models import CharField, F, Func

from engagex.campaigns.models import Campaign
from engagex.core.tenancy import workspace_name
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.selectors import template_checks
from engagex.email_templates.services import (
    html_with_preheader,
    template_render,
    template_warnings,
)
from engagex.email_templates.services.links import link_checks_request

AUDIENCE_SAMPLE = 10_000


def campaign_audience_attribute_names(campaign: Campaign, *, sample: int = AUDIENCE_SAMPLE):
    """The attribute names the campaign's newest `sample` audience contacts have."""
    from engagex.campaigns.services.campaigns import campaign_audience

    recent = campaign_audience(campaign).order_by("-pk").values("pk")[:sample]
    contacts = campaign_audience(campaign).model.objects.filter(pk__in=recent)
    return set(
        contacts.annotate(
            kind=Func(F("attributes"), function="jsonb_typeof", output_field=CharField())
        )
        .filter(kind="object")
        .annotate(
            name=Func(F("attributes"), function="jsonb_object_keys", output_field=CharField())
        )
        .values_list("name", flat=True)
        .distinct()
    )


def campaign_checks(campaign: Campaign, request=None) -> list:
    """The checklist shown before a campaign is sent (its subject override included).

    Asks the task cluster to check the template's links (the page shows them pending).
    """
    template = campaign.template
    link_checks_request(template=template, html=template.html_body)
    as_sent = EmailTemplate(
        name=template.name,
        subject=campaign.subject,
        preheader=template.preheader,
        html_body=template.html_body,
        text_body=template.text_body,
    )
    subject, preheader = campaign.subject, template.preheader
    try:
        rendered = template_render(template=as_sent, workspace_name=workspace_name(request))
        html = html_with_preheader(rendered.html, rendered.preheader)
        # As the inbox shows them (for the sample contact).
        subject, preheader = rendered.subject, rendered.preheader
    except ValidationError:
        html = None  # the send refuses it with the reason; the checks say what they can
    warnings = template_warnings(
        template=as_sent, attribute_names=campaign_audience_attribute_names(campaign)
    )
    return template_checks(
        template=template,
        subject=subject,
        preheader=preheader,
        rendered_html=html,
        merge_warnings=warnings,
    )
