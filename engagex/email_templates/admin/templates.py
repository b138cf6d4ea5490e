from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import action

from engagex.core.admin import ServiceErrorsAdminMixin, confirm_response
from engagex.core.sites import workspace_site
from engagex.core.tenancy import workspace_name
from engagex.email_templates.admin.editor import VisualEditorAdminMixin
from engagex.email_templates.admin.starters import StartersAdminMixin
from engagex.email_templates.admin.versions import TemplateVersionsAdminMixin
from engagex.email_templates.forms import EmailTemplateForm, SendTestForm
from engagex.email_templates.models import TEMPLATE_FIELDS, Editor, EmailTemplate
from engagex.email_templates.sandbox import sample_context
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.selectors import (
    preview_contact_get,
    preview_contact_list,
    template_checks,
)
from engagex.email_templates.services import (
    EDITABLE_FIELDS,
    html_with_preheader,
    template_compile_source,
    template_create,
    template_duplicate,
    template_render,
    template_send_test,
    template_update,
    template_warnings,
)
from engagex.email_templates.services.links import link_checks_request

SAVED_WITH_WARNINGS = _("The template was saved, but some merge tags will render empty:")
CONTACT_NOT_FOUND = _("That contact does not exist; the preview uses the sample contact.")
CONTACTS_NOT_VISIBLE = _("You cannot see contacts; the preview uses the sample contact.")
PREVIEW_WIDTHS = {"desktop": 640, "mobile": 375}


