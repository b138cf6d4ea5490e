import time

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from engagex.contacts.models import MembershipStatus
from engagex.core.tenancy import current_schema
from engagex.subscriptions.models import SignupForm

# (schema, public id) -> (read at, form): the public pages' forms, kept for
# SIGNUP_FORM_CACHE_SECONDS in each process. What they read is only what the page shows and
# checks; what a sign-up stores is decided again when the cluster processes it.
_forms: dict[tuple[str, str], tuple[float, SignupForm | None]] = {}
_FORMS_MAX = 1000


def signup_form_get(*, public_id: str) -> SignupForm | None:
    """The current workspace's form with this public id, its lists loaded (None if none);
    up to SIGNUP_FORM_CACHE_SECONDS old (a burst of posts reads it once a process)."""
    if not public_id or len(public_id) > 24:
        return None
    key, now = (current_schema(), public_id), time.monotonic()
    seconds = settings.SIGNUP_FORM_CACHE_SECONDS
    cached = _forms.get(key)
    if cached is not None and now - cached[0] < seconds:
        return cached[1]
    form = SignupForm.objects.prefetch_related("groups").filter(public_id=public_id).first()
    if seconds > 0:
        if len(_forms) >= _FORMS_MAX:
            _forms.clear()
        _forms[key] = (now, form)
    return form


def signup_forms_forget() -> None:
    """Drop this process's kept forms (a form or list was just changed here)."""
    _forms.clear()


def signup_form_list() -> QuerySet[SignupForm]:
    """Forms with how many of their sign-ups wait for confirmation."""
    return SignupForm.objects.annotate(
        waiting=Count("signups", filter=Q(signups__membership__status=MembershipStatus.UNCONFIRMED))
    )
