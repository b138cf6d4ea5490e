"""The drag-and-drop editor on the template change page (the widget's admin side).

Editors (change permission) get `VisualEditorWidget` on `design`, given this request's
`editor_config`. Viewers see a visual template in the same editor, read-only: no blocks,
no toolbar that changes anything, no form field (and no save button: the admin has none
for them).
"""

import json
from contextvars import ContextVar

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from engagex.email_templates.models import Editor
from engagex.email_templates.selectors import editor_config
from engagex.email_templates.widgets import VisualEditorWidget

READONLY_DESIGN = "visual_design"
# The request whose change page is being built: a display method is given the object only,
# and the admin instance is shared by every thread.
_request: ContextVar = ContextVar("visual_editor_request", default=None)


class VisualEditorAdminMixin:
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A subclass per request: the shared form class (and its widget) never holds one
        # workspace's endpoints, tags or brand kit for the next request.
        return type(form.__name__, (form,), {"editor_config": editor_config(request, obj)})

    def editor_fieldsets(self, request, obj, fieldsets):
        """For Viewers: the design itself instead of its JSON and the code it compiles to."""
        if self.has_change_permission(request, obj):
            return fieldsets
        editor = obj.editor if obj is not None else Editor.HTML
        hidden = {
            Editor.VISUAL: {"mjml_source", "html_body"},
            Editor.MJML: {"design", "html_body"},
        }.get(editor, {"design", "mjml_source"})
        shown = {"design": READONLY_DESIGN} if editor == Editor.VISUAL else {}
        return [
            (name, {**options, "fields": _swap(options["fields"], hidden, shown)})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_change_permission(request, obj):
            fields.append(READONLY_DESIGN)
        return fields

    @admin.display(description=_("Design"))
    def visual_design(self, obj):
        widget = VisualEditorWidget(
            config=editor_config(_request.get(), obj), readonly=True, mjml=obj.mjml_source
        )
        design = json.dumps(obj.design) if obj.design else ""
        return format_html("{}{}", widget.media, widget.render(READONLY_DESIGN, design))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        token = _request.set(request)
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            return response.render() if hasattr(response, "render") else response
        finally:
            _request.reset(token)


def _swap(fields, hidden: set[str], shown: dict[str, str]) -> list:
    swapped: list = []
    for field in fields:
        if isinstance(field, list | tuple):
            swapped.append(type(field)(_swap(field, hidden, shown)))
        elif field in shown:
            swapped.append(shown[field])
        elif field not in hidden:
            swapped.append(field)
    return swapped
