"""A template's versions: what each content-changing save left."""

from django.db import transaction

from engagex.email_templates.models import VERSIONED_FIELDS, EmailTemplate, TemplateVersion


def template_snapshot(source) -> dict:
    """The versioned fields of a template or a version."""
    return {field: getattr(source, field) for field in VERSIONED_FIELDS}


def template_version_write(
    *, template: EmailTemplate, user, restored_from: int | None = None
) -> TemplateVersion:
    """Record the template as it is now as its next version."""
    latest = template.versions.order_by("-number").values_list("number", flat=True).first()
    return TemplateVersion.objects.create(
        template=template,
        number=(latest or 0) + 1,
        created_by=user,
        restored_from=restored_from,
        **template_snapshot(template),
    )


@transaction.atomic
def template_version_current(*, template: EmailTemplate, user) -> TemplateVersion:
    """The version matching the template as stored; written first when there is none.

    Templates saved before versions existed (or written around the services) have none:
    whatever pins "the version it sent" gets one then.
    """
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    latest = template.versions.order_by("-number").first()
    if latest is not None and template_snapshot(latest) == template_snapshot(template):
        return latest
    return template_version_write(template=template, user=user)
