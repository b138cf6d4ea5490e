from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import localize, number_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.campaigns.audience import audience_fields
from engagex.campaigns.checks import campaign_checks
from engagex.campaigns.forms import CampaignForm, ScheduleForm
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.reports import campaign_activity_chart, campaign_report, campaign_top_links
from engagex.campaigns.selectors import (
    OUTCOME_LABELS,
    campaign_list,
    campaign_progress,
    recipient_outcome,
    recipient_outcomes,
)
from engagex.campaigns.services import campaigns as service
from engagex.campaigns.services import drafts, state
from engagex.core.admin import ReadOnlyModelAdmin, ServiceErrorsAdminMixin
from engagex.core.charts import CHART_OPTIONS
from engagex.core.paginator import LargeTablePaginator
from engagex.core.sites import workspace_site
from engagex.core.tenancy import current_tenant

S = Campaign.Status
STATUS_COLORS = {
    S.DRAFT: "info",
    S.SCHEDULED: "warning",
    S.SENDING: "info",
    S.PAUSING: "warning",
    S.PAUSED: "warning",
    S.SENT: "success",
    S.CANCELLING: "danger",
    S.CANCELLED: "danger",
    S.FAILED: "danger",
}
EDITABLE = {S.DRAFT}
IN_FLIGHT = _("%(count)s in flight")
# Each control on the change page: the states it applies to, and the verb its refusal uses.
CONTROLS = {
    "send_now": ({S.DRAFT, S.SCHEDULED}, state.VERBS[S.SENDING]),
    "schedule": ({S.DRAFT}, state.VERBS[S.SCHEDULED]),
    "unschedule": ({S.SCHEDULED}, state.VERBS[S.DRAFT]),
    "pause": ({S.SENDING}, state.VERBS[S.PAUSED]),
    "resume": ({S.PAUSED}, pgettext_lazy("campaign action", "resumed")),
    "cancel": ({S.SCHEDULED, S.SENDING, S.PAUSING, S.PAUSED}, state.VERBS[S.CANCELLED]),
}


class CampaignAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "status_badge",
        "recipients_total",
        "open_rate",
        "click_rate",
        "sending_time",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["name"]
    list_select_related = ["template", "stats"]
    autocomplete_fields = ["template", "include_groups", "exclude_groups"]
    change_form_before_template = "admin/campaigns/campaign/status_panel.html"
    actions_detail = [
        "send_now_detail",
        "schedule_detail",
        "unschedule_detail",
        "pause_detail",
        "resume_detail",
        "cancel_detail",
        "duplicate_detail",
    ]
    fieldsets = [
        (None, {"fields": ["name", "template", "subject_override"]}),
        (_("Sender"), {"fields": [("from_name", "from_email"), "reply_to"]}),
        (_("Audience"), {"fields": ["include_groups", "exclude_groups"]}),
    ]

    def get_queryset(self, request):
        return campaign_list().select_related(*self.list_select_related)

    def has_change_permission(self, request, obj=None):
        # Only drafts are edited; a scheduled one goes back to draft first.
        if obj is not None and obj.status not in EDITABLE:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not service.campaign_deletable(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Segments' fields too (their admin adds them to the form): the services check them.
        names = [*drafts.DRAFT_FIELDS, "include_groups", "exclude_groups", *audience_fields()]
        data = {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}
        if change:
            drafts.campaign_update(campaign=obj, **data)
        else:
            obj.pk = drafts.campaign_create(user=request.user, **data).pk

    def save_related(self, request, form, formsets, change):
        # The groups were set by the service in save_model; the admin has no inlines here.
        pass

    @display(description=_("Status"), label=STATUS_COLORS)
    def status_badge(self, obj):
        label = obj.get_status_display()
        if getattr(obj, "in_flight", 0) and obj.status != S.SENDING:
            count = number_format(obj.in_flight, force_grouping=True)
            label = f"{label} {IN_FLIGHT % {'count': count}}"
        return obj.status, label

    def get_readonly_fields(self, request, obj=None):
        return ["effective_subject"] if obj is not None and obj.status not in EDITABLE else []

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.status not in EDITABLE:
            return [
                (None, {"fields": ["name", "template", "effective_subject"]}),
                (_("Sender"), {"fields": [("from_name", "from_email"), "reply_to"]}),
                (_("Audience"), {"fields": ["include_groups", "exclude_groups"]}),
            ]
        return self.fieldsets

    @display(description=_("Opens"))
    def open_rate(self, obj):
        stats = getattr(obj, "stats", None)
        return f"{stats.rate(stats.opens_unique)}%" if stats and stats.delivered else "—"

    @display(description=_("Clicks"))
    def click_rate(self, obj):
        stats = getattr(obj, "stats", None)
        return f"{stats.rate(stats.clicks_unique)}%" if stats and stats.delivered else "—"

    @display(description=_("send at"), ordering="send_at")
    def sending_time(self, obj):
        # "Send now" sets no send_at: the list shows when sending started instead of "-".
        when = obj.send_at or obj.started_at
        return localize(localtime(when)) if when else "—"

    @display(description=_("Subject"))
    def effective_subject(self, obj):
        return obj.content_subject or obj.subject

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            extra_context = {
                **(extra_context or {}),
                "campaign": campaign,
                "progress": campaign_progress(campaign),
                "audience_size": service.campaign_audience(campaign).count()
                if campaign.status in {S.DRAFT, S.SCHEDULED}
                else None,
                "recipients_url": reverse("admin:campaigns_campaignrecipient_changelist")
                + f"?campaign__id__exact={campaign.pk}",
                "template_version_url": reverse(
                    "admin:email_templates_emailtemplate_version",
                    args=[campaign.template_id, campaign.template_version.number],
                )
                if campaign.template_version_id
                and request.user.has_perm("email_templates.view_emailtemplate")
                else "",
            }
            if campaign.started_at:
                extra_context.update(
                    report=campaign_report(campaign),
                    activity=campaign_activity_chart(campaign),
                    top_links=campaign_top_links(campaign),
                    chart_options=CHART_OPTIONS,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    # --- lifecycle actions ---------------------------------------------------------------
    def _can_send(self, request) -> bool:
        # The role alone: whether a control applies to the campaign's state is asked
        # apart (`_applies`), so that a refusal can say which of the two it was.
        return request.user.has_perm("campaigns.send_campaign")

    def _applies(self, campaign: Campaign, control: str) -> bool:
        return campaign.status in CONTROLS[control][0]

    def _not_applicable(self, request, object_id, control):
        """A 403 page saying the campaign's state rules `control` out, or None if it applies."""
        campaign = self._existing(request, object_id)
        if self._applies(campaign, control):
            return None
        reason = state.NOT_ALLOWED.format(
            current=campaign.get_status_display().rstrip("…"), target=CONTROLS[control][1]
        )
        return TemplateResponse(request, "403.html", {"reason": reason}, status=403)

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        campaign = self.get_object(request, object_id)
        if campaign is None:
            return actions
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        return [
            a
            for a in actions
            if (control := a.action_name.removeprefix(prefix).removesuffix("_detail"))
            not in CONTROLS
            or self._applies(campaign, control)
        ]

    def _existing(self, request, object_id) -> Campaign:
        """The campaign behind an action URL, or 404 (missing, malformed or another
        workspace's id: each workspace has its own ids)."""
        campaign = self.get_object(request, object_id)
        if campaign is None:
            raise Http404(_("There is no such campaign."))
        return campaign

    def has_send_now_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_schedule_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_unschedule_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_pause_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_resume_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_cancel_detail_permission(self, request, object_id=None):
        return self._can_send(request)

    def has_duplicate_detail_permission(self, request, object_id=None):
        return self.has_add_permission(request)

    @action(description=_("Send now…"), url_path="send", permissions=["send_now_detail"])
    def send_now_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "send_now"):
            return refusal
        campaign = self._existing(request, object_id)
        if request.method == "POST":
            return self._run(
                request,
                object_id,
                lambda: service.campaign_start(campaign_id=campaign.pk, user=request.user),
                _("Sending started: recipients are being sent in batches."),
            )
        audience = service.campaign_audience(campaign).count()
        return self._confirm(
            request,
            campaign,
            _("Send “%s” now?") % campaign.name,
            audience=audience,
            checklist=campaign_checks(campaign, request),
        )

    def _empty_reason(self, campaign: Campaign, audience) -> str | None:
        """Why nobody would get it, when a source above campaigns (an empty segment, a
        resend everyone opened) is the reason; the page words the lists' reasons itself."""
        if audience != 0:
            return None
        reason = service.campaign_empty_reason(campaign)
        return None if reason is service.NO_AUDIENCE else str(reason)

    @action(description=_("Schedule…"), url_path="schedule", permissions=["schedule_detail"])
    def schedule_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "schedule"):
            return refusal
        campaign = self._existing(request, object_id)
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service.campaign_schedule(
                    campaign=campaign, send_at=form.cleaned_data["send_at"], user=request.user
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("send_at", message)
            else:
                self.message_user(request, _("Campaign scheduled."), messages.SUCCESS)
                return redirect(self._change_url(object_id))
        audience = service.campaign_audience(campaign).count()
        return self._confirm(
            request,
            campaign,
            _("Schedule “%s”") % campaign.name,
            form=form,
            audience=audience,
            checklist=campaign_checks(campaign, request),
        )

    @action(description=_("Unschedule"), url_path="unschedule", permissions=["unschedule_detail"])
    def unschedule_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "unschedule"):
            return refusal
        return self._run(
            request,
            object_id,
            lambda: service.campaign_unschedule(campaign=self._existing(request, object_id)),
            _("Back to draft."),
            question=_("Move it back to draft? It will not be sent at its time."),
        )

    @action(description=_("Pause"), url_path="pause", permissions=["pause_detail"])
    def pause_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "pause"):
            return refusal
        return self._run(
            request,
            object_id,
            lambda: service.campaign_pause(
                campaign=self._existing(request, object_id), user=request.user
            ),
            lambda campaign: (
                _(
                    "Pausing: no more batches are sent; those already with the email service "
                    "finish first."
                )
                if campaign.status == S.PAUSING
                else _("Paused.")
            ),
            question=_("Pause sending? Batches already with the email service still finish."),
        )

    @action(description=_("Resume"), url_path="resume", permissions=["resume_detail"])
    def resume_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "resume"):
            return refusal
        return self._run(
            request,
            object_id,
            lambda: service.campaign_resume(
                campaign=self._existing(request, object_id), user=request.user
            ),
            _("Sending resumed."),
            question=_("Resume sending to the recipients still waiting?"),
        )

    @action(description=_("Cancel"), url_path="cancel", permissions=["cancel_detail"])
    def cancel_detail(self, request, object_id):
        if refusal := self._not_applicable(request, object_id, "cancel"):
            return refusal
        campaign = self._existing(request, object_id)
        if request.method == "POST":
            return self._run(
                request,
                object_id,
                lambda: service.campaign_cancel(campaign=campaign, user=request.user),
                lambda campaign: (
                    _(
                        "Cancelling: batches already with the email service finish; nobody else "
                        "gets it."
                    )
                    if campaign.status == S.CANCELLING
                    else _("Campaign cancelled; unsent recipients will not get it.")
                ),
            )
        return self._confirm(request, campaign, _("Cancel “%s”?") % campaign.name, danger=True)

    @action(description=_("Duplicate"), url_path="duplicate", permissions=["duplicate_detail"])
    def duplicate_detail(self, request, object_id):
        campaign = self._existing(request, object_id)
        if request.method != "POST":
            return self._confirm(
                request, campaign, _("Copy “%s” into a new draft?") % campaign.name
            )
        copy = service.campaign_duplicate(campaign=campaign, user=request.user)
        self.message_user(request, _("Duplicated as a new draft."), messages.SUCCESS)
        return redirect(self._change_url(copy.pk))

    def _run(self, request, object_id, call, done, question=None):
        """GET asks `question`; POST runs `call` and says `done` (text, or made from the
        campaign `call` returned)."""
        if request.method != "POST":
            campaign = self._existing(request, object_id)
            return self._confirm(request, campaign, question or done)
        try:
            result = call()
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done(result) if callable(done) else done, messages.SUCCESS)
        return redirect(self._change_url(object_id))

    def _confirm(
        self, request, campaign, title, form=None, audience=None, danger=False, checklist=None
    ):
        context = {
            "checklist": checklist,
            "link_checks_url": reverse(
                "admin:email_templates_emailtemplate_link_checks", args=[campaign.template_id]
            )
            if checklist
            else "",
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": campaign,
            "form": form,
            "audience": audience,
            "empty_reason": self._empty_reason(campaign, audience),
            "danger": danger,
            "tz_name": current_tenant().timezone if form else None,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/confirm.html", context)

    def _change_url(self, object_id):
        return reverse("admin:campaigns_campaign_change", args=[object_id])


class OutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return list(OUTCOME_LABELS.items())

    def queryset(self, request, queryset):
        return recipient_outcomes(queryset, self.value())


class CampaignRecipientAdmin(ReadOnlyModelAdmin):
    # No status column: the outcome says it (Sent, Failed, or what happened after sending).
    list_display = ["email", "campaign", "outcome", "sent_at", "error"]
    list_filter = [OutcomeFilter, "status", "campaign"]
    change_list_template = "admin/campaigns/campaignrecipient/change_list.html"
    search_fields = ["email"]
    list_select_related = ["campaign"]
    paginator = LargeTablePaginator
    show_full_result_count = False
    ordering = ["-id"]

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="campaigns_campaignrecipient_export",
            ),
            *super().get_urls(),
        ]

    def has_export_permission(self, request):
        # Recipient outcomes hold contacts' email addresses: personal data.
        from engagex.contacts.models import EXPORT_PERMISSION

        return request.user.has_perm(EXPORT_PERMISSION)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def export_view(self, request):
        from django.http import StreamingHttpResponse

        from engagex.campaigns.services.exporting import (
            recipients_csv_stream,
            recipients_export_note,
        )
        from engagex.core.audit import AuditVerb, audit_record

        if not self.has_view_permission(request) or not self.has_export_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        count = queryset.order_by().count()
        audit_record(
            user=request.user,
            verb=AuditVerb.EXPORTED,
            model=CampaignRecipient,
            detail=recipients_export_note(count),
        )
        response = StreamingHttpResponse(
            recipients_csv_stream(queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="recipient-outcomes.csv"'
        return response

    @display(description=_("Outcome"))
    def outcome(self, obj):
        return recipient_outcome(obj)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        return queryset.filter(email__istartswith=term), False


workspace_site.register(Campaign, CampaignAdmin)
workspace_site.register(CampaignRecipient, CampaignRecipientAdmin)
