"""Render email templates with Django's template language, restricted to a safe subset.

Templates see plain values only (`contact`, `workspace`, `unsubscribe_url`,
`view_in_browser_url`): no settings, request, models or managers. The engine has no
template loaders and only the tags in `sandbox_library`, so `{% load %}`, `{% include %}`
and `{% extends %}` are syntax errors reported with their line.

For batch sending, `merge_compile` renders everything that is the same for every recipient
once, and turns each top-level piece that depends on the recipient into a merge field whose
value `merge_values` renders per recipient: one request body serves 1,000 recipients.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Node, TextNode
from django.utils.translation import gettext_lazy

from engagex.email_templates.sandbox_library import ALLOWED_TAGS

PER_RECIPIENT_NAMES = ("contact", "unsubscribe_url", "view_in_browser_url")
MERGE_FIELD_FORMAT = "[[x:{}]]"
TAG_NOT_ALLOWED = gettext_lazy(
    "Line {line}: the tag {{% {tag} %}} is not allowed in email templates. Allowed tags: {allowed}."
)
SYNTAX_ERROR = gettext_lazy("Line {line}: {message}")


class _SandboxEngine(Engine):
    default_builtins = []


engine = _SandboxEngine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    debug=True,  # keeps line numbers on syntax errors
    libraries={},
    builtins=["engagex.email_templates.sandbox_library"],
    string_if_invalid="",
    autoescape=True,
)


def template_compile(source: str):
    """Compile `source`; raise ValidationError naming the line of the first problem."""
    try:
        return engine.from_string(source or "")
    except TemplateSyntaxError as error:
        raise ValidationError(_describe(error, source or "")) from error


def _describe(error: TemplateSyntaxError, source: str) -> str:
    line = getattr(error, "template_debug", {}).get("line") or 1
    message = str(error)
    match = re.match(r"Invalid block tag on line (\d+): '([^']+)'", message)
    if match:
        return TAG_NOT_ALLOWED.format(
            line=match.group(1), tag=match.group(2), allowed=", ".join(ALLOWED_TAGS)
        )
    match = re.match(r"Invalid filter: '([^']+)'", message)
    if match:
        return SYNTAX_ERROR.format(
            line=line, message=f"the filter |{match.group(1)} is not available in email templates."
        )
    return SYNTAX_ERROR.format(line=line, message=message)


def render(source: str, context: dict, *, html: bool) -> str:
    """Render a whole template for one recipient (previews and test sends)."""
    return template_compile(source).render(Context(context, autoescape=html))


@dataclass
class MergeTemplate:
    """A template rendered once, with merge fields where recipients differ."""

    text: str
    fields: list[tuple[str, Node]]
    autoescape: bool
    template: object

    def values(self, context: dict) -> dict[str, str]:
        """Render each merge field for one recipient."""
        ctx = Context(context, autoescape=self.autoescape)
        with ctx.render_context.push_state(self.template), ctx.bind_template(self.template):
            return {key: node.render_annotated(ctx) for key, node in self.fields}


def merge_values(templates: list[MergeTemplate], context: dict) -> dict[str, str]:
    """Render every merge field of several templates for one recipient, with one context."""
    if not templates:
        return {}
    ctx = Context(context)
    values = {}
    with (
        ctx.render_context.push_state(templates[0].template),
        ctx.bind_template(templates[0].template),
    ):
        for merged in templates:
            ctx.autoescape = merged.autoescape
            for key, node in merged.fields:
                values[key] = node.render_annotated(ctx)
    return values


def merge_compile(source: str, *, prefix: str, shared_context: dict, html: bool) -> MergeTemplate:
    """Render the recipient-independent parts of `source` once; keep the rest as fields."""
    template = template_compile(source)
    ctx = Context(shared_context, autoescape=html)
    parts, fields = [], []
    with ctx.render_context.push_state(template), ctx.bind_template(template):
        for index, node in enumerate(template.nodelist):
            if _per_recipient(node):
                key = f"{prefix}{index}"
                parts.append(MERGE_FIELD_FORMAT.format(key))
                fields.append((key, node))
            else:
                parts.append(node.render_annotated(ctx))
    return MergeTemplate(text="".join(parts), fields=fields, autoescape=html, template=template)


def _per_recipient(node: Node) -> bool:
    if isinstance(node, TextNode):
        return False
    token = getattr(node, "token", None)
    contents = getattr(token, "contents", "") or ""
    if any(name in contents for name in PER_RECIPIENT_NAMES):
        return True
    return any(
        _per_recipient(child)
        for attr in getattr(node, "child_nodelists", ())
        for child in (getattr(node, attr, None) or [])
    )


def sample_context(*, workspace_name: str = "Your workspace", contact: dict | None = None) -> dict:
    """A context for previews: the given contact, or a made-up one."""
    contact = contact or {
        "email": "alex.sample@example.com",
        "first_name": "Alex",
        "last_name": "Sample",
        "attributes": {},
    }
    contact.setdefault(
        "full_name", f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()
    )
    return {
        "contact": contact,
        "workspace": {"name": workspace_name},
        "unsubscribe_url": "https://example.com/unsubscribe/preview/",
        "view_in_browser_url": "https://example.com/view/preview/",
    }
