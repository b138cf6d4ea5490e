from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.core.admin import ServiceErrorsAdminMixin, confirm_response
from engagex.core.sites import workspace_site
from engagex.domains.models import SendingDomain
from engagex.domains.services import (
    ANY_SENDGRID,
    ANY_SENDGRID_LABEL,
    domain_create,
    domain_verify,
)

STATUS_COLORS = {
    SendingDomain.Status.PENDING: "warning",
    SendingDomain.Status.VERIFIED: "success",
    SendingDomain.Status.FAILED: "danger",
}
RECORD_LABELS = {
    "spf": _("SPF"),
    "dkim1": _("DKIM 1"),
    "dkim2": _("DKIM 2"),
    "mail_cname": _("Return path"),
    "dmarc": _("DMARC (recommended)"),
}
CHECK_LABELS = {
    "unchecked": "—",
    "pass": _("✓ found"),
    "fail": _("✗ wrong value"),
    "missing": _("✗ not found"),
    "timeout": _("… no answer in time: try again"),
    "error": _("✗ lookup failed: try again"),
}


def _record_value(value: str):
    if value == ANY_SENDGRID:  # SendGrid has not given this domain its values yet
        return format_html("<em>{}</em>", ANY_SENDGRID_LABEL)
    return format_html("<code>{}</code>", value)


class SendingDomainForm(forms.ModelForm):
    class Meta:
        model = SendingDomain
        fields = ["domain"]
        help_texts = {
            "domain": _("The part after @ in your from addresses, e.g. news.example.com.")
        }


class SendingDomainAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = SendingDomainForm
    list_display = ["domain", "status_badge", "last_checked_at", "verified_at"]
    search_fields = ["domain"]
    actions_detail = ["verify_detail"]

    # domain_create's refusals (the plan's limit, SendGrid) are about the one field.
    service_error_field = "domain"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["domain"]
        return ["domain", "status", "dns_records", "last_checked_at", "verified_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    @display(description=_("Status"), label=STATUS_COLORS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("DNS records to publish"))
    def dns_records(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    RECORD_LABELS.get(r["kind"], r["kind"]),
                    r["type"],
                    r["host"],
                    _record_value(r["value"]),
                    CHECK_LABELS.get(r.get("status"), r.get("status")),
                    ", ".join(r.get("found") or []) or "—",
                )
                for r in obj.records
            ),
        )
        return format_html(
            '<div style="overflow-x:auto"><table class="engagex-table engagex-wrap"><thead>'
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table></div>",
            _("Record"),
            _("Type"),
            _("Host"),
            _("Value"),
            _("Check"),
            _("Found in DNS"),
            rows,
        )

    def save_model(self, request, obj, form, change):
        created = domain_create(domain=form.cleaned_data["domain"], user=request.user)
        obj.pk = created.pk
        self.message_user(
            request,
            _("Publish the records below at your DNS provider, then press “Verify now”."),
            messages.INFO,
        )

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:domains_sendingdomain_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        # Records come from the service; the page is read-only apart from "Verify now".
        return False

    @action(description=_("Verify now"), url_path="verify", permissions=["verify_detail"])
    def verify_detail(self, request, object_id):
        sending_domain = self.get_object(request, object_id)
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Verify %s") % sending_domain.domain,
                text=_("Look every record up in DNS now. Changes at your DNS provider can take a "
                       "while to show; the domain is also re-checked every hour until it "
                       "verifies."),
                cancel_url=reverse("admin:domains_sendingdomain_change", args=[object_id]),
                submit_label=_("Verify now"), cancel_label=_("Back"),
            )  # fmt: skip
        domain_verify(sending_domain=sending_domain)
        if sending_domain.is_verified:
            self.message_user(request, _("All required records check out."), messages.SUCCESS)
        else:
            self.message_user(
                request,
                _("Some required records are missing or wrong; see the Check column."),
                messages.WARNING,
            )
        return redirect(reverse("admin:domains_sendingdomain_change", args=[object_id]))

    def has_verify_detail_permission(self, request, object_id=None):
        return request.user.has_perm("domains.add_sendingdomain")


workspace_site.register(SendingDomain, SendingDomainAdmin)
