"""Self-service sign-up: details → emailed code → workspace provisioned, Owner logged in."""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context

from engagex.accounts.models import SignupRequest, User
from engagex.accounts.services.login_tokens import login_token_create, login_token_path
from engagex.accounts.services.tokens import token_hash
from engagex.platform.provisioning import SLUG_MAX_LENGTH, slug_validate, tenant_create
from tenants.selectors import workspace_url

CODE_WRONG = gettext_lazy("That code is not right. Check the email and try again.")
CODE_EXPIRED = gettext_lazy("That code has expired. Start again to get a new one.")
CODE_USED = gettext_lazy("That code was already used. Start again to get a new one.")
CODE_TOO_MANY = gettext_lazy("Too many wrong codes. Start again to get a new one.")
TOO_MANY_REQUESTS = gettext_lazy(
    "Too many sign-up codes were sent to this address in the last hour. Try again later."
)
NAME_REQUIRED = gettext_lazy("Enter the organisation's name.")
PROVISIONING_FAILED = gettext_lazy(
    "Your workspace could not be created just now. Your code still works: try again in a few "
    "minutes, and contact support if this keeps happening."
)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignupResult:
    tenant: object
    owner: User
    login_url: str


def slug_suggest(name: str) -> str:
    """A free workspace slug made from an organisation name ("Acme Co." → "acme-co")."""

    base = slugify(name or "")[:SLUG_MAX_LENGTH].strip("-")
    if not base or not base[0].isalpha():
        base = f"team-{base}".strip("-")
    base = base.ljust(3, "x")
    for n in range(1, 50):
        candidate = base if n == 1 else f"{base[: SLUG_MAX_LENGTH - 4]}-{n}"
        try:
            return slug_validate(candidate)
        except ValidationError:
            continue
    return ""


SLUG_HELD = gettext_lazy(
    "Someone is signing up with “{slug}” right now. Choose another workspace address, or "
    "try again in a few minutes."
)


def signup_start(
    *, name: str, slug: str, email: str, password: str, full_name: str = ""
) -> SignupRequest:
    """Check the details, then email a 6-digit code; nothing is provisioned yet."""

    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [NAME_REQUIRED]
    email = User.objects.normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as error:
        errors["email"] = error.messages
    try:
        slug = slug_validate(slug)
    except ValidationError as error:
        errors.update(error.message_dict)
    else:
        # Someone else waiting for their code holds the slug, so nobody reaches a dead end
        # after typing a valid code.
        held = SignupRequest.objects.filter(
            slug=slug, used_at__isnull=True, expires_at__gt=timezone.now()
        ).exclude(email__iexact=email)
        if held.exists():
            errors["slug"] = [SLUG_HELD.format(slug=slug)]
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = SignupRequest.objects.filter(email__iexact=email, created_at__gte=hour_ago).count()
    if recent >= settings.SIGNUP_CODES_PER_EMAIL_PER_HOUR:
        raise ValidationError({"email": [TOO_MANY_REQUESTS]})
    code = f"{secrets.randbelow(10**6):06d}"
    signup = SignupRequest.objects.create(
        name=name,
        slug=slug,
        email=email,
        full_name=(full_name or "").strip(),
        password_hash=make_password(password),
        code_hash=token_hash(code),
        expires_at=timezone.now() + timedelta(seconds=settings.SIGNUP_CODE_TTL_SECONDS),
    )
    context = {
        "code": code,
        "signup": signup,
        "minutes": settings.SIGNUP_CODE_TTL_SECONDS // 60,
    }
    send_mail(
        _("Your EngageX sign-up code: %(code)s") % {"code": code},
        render_to_string("accounts/email/signup_code.txt", context),
        None,
        [email],
    )
    return signup


def signup_verify(*, signup_id: int, code: str) -> SignupResult:
    """Check the code (once, within its time and attempts); provision and return a login URL."""

    with transaction.atomic():
        signup = SignupRequest.objects.select_for_update().filter(pk=signup_id).first()
        if signup is None or signup.used_at:
            raise ValidationError({"code": [CODE_USED]})
        if signup.expires_at <= timezone.now():
            raise ValidationError({"code": [CODE_EXPIRED]})
        if signup.attempts >= settings.SIGNUP_CODE_MAX_ATTEMPTS:
            raise ValidationError({"code": [CODE_TOO_MANY]})
        correct = secrets.compare_digest(signup.code_hash, token_hash((code or "").strip()))
        if not correct:
            signup.attempts += 1
            signup.save(update_fields=["attempts"])
    if not correct:
        if signup.attempts >= settings.SIGNUP_CODE_MAX_ATTEMPTS:
            raise ValidationError({"code": [CODE_TOO_MANY]})
        raise ValidationError({"code": [CODE_WRONG]})

    with transaction.atomic():
        signup = SignupRequest.objects.select_for_update().get(pk=signup_id)
        if signup.used_at:
            raise ValidationError({"code": [CODE_USED]})
        signup.used_at = timezone.now()
        signup.save(update_fields=["used_at"])
        try:
            provisioned = tenant_create(
                name=signup.name,
                slug=signup.slug,
                owner_email=signup.email,
                owner_name=signup.full_name,
                send_invitation=False,
            )
        except ValidationError as error:
            if "slug" in getattr(error, "error_dict", {}):
                raise
            # E.g. no template schema yet: the operator's to fix; the customer reads no command.
            logger.error("Sign-up could not create workspace %s: %s", signup.slug, error.messages)
            raise ValidationError(PROVISIONING_FAILED) from error
        tenant = provisioned.tenant
        with schema_context(tenant.schema_name):
            owner = provisioned.owner
            owner.password = signup.password_hash
            owner.save(update_fields=["password"])
            token = login_token_create(user=owner)
        # The hash now lives only on the Owner's account.
        signup.password_hash = ""
        signup.save(update_fields=["password_hash"])
        login_url = workspace_url(tenant, login_token_path(token))
    return SignupResult(tenant=tenant, owner=owner, login_url=login_url)
