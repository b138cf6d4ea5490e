"""Sign-up forms: the console's writes (every one validated here) and a visitor's post."""

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
)
from engagex.contacts.services.contacts import (
    attributes_check,
    contact_create,
    contacts_room,
    email_is_valid,
    email_normalize,
)
from engagex.contacts.services.erasure import address_is_erased
from engagex.contacts.services.lists import (
    Consent,
    confirmations_batched,
    membership_subscribe,
)
from engagex.core.tenancy import current_schema
from engagex.subscriptions.models import (
    FieldMode,
    PendingSignup,
    Signup,
    SignupCounter,
    SignupForm,
)
from engagex.subscriptions.selectors import signup_forms_forget
from engagex.subscriptions.services.abuse import address_is_disposable
from engagex.subscriptions.services.confirmation import PLACEHOLDER_URL

logger = logging.getLogger(__name__)

LISTS_REQUIRED = gettext_lazy("Choose at least one list for people to join.")
LIST_NOT_PUBLIC = gettext_lazy(
    "“{name}” is a private list: only public lists can be offered on a sign-up form "
    "(change its visibility on the list's page first)."
)
REDIRECT_NOT_HTTP = gettext_lazy("Enter a full http:// or https:// address.")
COLOR_INVALID = gettext_lazy("Enter a colour as # and six hex digits, like #2563eb.")
BODY_WITHOUT_LINK = gettext_lazy(
    "The confirmation email must contain {placeholder}: it becomes the confirmation link."
)
CUSTOM_FIELDS_INVALID = gettext_lazy(
    "Custom attributes must be a list of {{“name”: …, “label”: …, “required”: true/false}}."
)
CUSTOM_FIELD_NAME_INVALID = gettext_lazy(
    "“{name}” cannot be an attribute name: use letters, digits and _ (up to 64)."
)
CONSENT_TEXT_REQUIRED = gettext_lazy("Write what people agree to: it is kept as their consent.")
FORM_HAS_NO_LISTS = gettext_lazy(
    "The lists of this form were deleted or made private: choose a public list, or people "
    "who open the form see that it is closed."
)

# Visitors' messages (shown on the public page, in the form's language).
EMAIL_INVALID = gettext_lazy("Enter a valid email address.")
EMAIL_DISPOSABLE = gettext_lazy(
    "Addresses of throw-away mail services cannot be used: enter an address you keep."
)
FIELD_REQUIRED = gettext_lazy("This field is required.")
FIELD_TOO_LONG = gettext_lazy("Shorten this to at most {max} characters.")
CONSENT_REQUIRED = gettext_lazy("Tick the box to agree: we cannot sign you up without it.")
CHOOSE_A_LIST = gettext_lazy("Choose at least one list.")
LANGUAGE_INVALID = gettext_lazy("Choose one of the languages offered.")

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
FIELD_MAX = 200
RESERVED_NAMES = {"email", "first_name", "last_name", "language", "lists", "consent"}


