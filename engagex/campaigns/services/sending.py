"""Send a campaign in batches of up to 1,000 recipients per ESP request.

A batch is claimed (pending → sending, with an attempt id) and committed before the request,
then marked sent or failed. Several tasks can work on one campaign: claims use
`FOR UPDATE SKIP LOCKED`, so no recipient is in two batches. A batch left in `sending` by a
worker that died is checked with the ESP (by its attempt id) before anything is resent.
A task keeps up to CAMPAIGN_REQUESTS_IN_FLIGHT batches with the ESP at once.

The claim and the building of its message happen in one transaction that first takes a KEY
SHARE lock on the campaign row and checks that the campaign is `sending` in the task's
round: a pause or cancel (which locks the row FOR UPDATE) waits for claims under way, and no
claim starts after it. A claimed batch is handed to the ESP as soon as that transaction
commits, so "in flight" (recipients in `sending`) is exactly what the ESP may still accept.
A task shows life on the campaign row (`heartbeat_at`) every few seconds; the sweeper
re-queues campaigns whose tasks fell silent.
"""

import logging
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr

import orjson
from anymail.exceptions import AnymailAPIError, AnymailError
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext, gettext_lazy
from psycopg import sql

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_settle
from engagex.campaigns.services.esp import attempt_was_accepted
from engagex.campaigns.services.state import (
    SETTLED,
    campaign_locked,
    campaign_stop,
    campaign_transition,
)
from engagex.campaigns.services.unsubscribe import (
    unsubscribe_mailto,
    unsubscribe_token,
    unsubscribe_url,
    web_version_url,
)
from engagex.campaigns.services.usage import UNCONFIRMED_MESSAGE_ID, usage_true_up
from engagex.contacts.models import Contact, ContactStatus
from engagex.contacts.services.tokens import preferences_url_for
from engagex.core.ids import id_from_text
from engagex.core.tenancy import current_schema, current_tenant, workspace_language
from engagex.email_templates.sandbox import (
    MERGE_FIELD_FORMAT,
    MergeTemplate,
    RenderError,
    merge_compile,
    merge_values,
)
from engagex.email_templates.services import html_to_text, html_with_preheader, merge_contact
from tenants.services import daily_sends_add

logger = logging.getLogger(__name__)
S = Campaign.Status
R = CampaignRecipient.Status
RETRY_DELAYS = (1, 2, 4, 8, 16)
HEARTBEAT_SECONDS = 5
FOOTER_SENDER = gettext_lazy("You receive this email from %(workspace)s.")
FOOTER_UNSUBSCRIBE = gettext_lazy("Unsubscribe")


def unsubscribe_footer_html() -> str:
    """The visible unsubscribe link added to an email that has none (in the active language)."""
    sender = escape(str(FOOTER_SENDER)).replace("%(workspace)s", "{{ workspace.name }}")
    return (
        '<p style="font-size:12px;color:#64748b;text-align:center;margin-top:32px">'
        f'{sender} <a href="{{{{ unsubscribe_url }}}}" style="color:#64748b">'
        f"{escape(str(FOOTER_UNSUBSCRIBE))}</a></p>"
    )


def unsubscribe_footer_text() -> str:
    return f"\n\n--\n{FOOTER_UNSUBSCRIBE}: {{{{ unsubscribe_url }}}}\n"


SKIPPED_UNSUBSCRIBED = gettext_lazy(
    "Not sent: the contact was no longer subscribed when its batch was sent."
)
SKIPPED_DELETED = gettext_lazy("Not sent: the contact was deleted before its batch was sent.")
UNCONFIRMED = gettext_lazy(
    "Not resent: a worker stopped mid-request and the email service could not confirm the send."
)
NOT_RENDERED = gettext_lazy("Not sent: the email could not be made for this contact. {reason}")
CONTENT_REFUSED = gettext_lazy("The content cannot be sent: {reason}")
NOT_BUILT = gettext_lazy(
    "The email service cannot take this message (an address or header it refuses); "
    "nothing was sent. Check the from and reply-to addresses."
)
ESP_FAILING = gettext_lazy("The email service kept failing ({reason}). Resume later.")
ESP_KEY_REFUSED = gettext_lazy(
    "The email service refused the API key ({reason}): the platform's administrator has to fix "
    "it before campaigns can send."
)


