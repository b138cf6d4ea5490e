from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import display

from engagex.contacts.forms import (
    ContactForm,
    ContactGroupForm,
    GroupChoiceForm,
    ImportMappingForm,
    ImportUploadForm,
)
from engagex.contacts.history import contact_campaign_history
from engagex.contacts.models import (
    EXPORT_PERMISSION,
    Contact,
    ContactGroup,
    ContactStatus,
    ImportJob,
    MembershipStatus,
)
from engagex.contacts.selectors import contact_search, contacts_in_list, group_list
from engagex.contacts.services import importing
from engagex.contacts.services.contacts import (
    contact_create,
    contact_delete_many,
    contact_update,
    group_add_contacts,
    group_remove_contacts,
)
from engagex.contacts.services.exporting import (
    export_csv_stream,
    export_record,
    export_xlsx_file,
)
from engagex.contacts.services.lists import group_create, group_delete_many, group_update
from engagex.core.admin import ServiceErrorsAdminMixin, form_add_errors
from engagex.core.formats import number
from engagex.core.paginator import LargeTablePaginator
from engagex.core.sites import workspace_site

STATUS_COLORS = {
    ContactStatus.SUBSCRIBED: "success",
    ContactStatus.UNSUBSCRIBED: "warning",
    ContactStatus.BOUNCED: "danger",
    ContactStatus.COMPLAINED: "danger",
}


class ListFilter(admin.SimpleListFilter):
    title = _("list")
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in ContactGroup.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            group_id = int(self.value())
        except ValueError:
            return queryset.none()
        status = request.GET.get(ListStatusFilter.parameter_name) or None
        return contacts_in_list(queryset, group_id=group_id, status=status)


class ListStatusFilter(admin.SimpleListFilter):
    title = _("list status")
    parameter_name = "list_status"

    def lookups(self, request, model_admin):
        return MembershipStatus.choices

    def queryset(self, request, queryset):
        if not self.value() or request.GET.get(ListFilter.parameter_name):
            return queryset  # with a list chosen, ListFilter applies both together
        if self.value() not in MembershipStatus.values:
            return queryset.none()
        return contacts_in_list(queryset, group_id=None, status=self.value())


class ContactAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = ContactForm
    list_display = ["email", "first_name", "last_name", "status_badge", "language", "created_at"]
    list_filter = ["status", ListFilter, ListStatusFilter, "language"]
    search_fields = ["email"]  # enables the search box; contact_search does the matching
    search_help_text = _("Matches the start of the email address, first name or last name.")
    ordering = ["-id"]
    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50
    autocomplete_fields: list[str] = []
    readonly_fields = [
        "status_changed_at",
        "status_source",
        "created_at",
        "updated_at",
        "campaign_history",
        "list_memberships",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["email", ("first_name", "last_name"), "phone", ("language", "timezone")]},
        ),
        (
            _("Subscription"),
            {
                "fields": [
                    "status",
                    "status_changed_at",
                    "status_source",
                    "consent_at",
                    "consent_source",
                ]
            },
        ),
        (_("Lists"), {"fields": ["lists", "list_memberships"]}),
        (_("Custom attributes"), {"fields": ["attributes"], "classes": ["collapse"]}),
        (_("Campaign history"), {"fields": ["campaign_history"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["add_to_group", "remove_from_group", "export_selected_csv", "delete_contacts"]
    change_list_template = "admin/contacts/contact/change_list.html"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # a new contact has no campaign history and no record dates yet
            return [fs for fs in fieldsets if fs[0] not in (_("Campaign history"), _("Record"))]
        return fieldsets

    def get_urls(self):
        return [
            path(
                "export/csv/",
                self.admin_site.admin_view(self.export_csv_view),
                name="contacts_contact_export_csv",
            ),
            path(
                "export/xlsx/",
                self.admin_site.admin_view(self.export_xlsx_view),
                name="contacts_contact_export_xlsx",
            ),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by a set-based delete
        return actions

    def get_search_results(self, request, queryset, search_term):
        return contact_search(queryset, search_term), False

    @display(description=_("Status"), label=STATUS_COLORS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("Last campaigns"))
    def campaign_history(self, obj):
        rows = contact_campaign_history(contact=obj) if obj.pk else []
        if not rows:
            return _("No campaigns sent to this contact yet.")
        return format_html(
            '<table class="engagex-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            _("Campaign"),
            _("Result"),
            _("When"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        r.campaign,
                        r.outcome,
                        date_format(localtime(r.sent_at), "DATETIME_FORMAT") if r.sent_at else "—",
                    )
                    for r in rows
                ),
            ),
        )

    @display(description=_("Memberships"))
    def list_memberships(self, obj):
        rows = (
            list(obj.memberships.select_related("group").order_by("group__name")) if obj.pk else []
        )
        if not rows:
            return _("Not on any list yet.")
        return format_html(
            '<table class="engagex-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("List"),
            _("Status"),
            _("Consent"),
            _("Confirmed"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (m.group.name, m.get_status_display(), consent_line(m), _when(m.confirmed_at))
                    for m in rows
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        data = dict(form.cleaned_data)
        data["groups"] = data.pop("lists", None)
        if change:
            contact_update(contact=obj, **data)
        else:
            created = contact_create(**data)
            # The admin goes on with `obj` (log entry, redirect): make it the saved row.
            for field in Contact._meta.concrete_fields:
                setattr(obj, field.attname, getattr(created, field.attname))
            obj._state.adding = False
            obj._state.db = created._state.db

    def save_related(self, request, form, formsets, change):
        # The groups were saved by the service in save_model; only formsets are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # --- exports -----------------------------------------------------------------------
    def has_export_permission(self, request):
        return request.user.has_perm(EXPORT_PERMISSION)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def _filtered_queryset(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return changelist.get_queryset(request)

    def export_csv_view(self, request):
        queryset = self._filtered_queryset(request)
        export_record(
            user=request.user, queryset=queryset, file_format="CSV", filters=_filters(request)
        )
        return _csv_response(queryset)

    def export_xlsx_view(self, request):
        queryset = self._filtered_queryset(request)
        export_record(
            user=request.user, queryset=queryset, file_format="XLSX", filters=_filters(request)
        )
        handle = export_xlsx_file(queryset)
        return FileResponse(handle, as_attachment=True, filename=_export_name("xlsx"))

    @admin.action(description=_("Export selected to CSV"), permissions=["export"])
    def export_selected_csv(self, request, queryset):
        export_record(user=request.user, queryset=queryset, file_format="CSV", filters="selected")
        return _csv_response(queryset)

    # --- group actions -----------------------------------------------------------------
    @admin.action(description=_("Add selected to a list"), permissions=["change"])
    def add_to_group(self, request, queryset):
        return self._group_action(
            request,
            queryset,
            group_add_contacts,
            _("Add to list"),
            _("%(n)d contact(s) added to “%(group)s”."),
        )

    @admin.action(description=_("Remove selected from a list"), permissions=["change"])
    def remove_from_group(self, request, queryset):
        return self._group_action(
            request,
            queryset,
            group_remove_contacts,
            _("Remove from list"),
            _("%(n)d contact(s) removed from “%(group)s”."),
        )

    def _group_action(self, request, queryset, service, title, done):
        form = GroupChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            group = form.cleaned_data["group"]
            count = service(group=group, contacts=queryset, user=request.user)
            self.message_user(request, done % {"n": count, "group": group.name}, messages.SUCCESS)
            return None
        return self._intermediate(request, queryset, title, form)

    @admin.action(description=_("Delete selected contacts"), permissions=["delete"])
    def delete_contacts(self, request, queryset):
        if "apply" in request.POST:
            count = contact_delete_many(contacts=queryset)
            self.message_user(
                request,
                ngettext("%d contact deleted.", "%d contacts deleted.", count) % count,
                messages.SUCCESS,
            )
            return None
        return self._intermediate(request, queryset, _("Delete contacts"), None, danger=True)

    def _intermediate(self, request, queryset, title, form, danger=False):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "count": queryset.count(),
            "action": request.POST.get("action"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "danger": danger,
            "query_string": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/contacts/contact/action_confirm.html", context)


def _members_link(group, status, count):
    """The count, linking to the contact list filtered to these members."""
    query = f"list={group.pk}" + (f"&list_status={status}" if status else "")
    url = reverse("admin:contacts_contact_changelist")
    return format_html('<a class="text-primary-600" href="{}?{}">{}</a>', url, query, number(count))


def _when(moment) -> str:
    return date_format(localtime(moment), "DATETIME_FORMAT") if moment else "—"


def consent_line(membership) -> str:
    """The consent evidence of a membership in one line: "Sign-up form · 3 May 2026, 10:02 ·
    203.0.113.7"."""
    parts = [str(membership.get_source_display()), _when(membership.consent_at)]
    if membership.consent_ip:
        parts.append(membership.consent_ip)
    return " · ".join(parts)


def _export_name(extension: str) -> str:
    return f"contacts-{timezone.now():%Y%m%d-%H%M}.{extension}"


def _csv_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        export_csv_stream(queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return response


def _filters(request) -> str:
    """The changelist's filters and search as the audit entry shows them."""
    return "&".join(
        f"{name}={value}"
        for name, value in request.GET.items()
        if name not in {"o", "p", "_changelist_filters"}
    )


class ContactGroupAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = ContactGroupForm
    list_display = [
        "name",
        "visibility_badge",
        "opt_in_label",
        "subscribed",
        "unconfirmed",
        "unsubscribed",
        "members",
    ]
    search_fields = ["name"]
    fields = ["name", "description", "opt_in", "visibility", "member_counts"]
    readonly_fields = ["member_counts"]

    def get_queryset(self, request):
        return group_list()

    def delete_model(self, request, obj):
        group_delete_many(groups=ContactGroup.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        group_delete_many(groups=queryset)

    @display(description=_("Visibility"), label={"public": "success", "private": "info"})
    def visibility_badge(self, obj):
        label = _("Public") if obj.is_public else _("Private")
        return obj.visibility, label

    @display(description=_("Opt-in"))
    def opt_in_label(self, obj):
        return _("Double") if obj.opt_in == ContactGroup.OptIn.DOUBLE else _("Single")

    # "Subscribed": whom a campaign to the list reaches (a bounced contact stays a member).
    @display(description=_("Subscribed"), ordering="reachable_count")
    def subscribed(self, obj):
        return _members_link(obj, MembershipStatus.SUBSCRIBED, obj.reachable_count)

    @display(description=_("Unconfirmed"), ordering="unconfirmed_count")
    def unconfirmed(self, obj):
        return _members_link(obj, MembershipStatus.UNCONFIRMED, obj.unconfirmed_count)

    @display(description=_("Unsubscribed"), ordering="unsubscribed_count")
    def unsubscribed(self, obj):
        return _members_link(obj, MembershipStatus.UNSUBSCRIBED, obj.unsubscribed_count)

    @display(description=_("All members"), ordering="member_count")
    def members(self, obj):
        return _members_link(obj, None, obj.member_count)

    @display(description=_("Members"))
    def member_counts(self, obj):
        if obj is None or obj.pk is None:
            return _("No members yet.")
        counts = group_list().get(pk=obj.pk)
        rows = [
            (_("Subscribed"), MembershipStatus.SUBSCRIBED, counts.subscribed_count),
            (_("Unconfirmed"), MembershipStatus.UNCONFIRMED, counts.unconfirmed_count),
            (_("Unsubscribed"), MembershipStatus.UNSUBSCRIBED, counts.unsubscribed_count),
        ]
        return format_html(
            '{}<p class="mt-2">{}</p>',
            format_html_join(
                " · ",
                "{}: {}",
                ((label, _members_link(obj, status, count)) for label, status, count in rows),
            ),
            _(
                "Reached by a campaign to this list: %(count)s (subscribed here and not "
                "unsubscribed from everything, bounced or complained)."
            )
            % {"count": number(counts.reachable_count)},
        )

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ContactGroupForm.Meta.fields}
        if change:
            group_update(group=obj, **data)
        else:
            obj.pk = group_create(**data).pk

    def view_on_site(self, obj):
        return None


IMPORT_STATUS_COLORS = {
    ImportJob.Status.READING: "info",
    ImportJob.Status.MAPPING: "info",
    ImportJob.Status.VALIDATING: "info",
    ImportJob.Status.VALIDATED: "warning",
    ImportJob.Status.IMPORTING: "info",
    ImportJob.Status.DONE: "success",
    ImportJob.Status.FAILED: "danger",
    ImportJob.Status.CANCELLED: "danger",
}


class ImportJobAdmin(ModelAdmin):
    list_display = [
        "original_name",
        "status_badge",
        "progress",
        "summary",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["original_name"]
    list_select_related = ["created_by"]

    def get_urls(self):
        return [
            path(
                "<int:job_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="contacts_importjob_progress",
            ),
            path(
                "<int:job_id>/errors.csv",
                self.admin_site.admin_view(self.error_report_view),
                name="contacts_importjob_errors",
            ),
            *super().get_urls(),
        ]

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("contacts.add_importjob")

    @display(description=_("Status"), label=IMPORT_STATUS_COLORS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("Progress"))
    def progress(self, obj):
        return f"{obj.progress_percent}%" if obj.is_running else "—"

    @display(description=_("Result"))
    def summary(self, obj):
        counts = obj.counts or {}
        if "new" not in counts:
            return "—"
        rejected = sum(counts.get(k, 0) for k in ("invalid", "duplicate", "over_limit"))
        return _("%(new)s new · %(update)s updated · %(rejected)s rejected") % {
            "new": number(counts.get("new", 0)),
            "update": number(counts.get("update", 0)),
            "rejected": number(rejected),
        }

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = importing.import_job_create(
                    upload=form.cleaned_data["file"],
                    created_by=request.user,
                    encoding=form.cleaned_data["encoding"],
                )
            except ValidationError as error:
                form.add_error("file", error.messages)
            else:
                return redirect(reverse("admin:contacts_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import contacts"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/contacts/importjob/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        form = None
        if request.method == "POST":
            if not self.has_change_permission(request, job):
                raise PermissionDenied
            response, form = self._handle_post(request, job)
            if response is not None:
                return response
        if job.status == ImportJob.Status.MAPPING and form is None:
            form = ImportMappingForm(job=job)
        opted_out = (job.counts or {}).get("opted_out") or {}
        context = {
            **self.admin_site.each_context(request),
            "title": job.original_name,
            "opts": self.model._meta,
            "job": job,
            "form": form,
            "can_change": self.has_change_permission(request, job),
            "file_description": file_description(job),
            # The rejected rows' file holds their addresses, names and phones: an export.
            "can_export": request.user.has_perm("contacts.export_contact"),
            "errors": importing.import_job_errors(job=job)
            if job.status == ImportJob.Status.VALIDATED
            else [],
            "counts": [(key, label, job.counts.get(key, 0)) for key, label in COUNT_LABELS],
            "opted_out": sum(opted_out.values()),
            "opted_out_counts": [
                (label, opted_out.get(key, 0))
                for key, label in OPTED_OUT_LABELS
                if opted_out.get(key, 0)
            ],
            "stalled": importing.import_job_stalled(job=job),
            "background": importing.import_runs_in_background(job),
        }
        return TemplateResponse(request, "admin/contacts/importjob/detail.html", context)

    def _handle_post(self, request, job):
        step = request.POST.get("step")
        here = redirect(reverse("admin:contacts_importjob_change", args=[job.pk]))
        try:
            if step == "configure":
                form = ImportMappingForm(request.POST, job=job)
                if not form.is_valid() or not self._configure(request, job, form):
                    return None, form
                importing.import_job_check(job=job)
            elif step == "confirm":
                importing.import_job_confirm(job=job, user=request.user)
                job = importing.import_job_start(job=job)
                if job.status == ImportJob.Status.DONE:
                    self.message_user(request, _("Import finished."), messages.SUCCESS)
            elif step in {"retry", "resume"}:
                importing.import_job_retry(job=job, user=request.user)
            elif step == "remap":
                importing.import_job_remap(job=job)
            elif step == "cancel":
                job = importing.import_job_cancel(job=job, user=request.user)
                if job.applied_through_row:
                    message = _(
                        "Import cancelled; the rows imported before it stopped stay imported."
                    )
                else:
                    message = _("Import cancelled; nothing was changed.")
                self.message_user(request, message, messages.INFO)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        return here, None

    def _configure(self, request, job, form) -> bool:
        """Store the mapping page's choices; False when the service refused them.

        The refusal (the mapping: above the form; the consent answer: on its field) is put
        on the form, which the page shows again with what was chosen; nothing is stored.
        """
        try:
            importing.import_job_configure(
                job=job,
                mapping=form.mapping(),
                update_existing=form.cleaned_data["update_existing"],
                groups=form.cleaned_data["groups"],
                unknown_columns=form.cleaned_data["unknown_columns"],
                file_status=form.cleaned_data["file_status"],
                list_consent=form.cleaned_data["list_consent"],
                user=request.user,
            )
        except ValidationError as error:
            if job.status != ImportJob.Status.MAPPING:
                raise  # no mapping form on the page (e.g. a stale tab): shown as a message
            form_add_errors(form, error)
            return False
        return True

    def progress_view(self, request, job_id):
        job = get_object_or_404(ImportJob, pk=job_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return JsonResponse(
            {
                "status": job.status,
                "phase": job.phase,
                "percent": job.progress_percent,
                "processed": job.processed_rows,
                "total": job.total_rows,
                "message": job.error_message,
            }
        )

    def error_report_view(self, request, job_id):
        job = get_object_or_404(ImportJob, pk=job_id)
        if not self.has_view_permission(request, job) or not job.error_report:
            raise Http404
        if not request.user.has_perm("contacts.export_contact"):
            raise PermissionDenied
        return FileResponse(
            job.error_report.open("rb"),
            as_attachment=True,
            filename=f"import-{job.pk}-rejected-rows.csv",
        )


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}
DELIMITER_LABELS = {
    ",": _("comma-separated"),
    ";": _("semicolon-separated"),
    "\t": _("tab-separated"),
    "|": _("separated by “|”"),
}


def file_description(job: ImportJob) -> str:
    """The upload's format as a person reads it: "CSV · UTF-8 · semicolon-separated"."""
    parts = [job.file_format.upper()]
    if job.encoding:
        parts.append(ENCODING_LABELS.get(job.encoding, job.encoding.upper()))
    if job.delimiter:
        parts.append(str(DELIMITER_LABELS.get(job.delimiter, job.delimiter)))
    return " · ".join(parts)


COUNT_LABELS = [
    ("new", _("New contacts")),
    ("update", _("Existing, updated")),
    # "unchanged": updating was on, and the file holds nothing new for them.
    # "skipped": updating was off, so their details were not compared or changed.
    ("unchanged", _("Existing, already up to date")),
    ("skipped", _("Existing, not updated (updating is off)")),
    ("invalid", _("Invalid rows")),
    ("duplicate", _("Duplicates within the file")),
    ("over_limit", _("Over the contact limit")),
]
OPTED_OUT_LABELS = [
    ("unsubscribed", _("unsubscribed")),
    ("bounced", _("bounced")),
    ("complained", _("marked as spam")),
]


workspace_site.register(Contact, ContactAdmin)
workspace_site.register(ContactGroup, ContactGroupAdmin)
workspace_site.register(ImportJob, ImportJobAdmin)

from engagex.contacts import admin_attributes  # noqa: E402, F401  (registers its admin)
