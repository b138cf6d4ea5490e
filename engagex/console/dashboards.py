"""Unfold DASHBOARD_CALLBACKs: the admin home of each console, built from selectors only."""

from engagex.analytics.selectors import platform_dashboard, workspace_dashboard
from engagex.billing.limits import Limit, allowance
from engagex.core.charts import CHART_OPTIONS
from engagex.core.tenancy import current_schema, current_tenant


def workspace_dashboard_callback(request, context):
    tenant = current_tenant()
    context.update(
        dashboard="workspace",
        chart_options=CHART_OPTIONS,
        **workspace_dashboard(current_schema(), allowance(Limit.MONTHLY_SENDS, tenant)),
    )
    return context


def platform_dashboard_callback(request, context):
    context.update(dashboard="platform", chart_options=CHART_OPTIONS, **platform_dashboard())
    return context