@dataclass
class PreparedCampaign:
    campaign: Campaign
    schema: str
    subject: MergeTemplate
    html: MergeTemplate
    text: MergeTemplate
    from_email: str
    reply_to: list[str]
    tenant_id: int
    # Signing a preference link costs ~10 µs a recipient: only for content that has one.
    uses_preferences: bool = True

    @property
    def templates(self) -> list[MergeTemplate]:
        return [t for t in (self.subject, self.html, self.text) if t.fields]


def campaign_prepare(campaign: Campaign, tenant=None) -> PreparedCampaign:
    """Compile the campaign's content once: shared parts rendered, per-recipient parts as fields."""
    tenant = tenant or current_tenant()
    workspace = {"name": tenant.name}
    html = campaign.content_html
    # The footer speaks the workspace's language, whoever renders it (a task, a web version).
    with translation.override(tenant.default_language or None):
        if "unsubscribe_url" not in html:
            html += unsubscribe_footer_html()
        text = campaign.content_text or html_to_text(campaign.content_html)
        if "unsubscribe_url" not in text:
            text += unsubscribe_footer_text()
    if campaign.content_preheader:
        html = html_with_preheader(html, campaign.content_preheader)
    shared = {"workspace": workspace}
    return PreparedCampaign(
        campaign=campaign,
        schema=current_schema(),
        subject=merge_compile(
            campaign.content_subject, prefix="s", shared_context=shared, html=False
        ),
        html=merge_compile(html, prefix="h", shared_context=shared, html=True),
        text=merge_compile(text, prefix="t", shared_context=shared, html=False),
        from_email=formataddr((campaign.from_name, campaign.from_email)),
        reply_to=[campaign.reply_to] if campaign.reply_to else [],
        tenant_id=tenant.pk,
        uses_preferences="preferences_url" in f"{campaign.content_subject}{html}{text}",
    )


