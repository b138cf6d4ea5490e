"""Campaign lifecycle: create, audience, schedule, start (snapshot recipients), pause, cancel."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext
from psycopg import sql

from engagex.billing.services.accounts import ensure_writable
from engagex.campaigns.audience import audience_sources
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.state import (
    ENDED,
    SETTLED,
    campaign_in_flight,
    campaign_locked,
    campaign_stop,
    campaign_transition,
)
from engagex.campaigns.services.usage import (  # noqa: F401 - MONTHLY_LIMIT: re-exported
    MONTHLY_LIMIT,
    usage_reserve,
    usage_true_up,
)
from engagex.contacts.models import Contact, Membership, MembershipStatus
from engagex.contacts.services.lists import awaiting_confirmation_repair
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.formats import number
from engagex.core.tenancy import current_schema, current_tenant, workspace_language
from engagex.email_templates.services import COPY_NAME, template_version_current

logger = logging.getLogger(__name__)

S = Campaign.Status
NO_AUDIENCE = gettext_lazy("This campaign has no recipients: its lists hold no subscribed members.")
EMPTY_TEMPLATE = gettext_lazy(
    "The template “{name}” has no content: add an HTML body before sending."
)
PAST_SCHEDULE = gettext_lazy("The send time {when} is in the past: choose a time in the future.")
STILL_PAUSING = gettext_lazy(
    "It is still pausing: {count} recipients are with the email service. Resume it once "
    "it shows “Paused”, in a few seconds."
)
CONTENT_REFUSED = gettext_lazy("The template “{name}” cannot be sent as it is: {reason}")


def campaign_audience(campaign: Campaign) -> QuerySet[Contact]:
    """Subscribed contacts who are subscribed members of any included list or match any
    included segment (everyone subscribed, if none), are members of no excluded list (in
    any status) and match no excluded segment; never one still to confirm a sign-up."""
    # Never one who so far only signed up and has not confirmed (a double-opt-in form or
    # import made their contact): they have not consented yet.
    audience = Contact.objects.reachable()
    membership = Membership.objects.filter(contact_id=OuterRef("pk"))
    include = list(campaign.include_groups.values_list("pk", flat=True))
    exclude = list(campaign.exclude_groups.values_list("pk", flat=True))
    included = (
        Q(Exists(membership.filter(group_id__in=include, status=MembershipStatus.SUBSCRIBED)))
        if include
        else None
    )
    if exclude:
        audience = audience.exclude(Exists(membership.filter(group_id__in=exclude)))
    # Segments (registered from above): they add to the included lists and take away.
    for source in audience_sources():
        extra, left_out = source.include(campaign), source.exclude(campaign)
        if extra is not None:
            included = extra if included is None else included | extra
        if left_out is not None:
            # NOT IN over keys: a contact the rule leaves undecided (NULL) is not left out.
            audience = audience.exclude(pk__in=Contact.objects.filter(left_out).values("pk"))
    if included is not None:
        audience = audience.filter(included)
    return audience


def campaign_empty_reason(campaign: Campaign):
    """Why a campaign has nobody to send to (a segment that became empty, or its lists)."""
    for source in audience_sources():
        reason = source.empty_reason(campaign)
        if reason:
            return reason
    return NO_AUDIENCE


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
        name=COPY_NAME.format(name=campaign.name)[: Campaign._meta.get_field("name").max_length],
        template=campaign.template,
        subject_override=campaign.subject_override,
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        reply_to=campaign.reply_to,
        created_by=user,
    )
    copy.include_groups.set(campaign.include_groups.all())
    copy.exclude_groups.set(campaign.exclude_groups.all())
    # Its segments too: a copy without them would go to every subscribed contact.
    for source in audience_sources():
        if source.copy is not None:
            source.copy(original=campaign, copy=copy)
    return copy


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, send_at, user=None, via: str = "") -> Campaign:
    campaign = campaign_locked(campaign.pk)
    if send_at <= timezone.now():
        when = f"{timezone.localtime(send_at):%Y-%m-%d %H:%M}"
        raise ValidationError({"send_at": PAST_SCHEDULE.format(when=when)})
    campaign_check_sendable(campaign)
    ensure_writable(current_tenant())
    campaign.send_at = send_at
    campaign.started_by = user or campaign.started_by
    campaign.save(update_fields=["send_at", "started_by", "updated_at"])
    campaign = campaign_transition(campaign, S.SCHEDULED)
    _audit(user, AuditVerb.SCHEDULED, campaign, _schedule_note(send_at), via)
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    campaign = campaign_transition(campaign_locked(campaign.pk), S.DRAFT)
    campaign.send_at = None
    campaign.save(update_fields=["send_at", "updated_at"])
    return campaign


def campaign_check_sendable(campaign: Campaign) -> None:
    from engagex.domains.services import sender_address_check
    from engagex.email_templates.models import EmailTemplate
    from engagex.email_templates.services import template_content_check

    template = campaign.template
    if not (template.html_body or "").strip():
        raise ValidationError(EMPTY_TEMPLATE.format(name=template.name))
    # What the send will render (the campaign's subject included), under today's rules: a
    # template saved before a rule or a cap existed is refused here, not after the start.
    as_sent = EmailTemplate(
        name=template.name,
        subject=campaign.subject,
        preheader=template.preheader,
        html_body=template.html_body,
        text_body=template.text_body,
    )
    try:
        template_content_check(template=as_sent)
    except ValidationError as error:
        raise ValidationError(
            CONTENT_REFUSED.format(name=template.name, reason=" ".join(error.messages))
        ) from error
    sender_address_check(campaign.from_email)
    for source in audience_sources():
        source.check(campaign)


def campaign_start(*, campaign_id: int, user=None, via: str = "") -> Campaign:
    """Snapshot the audience and queue the send tasks; a second start is refused."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        if campaign.status not in {S.DRAFT, S.SCHEDULED}:
            campaign_transition(campaign, S.SENDING)  # raises the state machine's message
        awaiting_confirmation_repair()  # the flag the audience reads, right for this send
        campaign_check_sendable(campaign)
        count = _snapshot_recipients(campaign)
        if count == 0:
            raise ValidationError(campaign_empty_reason(campaign))
        usage = usage_reserve(count)
        # The template version the contents come from: later edits (and restores) of the
        # template make new versions and never reach this campaign.
        version = template_version_current(template=campaign.template, user=user)
        campaign.template_version = version
        campaign.content_subject = campaign.subject_override or version.subject
        campaign.content_preheader = version.preheader
        campaign.content_html = version.html_body
        campaign.content_text = version.text_body
        campaign.recipients_total = count
        campaign.started_at = timezone.now()
        campaign.started_by = user or campaign.started_by
        campaign.usage_month = usage.month
        campaign.usage_counted = count
        campaign.save()
        campaign_transition(campaign, S.SENDING)
        _send_round_begin(campaign)
        _audit(user, AuditVerb.SENT, campaign, _recipients_note(count), via)
    return campaign


