"""A template's history (its versions), the diff and side-by-side preview, and restoring."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from engagex.core.admin import confirm_response
from engagex.core.tenancy import workspace_name
from engagex.email_templates.models import VERSIONED_FIELDS, EmailTemplate
from engagex.email_templates.selectors import (
    template_version_diff,
    template_version_get,
    template_version_list,
)
from engagex.email_templates.services import template_render, template_restore

RESTORED = _("Version %(number)s was restored as version %(new)s.")
VERSIONS_PAGE = 100


class TemplateVersionsAdminMixin:
    """The template's History page lists its versions (Django's log stays in the audit log)."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/<int:number>/",
                self.admin_site.admin_view(self.version_view),
                name="email_templates_emailtemplate_version",
            ),
            path(
                "<path:object_id>/history/<int:number>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="email_templates_emailtemplate_restore",
            ),
            *super().get_urls(),
        ]

    def has_restore_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def history_view(self, request, object_id, extra_context=None):
        template = self._template_or_404(request, object_id)
        versions = list(template_version_list(template=template)[:VERSIONS_PAGE])
        context = {
            **self.admin_site.each_context(request),
            "title": _("History: %(name)s") % {"name": template.name},
            "opts": self.model._meta,
            "original": template,
            "versions": versions,
            "can_restore": self.has_restore_permission(request, template),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "admin/email_templates/emailtemplate/history.html", context
        )

    def version_view(self, request, object_id, number):
        """One version beside another (the previous one unless ?compare=<n>): diff, previews."""
        template = self._template_or_404(request, object_id)
        version = self._version_or_404(template, number)
        compare_to = request.GET.get("compare")
        older = (
            template_version_get(template=template, number=compare_to)
            if compare_to
            else template_version_get(template=template, number=version.number - 1)
        )
        name = workspace_name(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(name)s: version %(number)s")
            % {"name": template.name, "number": version.number},
            "opts": self.model._meta,
            "original": template,
            "version": version,
            "older": older,
            "diff": template_version_diff(older, version),
            "previews": [
                (older, *_render(older, name)) if older else None,
                (version, *_render(version, name)),
            ],
            "versions": list(template_version_list(template=template)[:VERSIONS_PAGE]),
            "can_restore": self.has_restore_permission(request, template),
        }
        return TemplateResponse(
            request, "admin/email_templates/emailtemplate/version.html", context
        )

    def restore_view(self, request, object_id, number):
        """Ask, then restore the version as the template's newest (POST only changes it)."""
        template = self._template_or_404(request, object_id)
        if not self.has_restore_permission(request, template):
            raise PermissionDenied
        version = self._version_or_404(template, number)
        back = reverse(
            "admin:email_templates_emailtemplate_version",
            args=[template.pk, version.number],
            current_app=self.admin_site.name,
        )
        if request.method == "POST":
            try:
                restored = template_restore(template=template, version=version, user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return redirect(back)
            newest = template_version_list(template=restored).first()
            self.log_change(request, restored, [{"changed": {"fields": VERSIONED_FIELDS}}])
            self.message_user(
                request,
                RESTORED % {"number": version.number, "new": newest.number if newest else "?"},
                messages.SUCCESS,
            )
            return redirect(self._url("change", template.pk))
        return confirm_response(
            self, request,
            title=_("Restore version %(number)s of “%(name)s”")
            % {"number": version.number, "name": template.name},
            text=_("The template's subject, preheader and content become those of version "
                   "%(number)s. This is saved as a new version: nothing in the history is "
                   "lost, and campaigns already sent keep what they sent.")
            % {"number": version.number},
            cancel_url=back, submit_label=_("Restore"),
        )  # fmt: skip

    def _version_or_404(self, template, number):
        version = template_version_get(template=template, number=number)
        if version is None:
            raise Http404
        return version


def _render(version, name):
    """(rendered, error) of a version for the sample contact, as the preview shows it."""
    draft = EmailTemplate(**{field: getattr(version, field) for field in VERSIONED_FIELDS})
    try:
        return template_render(template=draft, workspace_name=name), None
    except ValidationError as error:
        return None, " ".join(error.messages)
