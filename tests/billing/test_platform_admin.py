"""Platform superusers: plans, every workspace's subscription and usage, comped overrides."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from engagex.billing.models import BillingAccount, Plan, PlanChange

S = BillingAccount.Status


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_public")


def test_default_plans_are_seeded_with_their_limits(db):
    plans = {p.code: p for p in Plan.objects.all()}

    assert list(plans) == ["free-trial", "basic", "pro", "premium"]
    assert (plans["free-trial"].is_trial, plans["free-trial"].trial_days) == (True, 14)
    assert plans["basic"].api_access is False
    assert plans["premium"].seat_limit is None


def test_superuser_edits_a_plans_limits(platform_client):
    basic = Plan.objects.get(code="basic")
    url = _url("admin:billing_plan_change", basic.pk)
    form = platform_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(contact_limit=7_500, stripe_price_monthly="price_basic_new")

    response = platform_client.post(url, data)

    assert response.status_code == 302
    basic.refresh_from_db()
    assert (basic.contact_limit, basic.stripe_price_monthly) == (7_500, "price_basic_new")


def test_subscription_overview_lists_every_workspace(platform_client, tenant, other_tenant):
    from tenants.models import DailySends

    today = timezone.now().date()
    DailySends.objects.create(tenant=tenant, day=today, sends=1234)
    DailySends.objects.create(tenant=tenant, day=today.replace(day=1) - timedelta(days=1), sends=9)

    page = platform_client.get(_url("admin:billing_billingaccount_changelist")).content.decode()

    assert "1,234 / 5,000" in page  # this month's emails only, against the trial's limit

    assert "Alpha Corp" in page
    assert "Beta Ltd" in page
    assert "Free Trial" in page
    assert "0 / 1,000" in page


def test_override_comps_a_plan_with_an_audit_trail(platform_client, platform_admin, tenant):
    account = BillingAccount.objects.get(tenant=tenant)
    premium = Plan.objects.get(code="premium")
    url = _url("admin:billing_billingaccount_override_detail", account.pk)

    missing_reason = platform_client.post(url, {"plan": premium.pk, "reason": ""})
    response = platform_client.post(
        url, {"plan": premium.pk, "reason": "Partner, agreed with sales"}
    )

    assert missing_reason.status_code == 200
    assert "This field is required" in missing_reason.content.decode()
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.plan, account.status, account.is_read_only) == (premium, S.COMPED, False)
    change = PlanChange.objects.filter(tenant=tenant, source="superuser").get()
    assert (change.actor, change.reason) == (platform_admin.email, "Partner, agreed with sales")
    assert (change.from_plan, change.to_plan) == ("Free Trial", "Premium")
    detail = platform_client.get(
        _url("admin:billing_billingaccount_change", account.pk)
    ).content.decode()
    assert "Partner, agreed with sales" in detail


def test_stripe_events_do_not_undo_a_comp(platform_client, tenant, fake_stripe):
    from engagex.platform.stripe_sync import billing_subscription_apply

    premium = Plan.objects.get(code="premium")
    account = BillingAccount.objects.get(tenant=tenant)
    platform_client.post(
        _url("admin:billing_billingaccount_override_detail", account.pk),
        {"plan": premium.pk, "reason": "Comped"},
    )

    billing_subscription_apply(
        data={
            "id": "sub_x",
            "status": "canceled",
            "customer": "cus_x",
            "metadata": {"tenant_id": str(tenant.pk)},
        }
    )

    account.refresh_from_db()
    assert (account.plan, account.status) == (premium, S.COMPED)


def test_ending_an_override_after_the_trial_without_a_subscription_makes_it_read_only(
    platform_client, tenant
):
    account = BillingAccount.objects.get(tenant=tenant)
    BillingAccount.objects.filter(pk=account.pk).update(
        trial_ends_at=timezone.now() - timedelta(days=1)
    )
    platform_client.post(
        _url("admin:billing_billingaccount_override_detail", account.pk),
        {"plan": Plan.objects.get(code="pro").pk, "reason": "Trial extension"},
    )
    url = _url("admin:billing_billingaccount_override_end_detail", account.pk)

    ask = platform_client.get(url)
    platform_client.post(url)

    assert "End the complimentary plan" in ask.content.decode()
    account.refresh_from_db()
    assert account.status == S.EXPIRED
    assert PlanChange.objects.filter(tenant=tenant, source="superuser").count() == 2


def test_workspace_staff_cannot_reach_platform_billing(owner_client):
    response = owner_client.get("/admin/billing/billingaccount/")

    assert response.status_code == 404


def test_workspace_page_links_to_its_subscription(platform_client, tenant):
    account = BillingAccount.objects.get(tenant=tenant)

    page = platform_client.get(_url("admin:tenants_tenant_change", tenant.pk)).content.decode()

    assert _url("admin:billing_billingaccount_change", account.pk) in page
    assert "Free Trial — Free trial" in page


def test_ending_an_override_during_the_trial_returns_to_the_trial(platform_client, tenant):
    account = BillingAccount.objects.get(tenant=tenant)
    platform_client.post(
        _url("admin:billing_billingaccount_override_detail", account.pk),
        {"plan": Plan.objects.get(code="pro").pk, "reason": "Demo for sales"},
    )

    platform_client.post(_url("admin:billing_billingaccount_override_end_detail", account.pk))

    account.refresh_from_db()
    assert (account.plan.code, account.status, account.is_read_only) == (
        "free-trial", S.TRIALING, False,
    )  # fmt: skip


def test_stripe_invoice_totals_respect_zero_decimal_currencies(db):
    from djstripe.models import Invoice

    from engagex.platform.admin.stripe import StripeInvoiceAdmin

    invoice = Invoice(stripe_data={"total": 5000, "currency": "jpy"})
    euros = Invoice(stripe_data={"total": 7900, "currency": "eur"})
    admin_ = StripeInvoiceAdmin(Invoice, None)

    assert admin_.amount(invoice) == "5,000.00 JPY"
    assert admin_.amount(euros) == "79.00 EUR"


def test_staff_who_are_not_superusers_cannot_comp_or_end_a_comp(tenant):
    from django.test import Client

    from engagex.accounts.models import User

    staff = User.objects.create_user("staff@engagex.localhost", "pw-staff-1234", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    account = BillingAccount.objects.get(tenant=tenant)
    premium = Plan.objects.get(code="premium")

    override = client.post(
        _url("admin:billing_billingaccount_override_detail", account.pk),
        {"plan": premium.pk, "reason": "a favour"},
    )
    refresh = client.post(_url("admin:billing_billingaccount_refresh_usage"))

    assert override.status_code == refresh.status_code == 403
    account.refresh_from_db()
    assert account.status != S.COMPED
