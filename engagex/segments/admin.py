import json

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action as unfold_action
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from engagex.contacts.models import Contact, ContactStatus
from engagex.core.admin import ServiceErrorsAdminMixin, form_add_errors
from engagex.core.formats import number
from engagex.core.sites import workspace_site
from engagex.segments.forms import RuleBuilderWidget, SegmentForm
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.selectors import builder_catalogue, segment_contacts, segment_count
from engagex.segments.services import (
    rule_errors,
    segment_create,
    segment_delete,
    segment_update,
)

MAX_RULE_BYTES = 64 * 1024
BAD_JSON = _("The rule is not JSON.")
RESEND_OF = _(
    "{campaign}: it goes to the recipients of that campaign who have not opened it (worked "
    "out when it sends)."
)


class SegmentAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = SegmentForm
    list_display = ["name", "description", "contacts_link", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "description", "rule"]
    service_error_field = "rule"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["rule"].widget = RuleBuilderWidget(
            catalogue=builder_catalogue(exclude_segment=obj),
            count_url=reverse("admin:segments_segment_count"),
            read_only=change and not self.has_change_permission(request, obj),
        )
        return form

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key] for key in ("name", "description", "rule")}
        if change:
            segment_update(segment=obj, **data)
        else:
            obj.pk = segment_create(user=request.user, **data).pk

    def delete_model(self, request, obj):
        segment_delete(segment=obj)

    @admin.display(description=_("Contacts"))
    def contacts_link(self, obj):
        from django.utils.html import format_html

        url = reverse("admin:contacts_contact_changelist") + f"?segment={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show contacts"))

    def get_urls(self):
        return [
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="segments_segment_count",
            ),
            *super().get_urls(),
        ]

    def count_view(self, request):
        """Count an unsaved rule and show a few of its contacts (the builder posts here)."""
        if request.method != "POST":
            return HttpResponseBadRequest()
        if not self.has_view_permission(request):
            raise PermissionDenied
        if len(request.body) > MAX_RULE_BYTES:
            return JsonResponse({"errors": [str(BAD_JSON)]}, status=400)
        try:
            rule = json.loads(request.body or b"{}").get("rule")
        except (ValueError, AttributeError):
            return JsonResponse({"errors": [str(BAD_JSON)]}, status=400)
        try:
            counted = segment_count(rule=rule)
        except ValidationError as error:
            # `fields` by the condition's path, for the builder to show beside the condition.
            fields = error.message_dict if hasattr(error, "error_dict") else {}
            return JsonResponse({"errors": rule_errors(error), "fields": fields}, status=400)
        statuses = dict(ContactStatus.choices)
        for row in counted["sample"]:  # a contact not subscribed is marked, in the language
            if row.pop("awaiting_confirmation") and row["status"] == ContactStatus.SUBSCRIBED:
                row["status"] = "awaiting_confirmation"  # subscribed, not confirmed yet
                row["status_label"] = gettext("awaiting confirmation")
                continue
            row["status_label"] = str(statuses.get(row["status"], row["status"]))
        return JsonResponse({**counted, "sendable_text": number(counted["sendable"])})


class SegmentFilter(admin.SimpleListFilter):
    """ "In segment …" on the contact list (export then exports the segment)."""

    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        segment = (
            Segment.objects.filter(pk=self.value()).first() if self.value().isdigit() else None
        )
        if segment is None:
            return queryset.none()
        try:
            return queryset.filter(pk__in=segment_contacts(segment=segment).values("pk"))
        except ValidationError:
            return queryset.none()


def _add_segment_filter() -> None:
    """The contact list is contacts' admin (below segments): add the filter from here."""
    contact_admin = workspace_site._registry.get(Contact)
    if contact_admin is not None and SegmentFilter not in contact_admin.list_filter:
        setattr(contact_admin, "list_filter", [*contact_admin.list_filter, SegmentFilter])  # noqa: B010


workspace_site.register(Segment, SegmentAdmin)
_add_segment_filter()


# --- segments as a campaign's audience -------------------------------------------------------
# The campaign admin belongs to campaigns, below segments in the stack: segments extends it
# from here (as it adds its filter to the contact list) instead of campaigns importing us.
# Labels keep their lower-case catalogue entries; capfirst (lazy) makes them look like the
# console's other labels. The widgets are unfold's, as on every console form.
class ResendForm(forms.Form):
    after_hours = forms.IntegerField(
        label=capfirst(_("after (hours)")),
        min_value=1,
        max_value=720,
        initial=48,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text=_("Counted from when the original started; recipients with no human open."),
    )
    subject = forms.CharField(
        label=capfirst(_("new subject")),
        max_length=255,
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Blank: the same."),
    )