def _send_round_begin(campaign: Campaign, tasks: int | None = None) -> None:
    """Start a new round of send tasks for a (locked) campaign, queued after the commit.

    Tasks of earlier rounds (still queued, or still finishing a batch) claim nothing more,
    so a resume or a sweep never adds to tasks that are still at work.
    """
    from engagex.campaigns.tasks import campaign_send
    from engagex.core.tasks import enqueue_tenant_task

    campaign.send_round += 1
    # Queued counts as alive until a task beats; the database's clock, as for claims.
    Campaign.objects.filter(pk=campaign.pk).update(
        send_round=campaign.send_round, heartbeat_at=Now()
    )
    for _ in range(tasks or settings.CAMPAIGN_SEND_TASKS):
        enqueue_tenant_task(campaign_send, current_schema(), campaign.pk, campaign.send_round)


def _audit(user, verb: AuditVerb, campaign: Campaign, detail: str, via: str = "") -> None:
    audit_record(user=user, verb=verb, obj=campaign, detail=f"{detail} {via}".strip())


def _snapshot_recipients(campaign: Campaign) -> int:
    """Insert one pending recipient per audience contact in a single statement."""
    audience = campaign_audience(campaign).order_by().values("pk", "email")
    query, params = audience.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} "
                "(campaign_id, contact_id, email, status, message_id, error, bounce_type) "
                "SELECT %s, a.*, 'pending', '', '', '' FROM ({}) a ORDER BY 1"
            ).format(
                sql.Identifier(CampaignRecipient._meta.db_table),
                sql.SQL(query),  # the ORM's own SQL
            ),
            [campaign.pk, *params],
        )
        return cursor.rowcount


@transaction.atomic
def campaign_pause(*, campaign: Campaign, user=None, via: str = "") -> Campaign:
    """Stop claiming batches; Pausing… until the batches with the ESP are answered."""
    campaign = campaign_stop(campaign_locked(campaign.pk), S.PAUSED)
    _audit(user, AuditVerb.PAUSED, campaign, _progress_note(campaign), via)
    return campaign


