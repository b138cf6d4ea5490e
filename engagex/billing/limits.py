"""Every plan limit, checked in one place. Other apps call `ensure_within` before they add.

Billing sits below the apps whose rows it counts, so it never imports them: each app
registers the counter of its limit from its `AppConfig.ready()` (`register_usage`).
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from engagex.billing.services.accounts import billing_account_get, ensure_writable
from engagex.core.formats import number
from engagex.core.tenancy import current_schema, current_tenant


class Limit(models.TextChoices):
    CONTACTS = "contacts", _("contacts")
    MONTHLY_SENDS = "monthly_sends", _("emails this month")
    SEATS = "seats", _("team seats")
    SENDER_DOMAINS = "sender_domains", _("sender domains")


PLAN_FIELD = {
    Limit.CONTACTS: "contact_limit",
    Limit.MONTHLY_SENDS: "monthly_send_limit",
    Limit.SEATS: "seat_limit",
    Limit.SENDER_DOMAINS: "sender_domain_limit",
}

LIMIT_REACHED = _(
    "Your %(plan)s plan allows %(cap)s %(limit)s and this workspace uses %(used)s, so "
    "%(adding)s more cannot be added. An Owner can upgrade on the Billing page."
)


class LimitExceeded(ValidationError):
    """Adding would pass a plan limit; the message names the limit and how to upgrade."""


# Limit → how much of it the current workspace uses, run inside its schema.
_COUNTERS: dict[str, Callable[[], int]] = {}
# Limit → a cheap number never below that usage (e.g. the span of the ids), if any.
_BOUNDS: dict[str, Callable[[], int]] = {}


def register_usage(
    limit: Limit, counter: Callable[[], int], *, bound: Callable[[], int] | None = None
) -> None:
    """Count `limit` with `counter` (called inside the workspace's schema); one per limit.

    `bound`, if given, returns at once a number never below what `counter` would return
    (a count of rows that costs as much as the table is large, against an index look-up):
    while it leaves room for what is added, the exact count is not needed; near the limit
    the counter decides, so the limit stays exact.
    """
    _COUNTERS[limit] = counter
    if bound is not None:
        _BOUNDS[limit] = bound
    else:
        _BOUNDS.pop(limit, None)


def _account(tenant=None):
    return billing_account_get(tenant or current_tenant())


def allowance(limit: Limit, tenant=None) -> int | None:
    """The workspace's allowance for `limit` on its plan; None means unlimited."""
    return getattr(_account(tenant).plan, PLAN_FIELD[limit])


def certainly_room(limit: Limit, *, adding: int, tenant=None) -> bool:
    """True when `adding` more fit within the plan's `limit` by its cheap bound alone (or it
    is unlimited); False means only an exact count can tell."""
    cap = allowance(limit, tenant)
    if cap is None:
        return True
    bound = _BOUNDS.get(limit)
    return bound is not None and bound() + adding <= cap


def usage(limit: Limit) -> int:
    """How much of `limit` the current workspace uses now (run inside its schema)."""
    try:
        counter = _COUNTERS[limit]
    except KeyError:
        raise ImproperlyConfigured(f"No usage counter is registered for {limit!r}") from None
    return counter()


def limit_serialise(limit: Limit) -> None:
    """Hold the workspace's `limit` until the transaction ends, so count-then-add is exact.

    Two requests adding the last contact (or seat, or domain) at once would both count one
    short and both add. Each adder takes this lock before counting; the second one counts
    after the first has committed. Outside a transaction there is nothing to hold it for.
    """
    if not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"engagex.limit:{current_schema()}:{limit.value}"],
        )


def ensure_within(limit: Limit, *, adding: int = 1, tenant=None, used: int | None = None) -> None:
    """Raise if the workspace is read-only, or adding `adding` would pass the plan's limit."""
    tenant = tenant or current_tenant()
    account = _account(tenant)
    ensure_writable(tenant, account)
    cap = getattr(account.plan, PLAN_FIELD[limit])
    if cap is None:
        return
    if used is None:
        limit_serialise(limit)
        bound = _BOUNDS.get(limit)
        if bound is not None and bound() + adding <= cap:
            return  # the usage is at most the bound: room for certain, no count needed
        used = usage(limit)
    if used + adding > cap:
        raise LimitExceeded(
            LIMIT_REACHED
            % {
                "plan": account.plan.name,
                "cap": number(cap),
                "limit": limit.label,
                "used": number(used),
                "adding": number(adding),
            },
            code=f"limit_{limit.value}",
        )


def api_access(tenant=None) -> bool:
    """Whether the workspace's plan includes the API."""
    return _account(tenant).plan.api_access


def capacity(limit: Limit, tenant=None) -> tuple[int | None, int]:
    """(allowance, usage) of `limit` for the current workspace."""
    return allowance(limit, tenant), usage(limit)