def _extend_campaign_admin() -> None:

    from engagex.campaigns.models import Campaign
    from engagex.segments.selectors import campaign_segments

    base = type(workspace_site._registry[Campaign])
    segment_field = CampaignSegment._meta.get_field("segment")

    class CampaignSegmentsForm(base.form):  # type: ignore[name-defined]
        # The same box as the lists above (the admin's autocomplete, searching segments by
        # name), not a bare multiple select. A client-side select2 would not do: the page's
        # autocomplete script takes over every box of that theme and finds no results.
        include_segments = forms.ModelMultipleChoiceField(
            Segment.objects.all(),
            required=False,
            label=capfirst(_("send to segments")),
            widget=AutocompleteSelectMultiple(segment_field, workspace_site),
            help_text=_("Added to the lists above: contacts in any of them get it."),
        )
        exclude_segments = forms.ModelMultipleChoiceField(
            Segment.objects.all(),
            required=False,
            label=capfirst(_("except segments")),
            widget=AutocompleteSelectMultiple(segment_field, workspace_site),
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.instance.pk:
                for name in ("include_segments", "exclude_segments"):
                    chosen = campaign_segments(self.instance.pk, exclude=name == "exclude_segments")
                    self.fields[name].initial = [s.pk for s in chosen]

    class CampaignWithSegmentsAdmin(base):  # type: ignore[valid-type, misc]
        form = CampaignSegmentsForm

        def get_fieldsets(self, request, obj=None):
            fieldsets = [list(item) for item in super().get_fieldsets(request, obj)]
            # A resend's audience is the original's non-openers: say so above its lists,
            # whose "leave empty to send to everyone" would mislead here.
            first = ["resend_of"] if self._is_resend(obj) else []
            for item in fieldsets:
                fields = item[1]["fields"]
                if "include_groups" in fields:
                    item[1] = {
                        **item[1],
                        "fields": [*first, *fields, "include_segments", "exclude_segments"],
                    }
            if obj is not None and obj.status == Campaign.Status.SENT:
                fieldsets.append([_("Resend to non-openers"), {"fields": ["resend"]}])
            return [tuple(item) for item in fieldsets]

        def get_readonly_fields(self, request, obj=None):
            readonly = list(super().get_readonly_fields(request, obj))
            return [*readonly, "resend_of"] if self._is_resend(obj) else readonly

        def _is_resend(self, obj) -> bool:
            from engagex.segments.resend import resend_original

            return bool(obj is not None and obj.pk and resend_original(obj.pk) is not None)

        @admin.display(description=_("Resend of"))
        def resend_of(self, obj):
            from django.utils.html import format_html

            from engagex.segments.resend import resend_original

            original = Campaign.objects.filter(pk=resend_original(obj.pk)).first()
            if original is None:
                return "-"
            link = format_html(
                '<a class="text-primary-600" href="{}">{}</a>',
                self._change_url(original.pk),
                original.name,
            )
            return format_html(str(RESEND_OF), campaign=link)

        @admin.display(description=_("send to segments"))
        def include_segments(self, obj):
            return ", ".join(s.name for s in campaign_segments(obj.pk, exclude=False)) or "-"

        @admin.display(description=_("except segments"))
        def exclude_segments(self, obj):
            return ", ".join(s.name for s in campaign_segments(obj.pk, exclude=True)) or "-"

        # --- resend to non-openers -------------------------------------------------------
        actions_detail = [*getattr(base, "actions_detail", []), "resend_detail"]

        def has_resend_detail_permission(self, request, object_id=None):
            return self._can_send(request)

        def get_actions_detail(self, request, object_id):
            actions = super().get_actions_detail(request, object_id)
            campaign = self.get_object(request, object_id)
            if campaign is not None and campaign.status == Campaign.Status.SENT:
                return actions
            return [a for a in actions if not a.action_name.endswith("resend_detail")]

        @unfold_action(
            description=_("Resend to non-openers…"),
            url_path="resend",
            permissions=["resend_detail"],
        )
        def resend_detail(self, request, object_id):
            from django.contrib import messages
            from django.shortcuts import redirect

            from engagex.segments.resend import campaign_resend_non_openers

            campaign = self._existing(request, object_id)
            form = ResendForm(request.POST or None)
            if request.method == "POST" and form.is_valid():
                try:
                    resend = campaign_resend_non_openers(
                        campaign=campaign,
                        after_hours=form.cleaned_data["after_hours"],
                        subject=form.cleaned_data["subject"],
                        user=request.user,
                    )
                except ValidationError as error:
                    form_add_errors(form, error, default_field="after_hours")
                else:
                    self.message_user(request, _("Resend created."), messages.SUCCESS)
                    return redirect(self._change_url(resend.pk))
            return self._confirm(
                request, campaign, _("Resend “%s” to non-openers") % campaign.name, form=form
            )

        @admin.display(description=_("Resend"))
        def resend(self, obj):
            from django.utils.html import format_html

            from engagex.analytics.models import CampaignStats
            from engagex.segments.resend import resend_of

            made = resend_of(obj.pk)
            if made is None:
                return _("Not resent. Use “Resend to non-openers…” above.")
            copy = made.campaign
            stats = CampaignStats.objects.filter(campaign=copy).first()
            opened = f"{stats.rate(stats.opens_unique)} %" if stats else "-"
            return format_html(
                '<a href="{}">{}</a> · {} · {}: {} · {}: {}',
                self._change_url(copy.pk),
                copy.name,
                copy.get_status_display(),
                _("recipients"),
                number(copy.recipients_total),
                _("opened"),
                opened,
            )

    workspace_site.unregister(Campaign)
    workspace_site.register(Campaign, CampaignWithSegmentsAdmin)


_extend_campaign_admin()
