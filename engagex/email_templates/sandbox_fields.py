"""Which fields a template reads, and a warning for each one no recipient has.

`{{ contact.frist_name }}` renders empty for everyone: the template still saves, and the
author is told the closest field that exists (difflib over the contact's fields, the
attributes contacts of the workspace have, `workspace.name` and the two links).
"""

import difflib

from django.template.base import FilterExpression, Node, NodeList, Variable
from django.template.defaulttags import FilterNode
from django.template.smartif import TokenBase
from django.utils.translation import gettext_lazy

from engagex.email_templates.sandbox import PER_RECIPIENT_NAMES, template_compile

UNKNOWN_FIELD = gettext_lazy("Line {line}: “{name}” is not a known field, so it renders empty.")
UNKNOWN_ATTRIBUTE = gettext_lazy(
    "Line {line}: no contact has the attribute “{attribute}”, so “{name}” renders empty."
)
DID_YOU_MEAN = gettext_lazy("{warning} Did you mean “{suggestion}”?")
WORKSPACE_FIELDS = ("name",)
# What `{% for key, value in contact.attributes.items %}` reads, not an attribute name.
DICT_METHODS = ("items", "keys", "values")
# Names a tag binds for what it contains or follows: loop variables, {% with %}, `as x`.
_BINDING_ATTRIBUTES = ("loopvars", "var_name", "variable_name", "asvar")


def template_references(source: str) -> list[tuple[int, tuple[str, ...]]]:
    """The context variables `source` reads, as (line, lookups); names its tags bind left out."""
    nodes = template_compile(source).nodelist.get_nodes_by_type(Node)
    bound, found = {"forloop"}, []
    for node in nodes:
        for attribute in _BINDING_ATTRIBUTES:
            names = getattr(node, attribute, None)
            bound.update([names] if isinstance(names, str) else names or ())
        bound.update(getattr(node, "extra_context", None) or ())
        line = node.token.lineno if node.token else 1
        for expression in _expressions(vars(node)):
            skip_var = isinstance(node, FilterNode)  # its `var` is the block's own output
            for variable in _variables(expression, skip_var=skip_var):
                found.append((line, tuple(variable.lookups)))
    return [(line, path) for line, path in found if path[0] not in bound]


def _expressions(value):
    if isinstance(value, FilterExpression):
        yield value
    elif isinstance(value, Node | NodeList | str):
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("token", "origin"):
                yield from _expressions(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _expressions(item)
    elif isinstance(value, TokenBase):  # an {% if %} condition: operators and literals
        yield from _expressions(vars(value))


def _variables(expression: FilterExpression, *, skip_var: bool):
    if not skip_var and isinstance(expression.var, Variable) and expression.var.lookups:
        yield expression.var
    for _func, args in expression.filters:
        for lookup, arg in args:
            if lookup and isinstance(arg, Variable) and arg.lookups:
                yield arg


def unknown_field_warnings(
    source: str, *, contact_fields: tuple[str, ...], attribute_names: set[str]
) -> list[str]:
    """One warning per field `source` reads that no context has, naming the closest known one.

    A misspelt part is compared with its siblings (`contact.frist_name` with the contact's
    fields, an attribute with the workspace's attributes), so the shared `contact.` prefix
    does not make everything look alike; an unknown name at the top with every known path.
    Raise ValidationError when `source` does not compile.
    """
    siblings = {
        "contact": ("contact.", list(contact_fields)),
        "attributes": ("contact.attributes.", sorted(attribute_names)),
        "workspace": ("workspace.", list(WORKSPACE_FIELDS)),
    }
    everything = [prefix + name for prefix, names in siblings.values() for name in names]
    everything += PER_RECIPIENT_NAMES[1:]
    warnings, seen = [], set()
    for line, path in template_references(source):
        problem = _unknown(path, contact_fields, attribute_names)
        if problem is None or (line, problem[0]) in seen:
            continue
        seen.add((line, problem[0]))
        name, scope, part = problem
        if scope == "attributes":
            warning = UNKNOWN_ATTRIBUTE.format(line=line, attribute=part, name=name)
        else:
            warning = UNKNOWN_FIELD.format(line=line, name=name)
        if scope is None:
            closest = difflib.get_close_matches(name, everything, n=1)
        else:
            prefix, names = siblings[scope]
            closest = [prefix + match for match in difflib.get_close_matches(part, names, n=1)]
        if closest:
            warning = DID_YOU_MEAN.format(warning=warning, suggestion=closest[0])
        warnings.append(str(warning))
    return warnings


def _unknown(path, contact_fields, attribute_names):
    """(the unknown start of `path`, where, the unknown name), or None if `path` is known.

    Where: "contact", "attributes" or "workspace" for a name under them, None at the top.
    """
    root = path[0]
    if root in PER_RECIPIENT_NAMES[1:] or len(path) == 1 and root in ("contact", "workspace"):
        return None  # deeper lookups on a known value are methods of its text: .upper…
    if root == "workspace":
        return None if path[1] in WORKSPACE_FIELDS else (".".join(path[:2]), "workspace", path[1])
    if root != "contact":
        return ".".join(path), None, root
    if path[1] not in contact_fields:
        return ".".join(path[:2]), "contact", path[1]
    if path[1] != "attributes" or len(path) == 2:
        return None
    if path[2] in attribute_names or path[2] in DICT_METHODS:
        return None
    return ".".join(path[:3]), "attributes", path[2]