def _validate(form: SignupForm, groups: list[ContactGroup]) -> None:
    errors: dict[str, list] = {}
    if not groups:
        errors["groups"] = [LISTS_REQUIRED]
    private = [g for g in groups if not g.is_public]
    if private:
        errors["groups"] = [LIST_NOT_PUBLIC.format(name=g.name) for g in private]
    if form.redirect_url:
        parts = urlsplit(form.redirect_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["redirect_url"] = [REDIRECT_NOT_HTTP]
    if not _COLOR.fullmatch(form.accent_color or ""):
        errors["accent_color"] = [COLOR_INVALID]
    if form.confirmation_body and PLACEHOLDER_URL not in form.confirmation_body:
        errors["confirmation_body"] = [BODY_WITHOUT_LINK.format(placeholder=PLACEHOLDER_URL)]
    if not (form.consent_text or "").strip():
        errors["consent_text"] = [CONSENT_TEXT_REQUIRED]
    try:
        form.custom_fields = custom_fields_clean(form.custom_fields)
    except ValidationError as error:
        errors["custom_fields"] = error.messages
    if errors:
        raise ValidationError(errors)
    form.full_clean(exclude=["groups"])


def custom_fields_clean(value) -> list[dict]:
    """[{name, label, required}] with valid attribute names, each once."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValidationError(CUSTOM_FIELDS_INVALID)
    cleaned, seen = [], set()
    for item in value:
        name = str(item.get("name", "")).strip()
        if not _ATTRIBUTE.fullmatch(name) or name in RESERVED_NAMES or name in seen:
            raise ValidationError(CUSTOM_FIELD_NAME_INVALID.format(name=name))
        seen.add(name)
        label = str(item.get("label") or name).strip()[:120]
        cleaned.append({"name": name, "label": label, "required": bool(item.get("required"))})
    return cleaned


@transaction.atomic
def signup_form_save(*, form: SignupForm, groups) -> SignupForm:
    """Create or update a sign-up form offering `groups` (public lists only)."""
    groups = list(groups)
    _validate(form, groups)
    form.save()
    form.groups.set(groups)
    # This process shows the change at once, others within SIGNUP_FORM_CACHE_SECONDS.
    transaction.on_commit(signup_forms_forget)
    return form


def signup_form_problem(form: SignupForm) -> str:
    """Why visitors cannot use the form now ("" when they can): for the console."""
    if not signup_form_lists(form):
        return str(FORM_HAS_NO_LISTS)
    return ""


def signup_form_lists(form: SignupForm) -> list[ContactGroup]:
    """The lists a visitor can join: the form's lists that still exist and are public."""
    return [g for g in form.groups.all() if g.is_public]


# --- a visitor's post ---------------------------------------------------------------------


@dataclass
class Submission:
    """A visitor's post, cleaned: what we store if it is accepted."""

    email: str
    lists: list[ContactGroup]
    fields: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)


def submission_clean(form: SignupForm, data) -> tuple[Submission | None, dict[str, str]]:
    """Check a post against the form; return (submission, {}) or (None, {field: message})."""
    errors: dict[str, str] = {}
    email = email_normalize(str(data.get("email") or ""))
    if not email_is_valid(email):
        errors["email"] = str(EMAIL_INVALID)
    elif address_is_disposable(email):
        errors["email"] = str(EMAIL_DISPOSABLE)
    fields = {}
    for name in ("first_name", "last_name"):
        mode = getattr(form, name)
        if mode == FieldMode.OFF:
            continue
        value = str(data.get(name) or "").strip()
        if mode == FieldMode.REQUIRED and not value:
            errors[name] = str(FIELD_REQUIRED)
        elif len(value) > 100:
            errors[name] = FIELD_TOO_LONG.format(max=100)
        elif value:
            fields[name] = value
    if form.language_field != FieldMode.OFF:
        value = str(data.get("language") or "")
        if value and value not in SignupForm.Language.values:
            errors["language"] = str(LANGUAGE_INVALID)
        elif not value and form.language_field == FieldMode.REQUIRED:
            errors["language"] = str(FIELD_REQUIRED)
        elif value:
            fields["language"] = value
    attributes = {}
    for spec in form.custom_fields or []:
        name = spec["name"]
        value = str(data.get(f"attr_{name}") or "").strip()
        if spec.get("required") and not value:
            errors[f"attr_{name}"] = str(FIELD_REQUIRED)
        elif len(value) > FIELD_MAX:
            errors[f"attr_{name}"] = FIELD_TOO_LONG.format(max=FIELD_MAX)
        elif value:
            attributes[name] = value
    if not data.get("consent"):
        errors["consent"] = str(CONSENT_REQUIRED)
    offered = signup_form_lists(form)
    if form.let_choose:
        chosen = set(_list_values(data))
        lists = [g for g in offered if str(g.pk) in chosen]
        if not lists:
            errors["lists"] = str(CHOOSE_A_LIST)
    else:
        lists = offered
    if "\0" in "".join([email, *fields.values(), *attributes.values()]):
        errors.setdefault("email", str(EMAIL_INVALID))
    if errors:
        return None, errors
    return Submission(email=email, lists=lists, fields=fields, attributes=attributes), {}


def _list_values(data) -> list[str]:
    if hasattr(data, "getlist"):
        return data.getlist("lists")
    value = data.get("lists") or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --- accepted posts wait for the cluster -----------------------------------------------------

# The counter row that says "a processing task is queued": its hits are the sign-ups stored
# since the last task began (never purged: it expires in the year 9999).
PROCESS_KEY = "signups:process"


