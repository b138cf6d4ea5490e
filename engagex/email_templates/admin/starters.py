"""New template from a starter: a chooser with a preview of each, in the brand kit."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import gettext_lazy as _

from engagex.core.tenancy import workspace_name
from engagex.email_templates.forms import StarterChoiceForm
from engagex.email_templates.models import Editor, EmailTemplate
from engagex.email_templates.selectors import brand_kit_get, media_asset_url
from engagex.email_templates.services import template_from_starter, template_render
from engagex.email_templates.services.templates import template_compile_source
from engagex.email_templates.starters import IMAGES_PATH, STARTERS, starter_mjml

CREATED_FROM_STARTER = _("“%(name)s” was created from the %(starter)s starter.")


def starter_urls(request) -> dict:
    """Absolute URLs of the logo and the starters' pictures: emails need absolute ones."""
    kit = brand_kit_get()
    logo = media_asset_url(kit.logo, request) if kit.logo else ""
    return {"logo_url": logo, "images_url": request.build_absolute_uri(static(IMAGES_PATH))}


class StartersAdminMixin:
    def get_urls(self):
        return [
            path(
                "starters/",
                self.admin_site.admin_view(self.starters_view),
                name="email_templates_emailtemplate_starters",
            ),
            *super().get_urls(),
        ]

    def starters_view(self, request):
        """GET: the starters, each previewed; POST starter + name: create and open it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        urls = starter_urls(request)
        form = StarterChoiceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                template = template_from_starter(
                    slug=form.cleaned_data["starter"],
                    name=form.cleaned_data["name"],
                    user=request.user,
                    **urls,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, template, [{"added": {}}])
                starter = next(s for s in STARTERS if s.slug == form.cleaned_data["starter"])
                self.message_user(
                    request,
                    CREATED_FROM_STARTER % {"name": template.name, "starter": starter.name},
                )
                return redirect(self._url("change", template.pk))
        kit = brand_kit_get()
        name = workspace_name(request)
        cards = []
        for starter in STARTERS:
            draft = EmailTemplate(
                subject=starter.subject,
                preheader=starter.preheader,
                editor=Editor.VISUAL,
                mjml_source=starter_mjml(starter, kit, **urls),
            )
            try:
                template_compile_source(draft)
                rendered, problem = template_render(template=draft, workspace_name=name), None
            except ValidationError as failure:
                rendered, problem = None, " ".join(failure.messages)
            cards.append({"starter": starter, "rendered": rendered, "error": problem})
        context = {
            **self.admin_site.each_context(request),
            "title": _("New template from a starter"),
            "opts": self.model._meta,
            "cards": cards,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/email_templates/emailtemplate/starters.html", context
        )
