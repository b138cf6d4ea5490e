from engagex.core.tasks import tenant_task
from engagex.email_templates.services.links import template_links_check as links_check


@tenant_task
def template_links_check(schema_name: str, template_id: int) -> int:
    """Check the pending links of one template (each with a timeout)."""
    return links_check(template_id=template_id)