def campaign_send_some(
    *, campaign_id: int, max_batches: int = 50, send_round: int | None = None
) -> bool:
    """Send up to `max_batches` batches; return True while work remains for another task.

    Up to CAMPAIGN_REQUESTS_IN_FLIGHT requests are with the ESP at once (each in a thread)
    while the next batch is claimed and built, so ESP latency does not idle the worker.
    Every batch handed to the ESP is settled before this returns, whatever stops it.
    `send_round` is the round the task was queued for (None: the current one).
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    send_round = campaign.send_round if send_round is None else send_round
    if campaign.status in SETTLED:
        # Pausing or cancelling with no live task (the sweeper sent this one): check the
        # batches a dead worker left with the ESP, then settle.
        _reconcile_stale(campaign_id)
        campaign_settle(campaign_id)
        return False
    if campaign.status != S.SENDING or campaign.send_round != send_round:
        return False
    try:
        prepared = campaign_prepare(campaign)
    except ValidationError as error:  # content saved before a rule (or cap) existed
        _stop(campaign_id, S.FAILED, CONTENT_REFUSED.format(reason=" ".join(error.messages)))
        return False
    beat = Heartbeat(campaign_id, send_round)
    in_flight: deque[InFlight] = deque()
    going = True
    with ThreadPoolExecutor(max_workers=settings.CAMPAIGN_REQUESTS_IN_FLIGHT) as pool:
        try:
            for _ in range(max_batches):
                beat()
                sending = _claim(prepared, send_round, settings.CAMPAIGN_BATCH_SIZE)
                if sending is NOT_SENDING:
                    going = False  # paused, cancelled or a newer round: stop claiming
                    break
                if sending is NOTHING_PENDING:
                    going = _settle_all(prepared, in_flight, beat)
                    if not going:
                        break
                    _reconcile_stale(campaign_id, beat)
                    if _claim_exists(campaign_id):
                        continue
                    if not _finish_if_done(campaign_id):
                        # Only batches of other (maybe dead) tasks are left in flight: let
                        # the sweeper see at once that nobody here waits for them.
                        beat.clear()
                    going = False
                    break
                if sending is NOBODY_TO_SEND:
                    continue
                if isinstance(sending, Stop):
                    _stop(campaign_id, S.FAILED, sending.reason)
                    going = False
                    break
                sending.result = pool.submit(_deliver, sending.message)
                in_flight.append(sending)
                while len(in_flight) >= settings.CAMPAIGN_REQUESTS_IN_FLIGHT:
                    if not _settle(prepared, in_flight.popleft(), beat):
                        going = False
                if not going:
                    break
        finally:
            if not _settle_all(prepared, in_flight, beat):
                going = False
            campaign_settle(campaign_id)  # the last batch of a pause or cancel completes it
    return going


class Heartbeat:
    """Show, on the campaign row, that a task of `send_round` is alive (throttled)."""

    def __init__(self, campaign_id: int, send_round: int):
        self.rows = Campaign.objects.filter(pk=campaign_id, send_round=send_round)
        self.last = float("-inf")

    def __call__(self) -> None:
        if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.rows.update(heartbeat_at=Now())  # the database's clock, as for claims
            self.last = time.monotonic()

    def clear(self) -> None:
        self.rows.update(heartbeat_at=None)


NOT_SENDING = object()  # the campaign is not sending in this task's round
NOTHING_PENDING = object()
NOBODY_TO_SEND = object()  # every recipient of the batch was skipped


@dataclass
class Stop:
    """The batch could not be built: the campaign fails with `reason`."""

    reason: str


@dataclass
class InFlight:
    """A claimed batch handed to the ESP: its recipients and the request's outcome."""

    ids: list[int]
    emails: list[str]
    message: AnymailMessage
    result: Future | None = None


def _claim(prepared: PreparedCampaign, send_round: int, size: int):
    """Claim up to `size` pending recipients and build their message, in one transaction.

    Refuses (NOT_SENDING) unless the campaign is sending in `send_round`: the KEY SHARE lock
    makes the check and the claim one step against a pause or cancel. Returns the batch to
    hand to the ESP, NOTHING_PENDING, NOBODY_TO_SEND or a Stop.
    """
    attempt = uuid.uuid4()
    names = {
        "table": sql.Identifier(CampaignRecipient._meta.db_table),
        "contacts": sql.Identifier(Contact._meta.db_table),
        "campaigns": sql.Identifier(Campaign._meta.db_table),
    }
    campaign_id = prepared.campaign.pk
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT status, send_round FROM {campaigns} WHERE id = %s FOR KEY SHARE"
            ).format(**names),
            [campaign_id],
        )
        if cursor.fetchone() != (S.SENDING, send_round):
            return NOT_SENDING
        cursor.execute(
            sql.SQL("""
            WITH claimed AS (
                UPDATE {table} r SET status = 'sending', attempt = %(attempt)s, claimed_at = now()
                FROM (
                    SELECT id FROM {table}
                    WHERE campaign_id = %(campaign)s AND status = 'pending'
                    ORDER BY id LIMIT %(size)s FOR UPDATE SKIP LOCKED
                ) pick
                WHERE r.id = pick.id
                RETURNING r.id, r.contact_id, r.email
            )
            SELECT claimed.id, claimed.email, c.id, c.status, c.email, c.first_name,
                c.last_name, c.phone, c.language, c.attributes::text
            FROM claimed LEFT JOIN {contacts} c ON c.id = claimed.contact_id
            ORDER BY claimed.id
            """).format(**names),
            {"attempt": attempt, "campaign": campaign_id, "size": size},
        )
        rows = cursor.fetchall()
        if not rows:
            return NOTHING_PENDING
        return _prepare_batch(prepared, attempt, rows)


