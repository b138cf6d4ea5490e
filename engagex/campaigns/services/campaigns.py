"""Campaign lifecycle: create, audience, schedule, start (snapshot recipients), pause, cancel."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.billing.limits import Limit, allowance
from engagex.billing.services import ensure_writable
from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.campaigns.services.state import campaign_locked, campaign_transition
from engagex.contacts.models import Contact, ContactStatus
from engagex.core.tenancy import current_tenant

S = Campaign.Status
NO_AUDIENCE = gettext_lazy(
    "This campaign has no recipients: its groups hold no subscribed contacts."
)
EMPTY_TEMPLATE = gettext_lazy(
    "The template “{name}” has no content: add an HTML body before sending."
)
PAST_SCHEDULE = gettext_lazy("The send time {when} is in the past: choose a time in the future.")
MONTHLY_LIMIT = gettext_lazy(
    "Monthly send limit: this campaign would send {count:,} emails, and {used:,} of this "
    "month's {limit:,} are already used. Reduce the audience, wait until next month, or ask "
    "for a higher plan on the Billing page."
)
ONLY_DRAFTS = gettext_lazy("Only draft campaigns can be edited; duplicate this one to change it.")


def campaign_audience(campaign: Campaign) -> QuerySet[Contact]:
    """Subscribed contacts in any included group (all, if none) and in no excluded group."""
    audience = Contact.objects.filter(status=ContactStatus.SUBSCRIBED)
    membership = Contact.groups.through.objects.filter(contact_id=OuterRef("pk"))
    include = list(campaign.include_groups.values_list("pk", flat=True))
    exclude = list(campaign.exclude_groups.values_list("pk", flat=True))
    if include:
        audience = audience.filter(Exists(membership.filter(contactgroup_id__in=include)))
    if exclude:
        audience = audience.exclude(Exists(membership.filter(contactgroup_id__in=exclude)))
    return audience


DELETE_REFUSED = gettext_lazy(
    "Only drafts and campaigns cancelled before anything was sent can be deleted: a campaign "
    "that sent mail keeps its recipients so later bounces and complaints still suppress them."
)


def campaign_deletable(campaign: Campaign) -> bool:
    if campaign.status == S.DRAFT:
        return True
    return campaign.status == S.CANCELLED and not campaign.recipients.filter(status="sent").exists()


def campaign_delete(*, campaign: Campaign) -> None:
    if not campaign_deletable(campaign):
        raise ValidationError(DELETE_REFUSED)
    campaign.delete()


def campaign_duplicate(*, campaign: Campaign, user=None) -> Campaign:
    copy = Campaign.objects.create(
        name=f"Copy of {campaign.name}"[:150],
        template=campaign.template,
        subject_override=campaign.subject_override,
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        reply_to=campaign.reply_to,
        created_by=user,
    )
    copy.include_groups.set(campaign.include_groups.all())
    copy.exclude_groups.set(campaign.exclude_groups.all())
    return copy


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, send_at) -> Campaign:
    campaign = campaign_locked(campaign.pk)
    if send_at <= timezone.now():
        when = f"{timezone.localtime(send_at):%Y-%m-%d %H:%M}"
        raise ValidationError({"send_at": PAST_SCHEDULE.format(when=when)})
    campaign_check_sendable(campaign)
    ensure_writable(current_tenant())
    campaign.send_at = send_at
    campaign.save(update_fields=["send_at", "updated_at"])
    return campaign_transition(campaign, S.SCHEDULED)


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    campaign = campaign_transition(campaign_locked(campaign.pk), S.DRAFT)
    campaign.send_at = None
    campaign.save(update_fields=["send_at", "updated_at"])
    return campaign


def campaign_check_sendable(campaign: Campaign) -> None:
    from engagex.domains.services import sender_address_check

    if not (campaign.template.html_body or "").strip():
        raise ValidationError(EMPTY_TEMPLATE.format(name=campaign.template.name))
    sender_address_check(campaign.from_email)


def campaign_start(*, campaign_id: int) -> Campaign:
    """Snapshot the audience and queue the send tasks; a second start is refused."""
    from engagex.campaigns.tasks import campaign_send
    from engagex.core.tasks import enqueue_tenant_task

    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        if campaign.status not in {S.DRAFT, S.SCHEDULED}:
            campaign_transition(campaign, S.SENDING)  # raises the state machine's message
        campaign_check_sendable(campaign)
        count = _snapshot_recipients(campaign)
        if count == 0:
            raise ValidationError(NO_AUDIENCE)
        usage_reserve(count)
        template = campaign.template
        campaign.content_subject = campaign.subject
        campaign.content_preheader = template.preheader
        campaign.content_html = template.html_body
        campaign.content_text = template.text_body
        campaign.recipients_total = count
        campaign.started_at = timezone.now()
        campaign.save()
        campaign_transition(campaign, S.SENDING)
        for _ in range(settings.CAMPAIGN_SEND_TASKS):
            enqueue_tenant_task(campaign_send, connection.schema_name, campaign.pk)
    return campaign


def _snapshot_recipients(campaign: Campaign) -> int:
    """Insert one pending recipient per audience contact in a single statement."""
    audience = campaign_audience(campaign).order_by().values("pk", "email")
    sql, params = audience.query.sql_with_params()
    table = CampaignRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608
            "(campaign_id, contact_id, email, status, message_id, error, bounce_type) "
            f"SELECT %s, a.*, 'pending', '', '', '' FROM ({sql}) a ORDER BY 1",
            [campaign.pk, *params],
        )
        return cursor.rowcount


def usage_reserve(count: int, *, today: date | None = None) -> MonthlySendUsage:
    """Count `count` sends against this month, or refuse if the limit would be passed."""
    month = (today or timezone.now().date()).replace(day=1)
    usage, _ = MonthlySendUsage.objects.select_for_update().get_or_create(month=month)
    tenant = current_tenant()
    ensure_writable(tenant)
    limit = allowance(Limit.MONTHLY_SENDS, tenant)
    if limit is not None and usage.sends + count > limit:
        raise ValidationError(MONTHLY_LIMIT.format(count=count, used=usage.sends, limit=limit))
    usage.sends += count
    usage.save(update_fields=["sends"])
    return usage


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    return campaign_transition(campaign_locked(campaign.pk), S.PAUSED)


def campaign_resume(*, campaign: Campaign) -> Campaign:
    from engagex.campaigns.tasks import campaign_send
    from engagex.core.tasks import enqueue_tenant_task

    with transaction.atomic():
        campaign = campaign_transition(campaign_locked(campaign.pk), S.SENDING)
        for _ in range(settings.CAMPAIGN_SEND_TASKS):
            enqueue_tenant_task(campaign_send, connection.schema_name, campaign.pk)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stop a campaign; recipients not yet sent stay unsent."""
    return campaign_transition(campaign_locked(campaign.pk), S.CANCELLED)


def campaigns_start_due() -> int:
    """Start every scheduled campaign whose time has come (run by the schedule)."""
    started = 0
    due = Campaign.objects.filter(status=S.SCHEDULED, send_at__lte=timezone.now())
    for campaign_id in due.values_list("pk", flat=True):
        try:
            campaign_start(campaign_id=campaign_id)
            started += 1
        except ValidationError as error:
            with transaction.atomic():
                campaign = campaign_locked(campaign_id)
                if campaign.status == S.SCHEDULED:
                    campaign_transition(campaign, S.SENDING)
                    campaign_transition(campaign, S.FAILED, reason=" ".join(error.messages))
    return started