def signup_queue(
    *, form: SignupForm, submission: Submission, ip: str | None, user_agent: str
) -> None:
    """Store an accepted post for the task cluster, and queue that task unless one is
    already waiting: one statement, whatever the post holds.

    The counter row is locked until this transaction commits, so a task that is starting
    (it deletes the row first, see signups_process) waits for this row and then reads it;
    a post after that delete finds no row, counts 1 and queues the next task.
    """
    pending, counter = PendingSignup._meta.db_table, SignupCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH waiting AS (INSERT INTO {pending} "  # noqa: S608 - our tables
            "(form_id, email, fields, attributes, lists, ip, user_agent, consent_text, "
            "submitted_at, attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), 0)) "
            f"INSERT INTO {counter} AS c (key, expires, hits) VALUES (%s, '9999-12-31', 1) "
            "ON CONFLICT (key) DO UPDATE SET hits = c.hits + 1 RETURNING hits",
            [
                form.pk,
                submission.email,
                json.dumps(submission.fields),
                json.dumps(submission.attributes),
                json.dumps([g.pk for g in submission.lists]),
                ip or None,
                user_agent[:1000],
                form.consent_text,  # what the visitor saw, whatever the form says later
                PROCESS_KEY,
            ],
        )
        first = cursor.fetchone()[0] == 1
    if first:
        transaction.on_commit(partial(signups_process_enqueue, schema=current_schema()))


def signups_process_enqueue(*, schema: str) -> None:
    """Queue the processing task. If the broker fails, the sign-up is kept all the same and
    the minute sweep queues the task instead: the visitor's answer never depends on it."""
    try:
        async_task("engagex.subscriptions.tasks.signups_process_task", schema)
    except Exception:
        logger.exception("could not queue the sign-up processing of %s", schema)


def signups_process(*, seconds: float | None = None) -> bool:
    """Turn the workspace's waiting sign-ups into contacts and memberships (signup_submit),
    in batches of SIGNUP_PROCESS_BATCH, each in one transaction, for up to `seconds`
    (SIGNUP_PROCESS_SECONDS); return True when none is left waiting (False: the caller
    queues another task, so one busy workspace never holds a worker for long).

    Batches of one workspace run one at a time (a lock per workspace), so two tasks never
    deadlock over the same address. A sign-up refused for a reason of its own is dropped
    (its visitor was already answered, as everyone is); one the database failed on (a
    deadlock, a timeout) is kept for the next batch, up to MAX_ATTEMPTS.
    """
    budget = settings.SIGNUP_PROCESS_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    # From here on, a new post queues another task (see signup_queue).
    SignupCounter.objects.filter(key=PROCESS_KEY).delete()
    while time.monotonic() < deadline:
        if not _process_batch():
            return True
    return not PendingSignup.objects.exists()


MAX_ATTEMPTS = 3


def _process_batch() -> int:
    """One batch in one transaction; return how many waiting sign-ups it took."""
    # One email task per SIGNUP_CONFIRMATION_BATCH confirmations of the batch, not one each.
    with transaction.atomic(), confirmations_batched():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"engagex.signups:{current_schema()}"],
            )
        rows = list(
            PendingSignup.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("form")
            .order_by("id")[: settings.SIGNUP_PROCESS_BATCH]
        )
        if not rows:
            return 0
        lists_of: dict[int, dict[int, ContactGroup]] = {}  # read again every batch
        retry = []
        with contacts_room(adding=len(rows)):  # the plan's limit read once a batch
            for row in rows:
                if row.form_id not in lists_of:
                    lists_of[row.form_id] = {g.pk: g for g in signup_form_lists(row.form)}
                if not _process(row, offered=lists_of[row.form_id]):
                    retry.append(row.pk)
        PendingSignup.objects.filter(pk__in=[r.pk for r in rows if r.pk not in retry]).delete()
        if retry:
            PendingSignup.objects.filter(pk__in=retry).update(attempts=F("attempts") + 1)
        return len(rows)