def _claim_exists(campaign_id: int) -> bool:
    return CampaignRecipient.objects.filter(campaign_id=campaign_id, status=R.PENDING).exists()


def _prepare_batch(prepared: PreparedCampaign, attempt, rows):
    """Settle the claimed recipients who can't be sent; build the message for the others.

    Returns the batch to hand to the ESP, NOBODY_TO_SEND, or a Stop.
    """
    sendable, skipped = [], []
    for recipient_id, email, contact_id, status, *contact in rows:
        if contact_id is None:
            skipped.append((recipient_id, str(SKIPPED_DELETED)))
        elif status != ContactStatus.SUBSCRIBED:
            skipped.append((recipient_id, str(SKIPPED_UNSUBSCRIBED)))
        else:
            contact_email, first_name, last_name, phone, language, attributes = contact
            merge = merge_contact(
                email=contact_email,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                language=language,
                attributes=orjson.loads(attributes) if attributes else None,
            )
            token = unsubscribe_token(
                schema=prepared.schema, contact_id=contact_id, campaign_id=prepared.campaign.pk
            )
            context = recipient_context(
                merge,
                token,
                schema=prepared.schema,
                contact_id=contact_id,
                preferences=prepared.uses_preferences,
            )
            try:
                values = merge_values(prepared.templates, context)
            except RenderError as error:  # this contact's data passes the render caps
                reason = NOT_RENDERED.format(reason=" ".join(error.messages))
                skipped.append((recipient_id, reason[:2000]))
                continue
            sendable.append((recipient_id, token, context, values, email))
    if skipped:
        _mark_failed([rid for rid, _ in skipped], reason=skipped[0][1], per_row=dict(skipped))
    if not sendable:
        return NOBODY_TO_SEND
    ids = [rid for rid, *_ in sendable]
    try:
        message = _build_message(prepared, attempt, sendable)
    except AnymailError:  # e.g. an address Anymail cannot parse: no retry helps
        logger.exception("Campaign %s: a batch could not be built", prepared.campaign.pk)
        _mark_failed(ids, reason=str(NOT_BUILT))
        return Stop(str(NOT_BUILT))
    return InFlight(ids=ids, emails=[email for *_, email in sendable], message=message)


def _deliver(message: AnymailMessage):
    """Send one batch (in a pool thread: no database here); retry 429/5xx with backoff.

    Returns ("sent", None), or ("transient" | "permanent" | "refused", error).
    """
    for delay in (*RETRY_DELAYS, None):
        try:
            message.send()
            return "sent", None
        except AnymailAPIError as error:
            status = getattr(error, "status_code", None)
            transient = status is None or status == 429 or status >= 500
            if transient and delay is not None:
                time.sleep(_retry_after(error, delay))
                continue
            return ("transient" if transient else "permanent"), error
        except AnymailError as error:  # refused before any request was sent
            return "refused", error
    raise AssertionError("unreachable")  # pragma: no cover


def _settle_all(prepared: PreparedCampaign, in_flight: deque, beat: Heartbeat) -> bool:
    going = True
    while in_flight:
        going = _settle(prepared, in_flight.popleft(), beat) and going
    return going


