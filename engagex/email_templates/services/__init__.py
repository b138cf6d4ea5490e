"""Writes of the templates app: templates and their versions, the media library, the brand kit.

The names other apps and the tests import live here, as they did when this was one module.
"""

from engagex.email_templates.services.rendering import (
    TEST_RECIPIENTS_INVALID,
    TEST_RECIPIENTS_MAX,
    TEST_RECIPIENTS_REQUIRED,
    TEST_RECIPIENTS_TOO_MANY,
    RenderedEmail,
    contact_merge_data,
    html_with_preheader,
    merge_contact,
    template_render,
    template_send_test,
    template_test_recipients_clean,
)
from engagex.email_templates.services.templates import (
    COPY_NAME,
    EDITABLE_FIELDS,
    HTML_BODY_EMPTY,
    html_to_text,
    template_compile_source,
    template_content_check,
    template_create,
    template_duplicate,
    template_from_starter,
    template_restore,
    template_update,
    template_warnings,
)
from engagex.email_templates.services.versions import (
    template_version_current,
    template_version_write,
)

__all__ = [
    "COPY_NAME",
    "EDITABLE_FIELDS",
    "HTML_BODY_EMPTY",
    "TEST_RECIPIENTS_INVALID",
    "TEST_RECIPIENTS_MAX",
    "TEST_RECIPIENTS_REQUIRED",
    "TEST_RECIPIENTS_TOO_MANY",
    "RenderedEmail",
    "contact_merge_data",
    "html_to_text",
    "html_with_preheader",
    "merge_contact",
    "template_compile_source",
    "template_content_check",
    "template_create",
    "template_duplicate",
    "template_from_starter",
    "template_render",
    "template_restore",
    "template_send_test",
    "template_test_recipients_clean",
    "template_update",
    "template_version_current",
    "template_version_write",
    "template_warnings",
]
