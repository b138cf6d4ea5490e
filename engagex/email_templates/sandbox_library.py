"""The only tags and filters email templates may use: no loading, including or raw output.

Every filter, and the tags that loop, charge the render budget (`sandbox_limits`).
"""

from django.template import Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.translation import gettext_lazy

from engagex.email_templates.sandbox_limits import (
    BudgetForNode,
    BudgetRegroupNode,
    guard_filter,
)

ALLOWED_TAGS = [
    "autoescape", "comment", "cycle", "filter", "firstof", "for", "if", "ifchanged", "now",
    "regroup", "resetcycle", "spaceless", "templatetag", "verbatim", "widthratio", "with",
]  # fmt: skip
# `safe`/`safeseq` would let contact data inject raw HTML; `pprint` shows Python internals.
BLOCKED_FILTERS = {"safe", "safeseq", "pprint"}
AUTOESCAPE_OFF = gettext_lazy(
    "{% autoescape off %} is not allowed in email templates: contact data is always escaped "
    "in HTML."
)

register = Library()
for _name in ALLOWED_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name, _filter in defaultfilters.register.filters.items():
    if _name not in BLOCKED_FILTERS:
        register.filters[_name] = guard_filter(_name, _filter)


@register.tag("autoescape")
def autoescape(parser, token):
    """`{% autoescape on %}` only: turning escaping off would send contact data as raw HTML."""
    if token.contents.split()[1:] == ["off"]:
        raise TemplateSyntaxError(AUTOESCAPE_OFF)
    return defaulttags.autoescape(parser, token)


@register.tag("for")
def do_for(parser, token):
    node = defaulttags.do_for(parser, token)
    node.__class__ = BudgetForNode
    return node


@register.tag("regroup")
def regroup(parser, token):
    node = defaulttags.regroup(parser, token)
    node.__class__ = BudgetRegroupNode
    return node