def _settle(prepared: PreparedCampaign, sending: InFlight, beat: Heartbeat) -> bool:
    """Record a batch's outcome; return False when the campaign has to stop."""
    if sending.result is None:  # never: a batch is handed to the pool before it is in flight
        raise RuntimeError("A batch was settled before it was sent")
    while True:
        try:
            outcome, error = sending.result.result(timeout=HEARTBEAT_SECONDS)
            break
        except TimeoutError:  # a slow or retrying ESP: still alive
            beat()
    campaign_id = prepared.campaign.pk
    if outcome == "sent":
        statuses = sending.message.anymail_status.recipients
        _mark_sent(
            prepared.tenant_id,
            sending.ids,
            [
                getattr(statuses.get(email.lower()) or statuses.get(email), "message_id", "") or ""
                for email in sending.emails
            ],
        )
        return True
    if outcome == "refused":
        logger.error("Campaign %s: the ESP backend refused a batch: %s", campaign_id, error)
        _mark_failed(sending.ids, reason=str(NOT_BUILT))
        _stop(campaign_id, S.FAILED, str(NOT_BUILT))
        return False
    reason = _error_text(error)
    if outcome == "transient":
        _release(sending.ids)
        _stop(campaign_id, S.PAUSED, ESP_FAILING.format(reason=reason))
        return False
    _mark_failed(sending.ids, reason=reason)
    if getattr(error, "status_code", None) in (401, 403):
        _stop(campaign_id, S.FAILED, ESP_KEY_REFUSED.format(reason=reason))
        return False
    return True


def _build_message(prepared: PreparedCampaign, attempt, sendable) -> AnymailMessage:
    campaign = prepared.campaign
    merge_data, metadata, headers = {}, {}, {}
    for recipient_id, token, context, values, email in sendable:
        url = context["unsubscribe_url"]
        merge_data[email] = values
        metadata[email] = {
            "schema": prepared.schema,
            "campaign": str(campaign.pk),
            "recipient": str(recipient_id),
        }
        headers[email] = {
            "List-Unsubscribe": f"<{url}>, <{unsubscribe_mailto(token)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = AnymailMessage(
        subject=prepared.subject.text,
        body=prepared.text.text,
        from_email=prepared.from_email,
        to=[email for *_, email in sendable],
        reply_to=prepared.reply_to,
    )
    message.attach_alternative(prepared.html.text, "text/html")
    message.merge_data = merge_data
    message.merge_global_data = {}
    message.merge_metadata = metadata
    message.merge_headers = headers
    message.metadata = {
        "engagex_attempt": str(attempt),
        "schema": prepared.schema,
        "campaign": str(campaign.pk),
    }
    message.esp_extra = {"merge_field_format": MERGE_FIELD_FORMAT}
    return message


def recipient_context(
    merge: dict, token: str, *, schema: str, contact_id: int, preferences: bool = True
) -> dict:
    """What one recipient's merge tags see (the email and its web version alike).

    `merge` is the contact as `merge_contact` shapes it; `token` its unsubscribe token;
    `preferences`: whether the content links the preference centre.
    """
    context = {
        "contact": merge,
        "unsubscribe_url": unsubscribe_url(token),
        "view_in_browser_url": web_version_url(token),
        # Until the preference centre exists (issue 16) the link opens the unsubscribe
        # page, which changes nothing on GET: a working, harmless stand-in.
        "preferences_url": unsubscribe_url(token),
    }
    if preferences:
        context["preferences_url"] = preferences_url_for(schema=schema, contact_id=contact_id)
    return context


def _retry_after(error, default: float) -> float:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", {}) or {}
    for name in ("Retry-After", "X-RateLimit-Reset"):
        value = headers.get(name)
        if (seconds := id_from_text(str(value or ""))) is not None:
            if name == "X-RateLimit-Reset" and seconds > 10**9:
                seconds = seconds - int(time.time())
            return max(0, min(seconds, 30))
    return default


def _error_text(error) -> str:
    status = getattr(error, "status_code", None)
    response = getattr(error, "response", None)
    detail = ""
    if response is not None:
        try:
            detail = "; ".join(e.get("message", "") for e in response.json().get("errors", []))
        except ValueError:
            detail = (response.text or "")[:300]
    return f"HTTP {status}: {detail}".strip() if status else str(error)[:300]


