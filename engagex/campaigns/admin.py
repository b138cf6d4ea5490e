from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.campaigns.forms import CampaignForm, ScheduleForm
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.selectors import campaign_progress
from engagex.campaigns.services import campaigns as service
from engagex.core.paginator import LargeTablePaginator
from engagex.core.sites import workspace_site

S = Campaign.Status
STATUS_COLORS = {
    S.DRAFT: "info",
    S.SCHEDULED: "warning",
    S.SENDING: "info",
    S.PAUSED: "warning",
    S.SENT: "success",
    S.CANCELLED: "danger",
    S.FAILED: "danger",
}
EDITABLE = {S.DRAFT}


class CampaignAdmin(ModelAdmin):
    form = CampaignForm
    list_display = ["name", "status_badge", "template", "recipients_total", "send_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    list_select_related = ["template"]
    filter_horizontal = ["include_groups", "exclude_groups"]
    readonly_fields = ["status", "send_at", "started_at", "finished_at", "recipients_total"]
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

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status not in EDITABLE:
            return [
                f
                for _, opts in self.fieldsets
                for row in opts["fields"]
                for f in (row if isinstance(row, tuple) else (row,))
            ]
        return []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @display(description=_("Status"), label=STATUS_COLORS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

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
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- lifecycle actions ---------------------------------------------------------------
    def _can_send(self, request, object_id, statuses) -> bool:
        if not request.user.has_perm("campaigns.send_campaign"):
            return False
        return (
            object_id is None or Campaign.objects.filter(pk=object_id, status__in=statuses).exists()
        )

    def has_send_now_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.DRAFT, S.SCHEDULED})

    def has_schedule_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.DRAFT})

    def has_unschedule_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.SCHEDULED})

    def has_pause_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.SENDING})

    def has_resume_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.PAUSED})

    def has_cancel_detail_permission(self, request, object_id=None):
        return self._can_send(request, object_id, {S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED})

    def has_duplicate_detail_permission(self, request, object_id=None):
        return self.has_add_permission(request)

    @action(description=_("Send now…"), url_path="send", permissions=["send_now_detail"])
    def send_now_detail(self, request, object_id):
        campaign = self.get_object(request, object_id)
        if request.method == "POST":
            return self._run(
                request,
                object_id,
                lambda: service.campaign_start(campaign_id=campaign.pk),
                _("Sending started: recipients are being sent in batches."),
            )
        audience = service.campaign_audience(campaign).count()
        return self._confirm(
            request, campaign, _("Send “%s” now?") % campaign.name, audience=audience
        )

    @action(description=_("Schedule…"), url_path="schedule", permissions=["schedule_detail"])
    def schedule_detail(self, request, object_id):
        campaign = self.get_object(request, object_id)
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service.campaign_schedule(campaign=campaign, send_at=form.cleaned_data["send_at"])
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("send_at", message)
            else:
                self.message_user(request, _("Campaign scheduled."), messages.SUCCESS)
                return redirect(self._change_url(object_id))
        audience = service.campaign_audience(campaign).count()
        return self._confirm(
            request, campaign, _("Schedule “%s”") % campaign.name, form=form, audience=audience
        )

    @action(description=_("Unschedule"), url_path="unschedule", permissions=["unschedule_detail"])
    def unschedule_detail(self, request, object_id):
        return self._run(
            request,
            object_id,
            lambda: service.campaign_unschedule(campaign=self.get_object(request, object_id)),
            _("Back to draft."),
        )

    @action(description=_("Pause"), url_path="pause", permissions=["pause_detail"])
    def pause_detail(self, request, object_id):
        return self._run(
            request,
            object_id,
            lambda: service.campaign_pause(campaign=self.get_object(request, object_id)),
            _("Paused after the current batch."),
        )

    @action(description=_("Resume"), url_path="resume", permissions=["resume_detail"])
    def resume_detail(self, request, object_id):
        return self._run(
            request,
            object_id,
            lambda: service.campaign_resume(campaign=self.get_object(request, object_id)),
            _("Sending resumed."),
        )

    @action(description=_("Cancel"), url_path="cancel", permissions=["cancel_detail"])
    def cancel_detail(self, request, object_id):
        campaign = self.get_object(request, object_id)
        if request.method == "POST":
            return self._run(
                request,
                object_id,
                lambda: service.campaign_cancel(campaign=campaign),
                _("Campaign cancelled; unsent recipients will not get it."),
            )
        return self._confirm(request, campaign, _("Cancel “%s”?") % campaign.name, danger=True)

    @action(description=_("Duplicate"), url_path="duplicate", permissions=["duplicate_detail"])
    def duplicate_detail(self, request, object_id):
        copy = service.campaign_duplicate(
            campaign=self.get_object(request, object_id), user=request.user
        )
        self.message_user(request, _("Duplicated as a new draft."), messages.SUCCESS)
        return redirect(self._change_url(copy.pk))

    def _run(self, request, object_id, call, done):
        if request.method != "POST":
            return redirect(self._change_url(object_id))
        try:
            call()
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return redirect(self._change_url(object_id))

    def _confirm(self, request, campaign, title, form=None, audience=None, danger=False):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": campaign,
            "form": form,
            "audience": audience,
            "danger": danger,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/confirm.html", context)

    def _change_url(self, object_id):
        return reverse("admin:campaigns_campaign_change", args=[object_id])


class CampaignRecipientAdmin(ModelAdmin):
    list_display = ["email", "campaign", "status", "sent_at", "message_id", "error"]
    list_filter = ["status", "campaign"]
    search_fields = ["email"]
    list_select_related = ["campaign"]
    paginator = LargeTablePaginator
    show_full_result_count = False
    ordering = ["-id"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        return queryset.filter(email__istartswith=term), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


workspace_site.register(Campaign, CampaignAdmin)
workspace_site.register(CampaignRecipient, CampaignRecipientAdmin)
