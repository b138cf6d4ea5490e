from django.db.models import Count, Q, QuerySet

from engagex.contacts.models import MembershipStatus
from engagex.subscriptions.models import SignupForm


def signup_form_get(*, public_id: str) -> SignupForm | None:
    """The current workspace's form with this public id, its lists loaded (None if none)."""
    if not public_id or len(public_id) > 24:
        return None
    return SignupForm.objects.prefetch_related("groups").filter(public_id=public_id).first()


def signup_form_list() -> QuerySet[SignupForm]:
    """Forms with how many of their sign-ups wait for confirmation."""
    return SignupForm.objects.annotate(
        waiting=Count("signups", filter=Q(signups__membership__status=MembershipStatus.UNCONFIRMED))
    )