def _mark_sent(tenant_id: int, ids: list[int], message_ids: list[str]) -> None:
    table = sql.Identifier(CampaignRecipient._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            UPDATE {} r SET status = 'sent', sent_at = now(), message_id = v.message_id
            FROM unnest(%s::bigint[], %s::text[]) AS v(id, message_id)
            WHERE r.id = v.id AND r.status = 'sending'
            """).format(table),
            [ids, message_ids],
        )
        # The platform dashboard's per-day volume, in the same transaction as the outcome.
        daily_sends_add(tenant_id=tenant_id, sends=cursor.rowcount)


def _mark_failed(ids: list[int], *, reason: str, per_row: dict | None = None) -> None:
    if per_row:
        for rid, why in per_row.items():
            CampaignRecipient.objects.filter(pk=rid).update(status=R.FAILED, error=why)
        return
    CampaignRecipient.objects.filter(pk__in=ids).update(status=R.FAILED, error=reason[:2000])


def _release(ids: list[int]) -> None:
    CampaignRecipient.objects.filter(pk__in=ids, status=R.SENDING).update(
        status=R.PENDING, attempt=None, claimed_at=None
    )


def _stop(campaign_id: int, target: str, reason: str) -> None:
    """Pause (through Pausing… while other batches are in flight) or fail the campaign."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        if campaign.status == S.SENDING:
            campaign_stop(campaign, target, reason=reason)
    logger.warning("Campaign %s stopped (%s): %s", campaign_id, target, reason)


def _reconcile_stale(campaign_id: int, beat: Heartbeat | None = None) -> None:
    """Settle batches a dead worker left in `sending`: ask the ESP before resending."""
    cutoff = timezone.now() - timedelta(seconds=settings.CAMPAIGN_STALE_CLAIM_SECONDS)
    stale = (
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, status=R.SENDING, claimed_at__lt=cutoff
        )
        .values_list("attempt", flat=True)
        .distinct()
    )
    for attempt in list(stale):
        if beat is not None:
            beat()
        rows = CampaignRecipient.objects.filter(
            campaign_id=campaign_id, attempt=attempt, status=R.SENDING
        )
        accepted = attempt_was_accepted(attempt)
        if accepted is True:
            rows.update(status=R.SENT, sent_at=timezone.now(), message_id="reconciled")
        elif accepted is False:
            rows.update(status=R.PENDING, attempt=None, claimed_at=None)
        else:  # may have been sent: not resent, and it stays counted in the month's usage
            rows.update(status=R.FAILED, error=str(UNCONFIRMED), message_id=UNCONFIRMED_MESSAGE_ID)


def _finish_if_done(campaign_id: int) -> bool:
    """Mark the campaign sent once no recipient is pending or in flight; False while busy."""
    busy = CampaignRecipient.objects.filter(
        campaign_id=campaign_id, status__in=[R.PENDING, R.SENDING]
    ).exists()
    if busy:
        return False
    with transaction.atomic():
        campaign = campaign_locked(campaign_id)
        if campaign.status != S.SENDING:
            return True
        campaign_transition(campaign, S.SENT)
        usage_true_up(campaign)
    transaction.on_commit(lambda: _notify_sent(campaign))
    return True


@workspace_language()
def _notify_sent(campaign: Campaign) -> None:
    from engagex.campaigns.services.state import campaign_starter
    from engagex.notifications.services import notification_send

    starter = campaign_starter(campaign)
    if starter is None:
        return
    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    from django.urls import reverse

    notification_send(
        recipients=[starter],
        link=reverse(
            "admin:campaigns_campaign_change", args=[campaign.pk], urlconf="config.urls_tenants"
        ),
        title=gettext("Campaign sent: %(name)s") % {"name": campaign.name},
        body=gettext("%(sent)s sent, %(failed)s not sent.")
        % {
            "sent": number_format(counts.get(R.SENT, 0), force_grouping=True),
            "failed": number_format(counts.get(R.FAILED, 0), force_grouping=True),
        },
        level="success",
        email=True,
    )
