"""Sign-up forms: the console's writes (every one validated here) and a visitor's post."""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
)
from engagex.contacts.services.contacts import (
    attributes_check,
    contact_create,
    email_is_valid,
    email_normalize,
)
from engagex.contacts.services.erasure import address_is_erased
from engagex.contacts.services.lists import Consent, membership_subscribe
from engagex.subscriptions.models import FieldMode, Signup, SignupForm
from engagex.subscriptions.services.abuse import address_is_disposable
from engagex.subscriptions.services.confirmation import PLACEHOLDER_URL

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


def signup_submit(
    *, form: SignupForm, submission: Submission, ip: str | None, user_agent: str
) -> bool:
    """Sign a visitor up: the contact (created, or only its empty fields filled), a
    membership per list (unconfirmed with a confirmation email on double-opt-in lists and
    for people who unsubscribed from everything) and the form's count.

    Returns False, writing nothing, when the address may not sign up (bounced, complained,
    the plan's contact limit): the visitor is told the same as anyone else (no enumeration).
    """
    try:
        _submit(form=form, submission=submission, ip=ip, user_agent=user_agent)
    except _Refused:
        return False
    except (ValidationError, IntegrityError):  # refused by a service, or the same address now
        return False
    return True


class _Refused(Exception):
    pass


@transaction.atomic
def _submit(*, form: SignupForm, submission: Submission, ip: str | None, user_agent: str):
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
    consent = Consent(
        source=ConsentSource.FORM, text=form.consent_text, ip=ip, user_agent=user_agent
    )
    now = timezone.now()
    memberships = [
        membership_subscribe(
            contact=contact, group=group, consent=consent, double_opt_in=True if erased else None
        )
        for group in submission.lists
    ]
    # One statement whatever happened before: a membership's latest form wins.
    Signup.objects.bulk_create(
        [
            Signup(form=form, membership=m, created_contact=created, submitted_at=now)
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