def _process(row: PendingSignup, *, offered: dict[int, ContactGroup]) -> bool:
    """Process one waiting sign-up; False when the database failed and it should be tried
    again (not after MAX_ATTEMPTS)."""
    lists = [offered[pk] for pk in row.lists if pk in offered]
    if not lists:  # its lists were deleted or made private since the post
        return True
    submission = Submission(
        email=row.email, lists=lists, fields=row.fields, attributes=row.attributes
    )
    try:
        signup_submit(
            form=row.form,
            submission=submission,
            ip=row.ip,
            user_agent=row.user_agent,
            submitted_at=row.submitted_at,
            consent_text=row.consent_text,
        )
    except DatabaseError:  # rolled back to its savepoint: the batch goes on
        if row.attempts + 1 < MAX_ATTEMPTS:
            logger.warning("sign-up %s of form %s: retrying", row.pk, row.form_id, exc_info=True)
            return False
        logger.exception("sign-up %s of form %s failed %s times", row.pk, row.form_id, MAX_ATTEMPTS)
    except Exception:  # this sign-up's own problem: the others go on
        logger.exception("sign-up %s of form %s failed", row.pk, row.form_id)
    return True


def signups_stale(*, seconds: int) -> bool:
    """Has a sign-up waited longer than `seconds` (its task died, or was never queued)?"""
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return PendingSignup.objects.filter(submitted_at__lt=cutoff).exists()


def signup_submit(
    *,
    form: SignupForm,
    submission: Submission,
    ip: str | None,
    user_agent: str,
    submitted_at=None,
    consent_text: str | None = None,
) -> bool:
    """Sign a visitor up: the contact (created, or only its empty fields filled), a
    membership per list (unconfirmed with a confirmation email on double-opt-in lists and
    for people who unsubscribed from everything) and the form's count.

    Returns False, writing nothing, when the address may not sign up (bounced, complained,
    the plan's contact limit): the visitor is told the same as anyone else (no enumeration).
    """
    try:
        _submit(
            form=form,
            submission=submission,
            ip=ip,
            user_agent=user_agent,
            submitted_at=submitted_at or timezone.now(),
            consent_text=form.consent_text if consent_text is None else consent_text,
        )
    except _Refused:
        return False
    except ValidationError:  # refused by a service (a database error goes to the caller)
        return False
    return True


class _Refused(Exception):
    pass


@transaction.atomic
def _submit(
    *,
    form: SignupForm,
    submission: Submission,
    ip: str | None,
    user_agent: str,
    submitted_at,
    consent_text: str,
):
    contact = (
        Contact.objects.select_for_update()
        .alias(email_lower=Lower("email"))  # the unique index is on LOWER(email)
        .filter(email_lower=submission.email.lower())
        .first()
    )
    if contact is not None and contact.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
        raise _Refused
    created = contact is None
    # Someone erased at their own request may sign up again, as new consent: only by
    # confirming by email, whatever the list's opt-in.
    erased = created and address_is_erased(submission.email)
    if contact is None:
        contact = contact_create(
            email=submission.email,
            source="sign-up form",
            allow_erased=True,  # looked up just above (`erased`): not a second time
            attributes=submission.attributes,
            **submission.fields,
        )
    else:
        _fill_blanks(contact, submission)
    # Consent as given: the words and the time of the post, not of its processing.
    consent = Consent(
        source=ConsentSource.FORM, text=consent_text, ip=ip, user_agent=user_agent, at=submitted_at
    )
    memberships = [
        membership_subscribe(
            contact=contact, group=group, consent=consent, double_opt_in=True if erased else None
        )
        for group in submission.lists
    ]
    # One statement whatever happened before: a membership's latest form wins.
    Signup.objects.bulk_create(
        [
            Signup(form=form, membership=m, created_contact=created, submitted_at=submitted_at)
            for m in memberships
        ],
        update_conflicts=True,
        unique_fields=["membership"],
        update_fields=["form", "submitted_at"],
    )
    SignupForm.objects.filter(pk=form.pk).update(submissions_count=F("submissions_count") + 1)


def _fill_blanks(contact: Contact, submission: Submission) -> None:
    """An anonymous form never overwrites what a contact already has: it only fills gaps."""
    changed = []
    for name, value in submission.fields.items():
        if not getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    extra = {k: v for k, v in submission.attributes.items() if k not in (contact.attributes or {})}
    if extra:
        contact.attributes = {**(contact.attributes or {}), **extra}
        attributes_check(contact.attributes)
        changed.append("attributes")
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


def signups_forget(*, contacts) -> int:
    """Contacts are being deleted (in bulk SQL): drop their sign-up records first."""
    return Signup.objects.filter(membership__contact__in=contacts).delete()[0]