class EmailTemplateAdmin(
    ServiceErrorsAdminMixin,
    VisualEditorAdminMixin,
    StartersAdminMixin,
    TemplateVersionsAdminMixin,
    ModelAdmin,
):
    form = EmailTemplateForm
    list_display = ["name", "subject", "updated_at", "updated_by"]
    search_fields = ["name", "subject"]
    list_select_related = ["updated_by"]
    readonly_fields = ["created_by", "created_at", "updated_by", "updated_at"]
    actions = ["duplicate_selected"]
    actions_list = ["from_starter"]
    actions_detail = ["preview", "duplicate"]
    actions_row = ["preview"]
    change_form_template = "admin/email_templates/emailtemplate/change_form.html"

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["name", "description"]}),
            (_("Message"), {"fields": ["subject", "preheader", "editor"]}),
            (
                _("Content"),
                {"fields": ["mjml_source", "design", "html_body", "text_body"]},
            ),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    _("Record"),
                    {"fields": [("created_by", "created_at"), ("updated_by", "updated_at")]},
                )
            )
        return self.editor_fieldsets(request, obj, fieldsets)

    def get_urls(self):
        return [
            path(
                "live-preview/",
                self.admin_site.admin_view(self.live_preview_view),
                name="email_templates_emailtemplate_live_preview",
            ),
            path(
                "<path:object_id>/link-checks/",
                self.admin_site.admin_view(self.link_checks_view),
                name="email_templates_emailtemplate_link_checks",
            ),
            path(
                "<path:object_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="email_templates_emailtemplate_send_test",
            ),
            *super().get_urls(),
        ]

    # Permission names that unfold's detail actions and the templates ask about.
    def has_duplicate_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_send_test_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        if change:
            saved = template_update(template=obj, user=request.user, **data)
        else:
            saved = template_create(user=request.user, **data)
            obj.pk = saved.pk
        warnings = _warning_lines(template_warnings(template=saved))
        if warnings:
            self.message_user(
                request,
                format_html_join(
                    mark_safe("<br>"),  # noqa: S308 (a constant)
                    "{}",
                    [(SAVED_WITH_WARNINGS,), *((line,) for line in warnings)],
                ),
                messages.WARNING,
            )

    @action(
        description=_("New from a starter"),
        permissions=["add"],
        icon="auto_awesome_mosaic",
        url_path="new-from-starter",
    )
    def from_starter(self, request):
        return redirect(
            reverse(
                "admin:email_templates_emailtemplate_starters", current_app=self.admin_site.name
            )
        )

    # --- duplicate ------------------------------------------------------------------------
    @admin.action(description=_("Duplicate selected templates"), permissions=["add"])
    def duplicate_selected(self, request, queryset):
        copies = 0
        for template in queryset.order_by("name"):
            try:
                template_duplicate(template=template, user=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"{template.name}: {' '.join(error.messages)}", messages.ERROR
                )
            else:
                copies += 1
        if copies:
            self.message_user(
                request,
                ngettext("%d template duplicated.", "%d templates duplicated.", copies) % copies,
                messages.SUCCESS,
            )

    @action(
        description=_("Duplicate"),
        permissions=["duplicate"],
        icon="content_copy",
        url_path="duplicate",
    )
    def duplicate(self, request, object_id):
        """Ask, then copy the template and open the copy."""
        template = self._template_or_404(request, object_id)
        if request.method == "POST":
            try:
                copy = template_duplicate(template=template, user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return redirect(self._url("change", template.pk))
            self.log_addition(request, copy, [{"added": {}}])
            self.message_user(
                request,
                _("“%(name)s” was created; you are now editing the copy.") % {"name": copy.name},
                messages.SUCCESS,
            )
            return redirect(self._url("change", copy.pk))
        return confirm_response(
            self, request, title=_("Duplicate “%(name)s”") % {"name": template.name},
            text=_("A new template “Copy of %(name)s” is created with the same subject, "
                   "preheader, bodies and description. Campaigns that use “%(name)s” keep "
                   "using it.") % {"name": template.name},
            cancel_url=self._url("change", template.pk), submit_label=_("Duplicate"),
        )  # fmt: skip

    # --- preview and test sends -----------------------------------------------------------
    @action(description=_("Preview"), permissions=["view"], icon="visibility", url_path="preview")
    def preview(self, request, object_id):
        """Show the template rendered for a chosen or the sample contact."""
        template = self._template_or_404(request, object_id)
        return self._preview_response(request, template, SendTestForm())

    def send_test_view(self, request, object_id):
        template = self._template_or_404(request, object_id)
        if not self.has_send_test_permission(request, template):
            raise PermissionDenied
        if request.method != "POST":
            return redirect(self._url("preview", template.pk))
        form = SendTestForm(request.POST)
        if form.is_valid():
            contact, _notice = self._preview_contact(request)
            try:
                sent = template_send_test(
                    template=template,
                    recipients=form.cleaned_data["recipients"],
                    workspace_name=workspace_name(request),
                    user=request.user,
                    contact=contact,
                )
            except ValidationError as error:
                form.add_error("recipients", error.messages)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "A test email was sent to %(addresses)s.",
                        "%(count)d test emails were sent to %(addresses)s.",
                        sent,
                    )
                    % {"count": sent, "addresses": ", ".join(form.cleaned_data["recipients"])},
                    messages.SUCCESS,
                )
                return redirect(self._preview_url(template, request.GET))
        return self._preview_response(request, template, form)

    def _preview_response(self, request, template, send_form):
        contact, notice = self._preview_contact(request)
        width = "mobile" if request.GET.get("width") == "mobile" else "desktop"
        search = request.GET.get("q", "").strip()
        can_pick = request.user.has_perm("contacts.view_contact")
        rendered, render_error = None, None
        try:
            rendered = template_render(
                template=template, contact=contact, workspace_name=workspace_name(request)
            )
        except ValidationError as error:
            render_error = " ".join(error.messages)
        chosen = {"contact": contact.pk} if contact else {}
        link_checks_request(template=template, html=template.html_body)
        checklist = template_checks(
            template=template,
            subject=rendered.subject if rendered else None,  # as the inbox shows it
            preheader=rendered.preheader if rendered else None,
            rendered_html=html_with_preheader(rendered.html, rendered.preheader)
            if rendered
            else None,
            merge_warnings=template_warnings(template=template),
        )
        context = {
            "checklist": checklist,
            "link_checks_url": self._url("link_checks", template.pk),
            **self.admin_site.each_context(request),
            "title": _("Preview: %(name)s") % {"name": template.name},
            "opts": self.model._meta,
            "original": template,
            "rendered": rendered,
            "render_error": render_error,
            "contact": contact,
            "contact_notice": notice,
            "can_pick_contact": can_pick,
            "search": search,
            "matches": preview_contact_list(search=search) if can_pick else [],
            "width": width,
            "frame_width": PREVIEW_WIDTHS[width],
            "width_links": {
                name: self._preview_url(template, {**chosen, "width": name})
                for name in PREVIEW_WIDTHS
            },
            "sample_url": self._preview_url(template, {"width": width}),
            "sample_email": sample_context()["contact"]["email"],
            "chosen_query": urlencode({**chosen, "width": width}),
            "can_send_test": self.has_send_test_permission(request, template),
            "can_change": self.has_change_permission(request, template),
            "can_duplicate": self.has_duplicate_permission(request, template),
            "send_form": send_form,
        }
        return TemplateResponse(
            request, "admin/email_templates/emailtemplate/preview.html", context
        )

    def _preview_contact(self, request):
        """The contact named by ?contact=<id>, with a notice when it cannot be used."""
        contact_id = request.GET.get("contact")
        if not contact_id:
            return None, None
        if not request.user.has_perm("contacts.view_contact"):
            return None, CONTACTS_NOT_VISIBLE
        contact = preview_contact_get(contact_id=contact_id)
        return contact, None if contact else CONTACT_NOT_FOUND

    def live_preview_view(self, request):
        """Render the (unsaved) form fields for the change form's preview pane.

        Rendering text nobody saved is part of editing: it needs the change permission
        (a Viewer previews saved templates only, through the preview page).
        """
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        draft = EmailTemplate(**{name: request.POST.get(name, "") for name in TEMPLATE_FIELDS})
        if request.POST.get("editor") in (Editor.MJML, Editor.VISUAL):
            draft.editor = request.POST["editor"]
            draft.mjml_source = request.POST.get("mjml_source", "")
        try:
            with render_limits():  # compiling and rendering the draft: one email's caps
                template_compile_source(draft)  # the MJML, for the code and visual editors
                draft.clean()
                rendered = template_render(template=draft, workspace_name=workspace_name(request))
        except ValidationError as error:
            return JsonResponse({"errors": _error_lines(error), "warnings": []})
        return JsonResponse(
            {
                "errors": [],
                "warnings": _warning_lines(template_warnings(template=draft)),
                "subject": rendered.subject,
                "preheader": rendered.preheader,
                "html": rendered.html,
                "text": rendered.text,
            }
        )

    def link_checks_view(self, request, object_id):
        """GET: the template's link checks as JSON, for the checklist to update itself."""
        template = self._template_or_404(request, object_id)
        item = template_checks(template=template, rendered_html=None, merge_warnings={})[-1]
        return JsonResponse(
            {
                "status": item.status,
                "detail": str(item.detail),
                "links": [{**link, "label": str(link["label"])} for link in item.items],
            }
        )

    # --- helpers --------------------------------------------------------------------------
    def _template_or_404(self, request, object_id) -> EmailTemplate:
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        return template

    def _url(self, view: str, *args) -> str:
        return reverse(
            f"admin:email_templates_emailtemplate_{view}",
            args=args,
            current_app=self.admin_site.name,
        )

    def _preview_url(self, template, params) -> str:
        query = {key: params[key] for key in ("contact", "width") if params.get(key)}
        url = self._url("preview", template.pk)
        return f"{url}?{urlencode(query)}" if query else url


def _error_lines(error: ValidationError) -> list[str]:
    if not hasattr(error, "error_dict"):
        return error.messages
    return _field_lines(error.message_dict)


def _warning_lines(warnings: dict[str, list[str]]) -> list[str]:
    return _field_lines(warnings)


def _field_lines(messages_by_field: dict[str, list[str]]) -> list[str]:
    fields = EmailTemplate._meta.fields
    labels = {field.name: field.verbose_name for field in fields}
    return [
        f"{capfirst(labels.get(field, field))}: {message}"
        for field, field_messages in messages_by_field.items()
        for message in field_messages
    ]


workspace_site.register(EmailTemplate, EmailTemplateAdmin)
