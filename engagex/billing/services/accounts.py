"""Billing accounts: the one place a workspace's plan and status change (Stripe sync aside)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagex.billing.models import BillingAccount, Plan, PlanChange
from engagex.billing.services.plans import trial_plan
from tenants.models import Tenant

S = BillingAccount.Status

READ_ONLY = gettext_lazy(
    "This workspace is read-only ({status}): you can log in and export, but not send or "
    "import. An Owner can choose a plan on the Billing page."
)


def billing_account_open(
    *, tenant: Tenant, source: str = PlanChange.Source.SIGNUP
) -> BillingAccount:
    """Put a new workspace on the Free Trial plan."""
    plan = trial_plan()
    account, created = BillingAccount.objects.get_or_create(
        tenant=tenant,
        defaults={
            "plan": plan,
            "status": S.TRIALING,
            "trial_ends_at": timezone.now() + timedelta(days=plan.trial_days),
        },
    )
    if created:
        plan_change_record(account, "", "", source=source, actor=tenant.owner_email)
    return account


def billing_account_get(tenant: Tenant) -> BillingAccount:
    """The workspace's billing account; workspaces from before billing start a trial now."""
    account = BillingAccount.objects.select_related("plan").filter(tenant=tenant).first()
    return account or billing_account_open(tenant=tenant, source=PlanChange.Source.SCHEDULE)


def ensure_writable(tenant: Tenant, account: BillingAccount | None = None) -> None:
    """Raise ValidationError when the workspace may only be read and exported."""
    account = account or billing_account_get(tenant)
    if account.is_read_only:
        raise ValidationError(READ_ONLY.format(status=account.get_status_display().lower()))


@transaction.atomic
def billing_plan_override(*, tenant: Tenant, plan: Plan, reason: str, actor) -> BillingAccount:
    """Comp a workspace: put it on `plan` regardless of Stripe, with the reason on record."""
    if not reason.strip():
        raise ValidationError(
            {"reason": _("Say why the plan is overridden: it goes in the audit trail.")}
        )
    account = (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(pk=billing_account_get(tenant).pk)
    )
    before_plan, before_status = account.plan.name, account.status
    account.plan = plan
    account.status = S.COMPED
    account.comped_reason = reason.strip()
    # The trial end stays on record: ending the override returns to it.
    account.past_due_since = account.grace_ends_at = None
    account.save()
    plan_change_record(
        account,
        before_plan,
        before_status,
        source=PlanChange.Source.SUPERUSER,
        actor=str(actor),
        reason=reason,
    )
    return account


def plan_change_record(
    account, from_plan, from_status, *, source, actor="", reason=""
) -> PlanChange:
    """Put a change of plan or status on the audit trail."""
    return PlanChange.objects.create(
        tenant=account.tenant,
        source=source,
        actor=actor[:254],
        from_plan=from_plan,
        to_plan=account.plan.name,
        from_status=from_status,
        to_status=account.status,
        reason=reason[:255],
    )