def campaign_resume(*, campaign: Campaign, user=None, via: str = "") -> Campaign:
    """Send to the recipients still waiting, with a new round of send tasks."""
    with transaction.atomic():
        campaign = campaign_locked(campaign.pk)
        if campaign.status == S.PAUSING:
            raise ValidationError(
                STILL_PAUSING.format(count=number(campaign_in_flight(campaign.pk)))
            )
        campaign = campaign_transition(campaign, S.SENDING)
        _send_round_begin(campaign)
        _audit(user, AuditVerb.RESUMED, campaign, _progress_note(campaign), via)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, user=None, via: str = "") -> Campaign:
    """Stop a campaign; recipients not yet sent stay unsent and leave the month's usage.

    Cancelling… until the batches already with the ESP are answered.
    """
    campaign = campaign_stop(campaign_locked(campaign.pk), S.CANCELLED)
    if campaign.status == S.CANCELLED:
        usage_true_up(campaign)
    _audit(user, AuditVerb.CANCELLED, campaign, _progress_note(campaign), via)
    return campaign


# Audit details are written once for every reader: in the workspace's language.
@workspace_language()
def _schedule_note(send_at) -> str:
    when = f"{timezone.localtime(send_at):%Y-%m-%d %H:%M %Z}"
    return gettext("for %(when)s") % {"when": when}


@workspace_language()
def _recipients_note(count: int) -> str:
    return ngettext("%(count)s recipient", "%(count)s recipients", count) % {"count": number(count)}


@workspace_language()
def _progress_note(campaign: Campaign) -> str:
    if not campaign.started_at:
        return ""
    sent = campaign.recipients.filter(status=CampaignRecipient.Status.SENT).count()
    flying = campaign_in_flight(campaign.pk)
    numbers = {
        "sent": number(sent),
        "total": number(campaign.recipients_total),
        "flying": number(flying),
    }
    if flying:
        return gettext("%(sent)s of %(total)s sent, %(flying)s in flight") % numbers
    return gettext("%(sent)s of %(total)s sent") % numbers


def campaign_settle(campaign_id: int) -> Campaign | None:
    """Once nothing is with the ESP: Pausing… → Paused, Cancelling… → Cancelled, and an
    ended campaign gives back to its month what it never sent. Safe to call any time."""
    to_settle = Campaign.objects.filter(pk=campaign_id, status__in=[*SETTLED, *ENDED])
    if not to_settle.exists() or campaign_in_flight(campaign_id):
        return None  # still sending (no lock taken), or batches still with the ESP
    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        # Claims wait for this lock; none is made in a settling or ended state.
        if campaign_in_flight(campaign_id):
            return None
        if campaign.status in SETTLED:
            campaign_transition(campaign, SETTLED[campaign.status])
        if campaign.status in ENDED:
            usage_true_up(campaign)
    return campaign


# A send task shows life every few seconds (sending.HEARTBEAT_SECONDS); after this much
# silence it is presumed dead (or after CAMPAIGN_STALE_CLAIM_SECONDS, if that is shorter).
TASK_SILENCE_SECONDS = 60


def task_silence_seconds() -> int:
    return max(15, min(TASK_SILENCE_SECONDS, settings.CAMPAIGN_STALE_CLAIM_SECONDS))


def campaigns_orphaned() -> QuerySet[Campaign]:
    """Campaigns being sent or settled that no live task works on, with work a task can do.

    Work: recipients waiting (while sending), batches whose claim went stale (to check with
    the ESP), or nothing left in flight (to finish, or to settle a pause or cancel).
    """
    silent = Now() - timedelta(seconds=task_silence_seconds())
    stale = Now() - timedelta(seconds=settings.CAMPAIGN_STALE_CLAIM_SECONDS)
    rows = CampaignRecipient.objects.filter(campaign_id=OuterRef("pk"))
    R = CampaignRecipient.Status
    return Campaign.objects.alias(
        waiting=Exists(rows.filter(status=R.PENDING)),
        stale_claims=Exists(rows.filter(status=R.SENDING, claimed_at__lt=stale)),
        in_flight=Exists(rows.filter(status=R.SENDING)),
    ).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=silent),
        Q(status=S.SENDING, waiting=True) | Q(stale_claims=True) | Q(in_flight=False),
        status__in=[S.SENDING, *SETTLED],
    )


def campaign_requeue(campaign_id: int) -> bool:
    """Queue a new round of send tasks for a campaign whose tasks died; True if it did."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        if not campaigns_orphaned().filter(pk=campaign_id).exists():
            return False  # a task showed life, or the campaign moved on, meanwhile
        # While settling, one task checks the stale batches with the ESP and settles.
        _send_round_begin(campaign, tasks=1 if campaign.status in SETTLED else None)
    logger.warning(
        "Campaign %s (%s) had no live send task: round %s queued",
        campaign_id,
        campaign.status,
        campaign.send_round,
    )
    return True


def campaigns_requeue_orphaned() -> int:
    """Re-queue every orphaned campaign of the current workspace (the minute schedule)."""
    return sum(campaign_requeue(pk) for pk in campaigns_orphaned().values_list("pk", flat=True))


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
