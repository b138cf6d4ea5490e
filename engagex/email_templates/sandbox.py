"""Render email templates with Django's template language, restricted to a safe subset.

Templates see plain values only (`contact`, `workspace`, `unsubscribe_url`,
`view_in_browser_url`, `preferences_url`): no settings, request, models or managers. The
engine has no template loaders and only the tags in `sandbox_library`, so `{% load %}`,
`{% include %}` and `{% extends %}` are syntax errors reported with their line. What a
template may cost is capped twice: when it is compiled (size, tags, nesting: see below)
and while it renders (`sandbox_limits`: loop items, output, filter work, CPU time, per
email and recipient).

For batch sending, `merge_compile` renders everything that is the same for every recipient
once, and turns each top-level piece that depends on the recipient into a merge field whose
value `merge_values` renders per recipient: one request body serves 1,000 recipients.
"""

import dataclasses
import functools
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError, defaultfilters
from django.template.base import (
    DebugLexer,
    Node,
    NodeList,
    Parser,
    Template,
    TextNode,
    TokenType,
    Variable,
    VariableNode,
)
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData
from django.utils.translation import gettext_lazy

from engagex.core.formats import number
from engagex.email_templates.sandbox_library import ALLOWED_TAGS
from engagex.email_templates.sandbox_limits import (
    BudgetNodeList,
    RenderLimitError,
    render_limits,
    render_node,
)

PER_RECIPIENT_NAMES = ("contact", "unsubscribe_url", "view_in_browser_url", "preferences_url")
MERGE_FIELD_FORMAT = "[[x:{}]]"
TAG_NOT_ALLOWED = gettext_lazy(
    "Line {line}: the tag {{% {tag} %}} is not allowed in email templates. Allowed tags: {allowed}."
)
SYNTAX_ERROR = gettext_lazy("Line {line}: {message}")
RENDER_FAILED = gettext_lazy("Line {line}: this template cannot be rendered ({message}).")

# Compiling costs ~15-20 µs per tag (20,000 `{{ a }}` took 262 ms) and a 300,000-character
# `{% if a and a … %}` 658 ms; it runs on the email's CPU clock (sandbox_limits), and these
# keep any one step short. Nesting past ~300 levels overflows Python's stack.
SOURCE_MAX = 500_000
TAGS_MAX = 1_000
TAG_LENGTH_MAX = 1_000  # ~250 `not`s: well inside Python's stack
NESTING_MAX = 30
SOURCE_TOO_LONG = gettext_lazy(
    "Line 1: a template field may be at most {limit} characters long; this one has {size}."
)
TOO_MANY_TAGS = gettext_lazy(
    "a template field may contain at most {limit} tags ({{{{ … }}}} and {{% … %}})."
)
TAG_TOO_LONG = gettext_lazy("a tag may be at most {limit} characters long.")
TOO_DEEP = gettext_lazy("tags may be nested at most {limit} levels deep.")
UNCLOSED = {
    "{{": gettext_lazy(
        "“{{” is not closed: end the tag with “}}” on the same line "
        "(to show “{{” as text, write {% templatetag openvariable %})."
    ),
    "{%": gettext_lazy(
        "“{%” is not closed: end the tag with “%}” on the same line "
        "(to show “{%” as text, write {% templatetag openblock %})."
    ),
}
# Not `{#`: minified CSS has it (`@media(…){#header{…}}`), and it renders as written.
_OPENING = re.compile(r"{{|{%")


class _SandboxParser(Parser):
    """Django's parser, with budgeted node lists, a limit on nesting and the CPU clock."""

    depth = 0
    budget = None

    def next_token(self):
        token = super().next_token()
        self.budget.line = token.lineno
        # One token can cost milliseconds to compile (a tag with a hundred filters), so the
        # parser looks at the clock at every token, not every 8th step as rendering does.
        self.budget.tick(force_clock=True)
        return token

    def parse(self, parse_until=None):
        self.depth += 1
        try:
            if self.depth > NESTING_MAX + 1 and self.command_stack:
                raise self.error(
                    self.command_stack[-1][1],
                    TemplateSyntaxError(TOO_DEEP.format(limit=NESTING_MAX)),
                )
            return super().parse(parse_until)
        finally:
            self.depth -= 1

    def extend_nodelist(self, nodelist, node, token):
        if type(nodelist) is NodeList:
            nodelist.__class__ = BudgetNodeList
        super().extend_nodelist(nodelist, node, token)


class _SandboxTemplate(Template):
    def compile_nodelist(self):
        tokens = DebugLexer(self.source).tokenize()
        parser = _SandboxParser(
            tokens, self.engine.template_libraries, self.engine.template_builtins, self.origin
        )
        try:
            _check_tokens(tokens)
            with render_limits() as parser.budget:  # compiling is part of the email's CPU
                nodelist = parser.parse()
            if type(nodelist) is NodeList:
                nodelist.__class__ = BudgetNodeList
            _check_text(nodelist)
            self.extra_data = parser.extra_data
            return nodelist
        except Exception as e:
            if getattr(e, "token", None) is not None:
                e.template_debug = self.get_exception_info(e, e.token)
            raise

    def render(self, context):
        with render_limits() as budget:
            output = super().render(context)
            budget.check()
            return output


def _check_tokens(tokens) -> None:
    tags = 0
    for token in tokens:
        if token.token_type is TokenType.TEXT:
            continue
        tags += 1
        if tags > TAGS_MAX:
            _token_error(token, TOO_MANY_TAGS.format(limit=number(TAGS_MAX)))
        if len(token.contents) > TAG_LENGTH_MAX:
            _token_error(token, TAG_TOO_LONG.format(limit=number(TAG_LENGTH_MAX)))


def _token_error(token, message):
    error = TemplateSyntaxError(message)
    error.token = token
    raise error


def _check_text(nodelist) -> None:
    """Refuse an opening `{{` or `{%` left in the text: it would be sent as it is."""
    for node in nodelist.get_nodes_by_type(TextNode):
        match = _OPENING.search(node.s)
        if match:
            error = TemplateSyntaxError(UNCLOSED[match.group()])
            line = node.token.lineno + node.s.count("\n", 0, match.start())
            # Django's debug page reads `token` and our messages read `line`, set as Django's
            # parser sets them; its stubs declare neither.
            error.token, error.line = node.token, line  # type: ignore[attr-defined]
            raise error


class _SandboxEngine(Engine):
    default_builtins = []

    def from_string(self, template_code):
        return _SandboxTemplate(template_code, engine=self)


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
    source = source or ""
    if len(source) > SOURCE_MAX:
        raise ValidationError(
            SOURCE_TOO_LONG.format(limit=number(SOURCE_MAX), size=number(len(source)))
        )
    return _compiled(source)


@functools.lru_cache(maxsize=16)
def _compiled(source: str):
    # A form, its live preview and a send compile the same text several times: once is
    # enough (templates are not changed by rendering). Errors are not cached.
    try:
        return engine.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError(_describe(error, source)) from error
    except RenderLimitError as error:  # out of CPU while compiling
        raise ValidationError(
            SYNTAX_ERROR.format(line=_line(error), message=error.message)
        ) from error
    except RecursionError as error:  # e.g. `{% if not not not … %}`
        raise ValidationError(
            SYNTAX_ERROR.format(line=1, message=TOO_DEEP.format(limit=NESTING_MAX))
        ) from error


def _line(error: Exception) -> int:
    return getattr(error, "line", None) or getattr(error, "template_debug", {}).get("line") or 1


def _describe(error: TemplateSyntaxError, source: str) -> str:
    line = _line(error)
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


class RenderError(ValidationError):
    """A template could not be rendered (for one recipient); `messages` say why and where."""


def render_error_message(error: Exception) -> str:
    """What a person reads when rendering failed: the line, and which cap or what went wrong."""
    if isinstance(error, RenderLimitError):
        return SYNTAX_ERROR.format(line=_line(error), message=error.message)
    if isinstance(error, TemplateSyntaxError):
        return RENDER_FAILED.format(line=_line(error), message=str(error))
    # Filters and tags raise all kinds of errors at render time (|divisibleby:0, a
    # {% widthratio %} over text); each is the author's mistake, never a server error.
    return RENDER_FAILED.format(line=_line(error), message=f"{type(error).__name__}: {error}")


def render(source: str, context: dict, *, html: bool) -> str:
    """Render a whole template for one recipient (previews and test sends).

    Inside `render_limits()` several calls share one budget: one email, all its fields.
    """
    return template_compile(source).render(Context(context, autoescape=html))


@dataclass
class MergeField:
    """One per-recipient piece of a template.

    `path` is set for a plain `{{ a.b }}` or `{{ a.b|default:"x" }}` over the context's
    dicts: `merge_values` looks it up directly, with the result Django would render. Any
    other node, or a lookup that does not end in a string, is rendered by Django.
    """

    key: str
    node: Node
    path: tuple[str, ...] | None = None
    default: str = ""
    has_default: bool = False
    # Rendered by Django: outputs remembered by the values of `references`, when it has them.
    references: tuple[tuple[str, ...], ...] | None = None
    memo: dict = dataclasses.field(default_factory=dict)


@dataclass
class MergeTemplate:
    """A template rendered once, with merge fields where recipients differ."""

    text: str
    fields: list[MergeField]
    autoescape: bool
    template: object


def merge_values(templates: list[MergeTemplate], context: dict) -> dict[str, str]:
    """Render every merge field of several templates for one recipient, with one context."""
    values = {}
    slow = []
    for merged in templates:
        for field in merged.fields:
            value = _lookup(context, field.path) if field.path else _MISSING
            if type(value) is str or isinstance(value, SafeData):
                if field.has_default and not value:
                    value = field.default
                values[field.key] = conditional_escape(value) if merged.autoescape else str(value)
                continue
            memo_key = _memo_key(field, context)
            if memo_key is not None and memo_key in field.memo:
                values[field.key] = field.memo[memo_key]
            else:
                slow.append((merged.autoescape, field, memo_key))
    if slow:
        _render_slow(templates[0].template, slow, context, values)
    return values


def _render_slow(template, slow: list, context: dict, values: dict) -> None:
    """Render the fields a lookup or memo could not fill, within one recipient's budget.

    Raise RenderError when a cap or the template fails for this recipient; what was
    rendered is remembered only once the whole render succeeded.
    """
    ctx = Context(context)
    remember = []
    try:
        with (
            render_limits() as budget,
            ctx.render_context.push_state(template),
            ctx.bind_template(template),
        ):
            for autoescape, field, memo_key in slow:
                ctx.autoescape = autoescape
                values[field.key] = output = render_node(field.node, ctx, budget)
                if memo_key is not None:
                    remember.append((field, memo_key, output))
            budget.check()
    except Exception as error:
        raise RenderError(render_error_message(error)) from error
    for field, memo_key, output in remember:
        if len(field.memo) >= MEMO_LIMIT:
            field.memo.clear()
        field.memo[memo_key] = output


def _memo_key(field: MergeField, context: dict):
    if field.references is None:
        return None
    try:
        reached = (_reachable(context, path) for path in field.references)
        return tuple((depth, _frozen(value)) for depth, value in reached)
    except TypeError:  # a value with no stable identity: render every time
        return None


def _frozen(value):
    """A hashable stand-in that differs whenever the value renders differently (1 vs True)."""
    if isinstance(value, dict):
        return (dict, tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (list, tuple(_frozen(v) for v in value))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value), value)
    raise TypeError(type(value))


_MISSING = object()


def _reachable(context: dict, path: tuple[str, ...]) -> tuple[int, object]:
    """How far `path` goes through dicts, and the value there: all Django can look past it."""
    value = context
    for depth, bit in enumerate(path):
        if type(value) is not dict or bit not in value:
            return depth, value
        value = value[bit]
    return len(path), value


def _lookup(context: dict, path: tuple[str, ...]):
    depth, value = _reachable(context, path)
    return value if depth == len(path) else _MISSING


def _unwrapped(func):
    return getattr(func, "__wrapped__", func)  # the library wraps each filter (sandbox_limits)


def _merge_field(key: str, node: Node, tags: str) -> MergeField:
    """Note the direct lookup for a plain variable node, or what a memo depends on."""
    field = MergeField(key=key, node=node)
    if not NOT_REPEATABLE.search(tags):
        field.references = tuple(
            tuple(ref.split(".")) for ref in sorted(set(REFERENCE.findall(tags)))
        )
    if type(node) is not VariableNode:
        return field
    expression = node.filter_expression
    var = expression.var
    if not isinstance(var, Variable) or not var.lookups or var.literal is not None:
        return field
    if any(bit.startswith("_") for bit in var.lookups):
        return field
    if expression.filters:
        if len(expression.filters) != 1:
            return field
        func, args = expression.filters[0]
        if _unwrapped(func) is not defaultfilters.default or len(args) != 1 or args[0][0]:
            return field
        if not isinstance(args[0][1], str):  # a number would be localised by Django
            return field
        field.default, field.has_default = args[0][1], True
    field.path = tuple(var.lookups)
    return field


def merge_compile(source: str, *, prefix: str, shared_context: dict, html: bool) -> MergeTemplate:
    """Render the recipient-independent parts of `source` once; keep the rest as fields.

    Raise ValidationError when `source` does not compile, RenderError when its shared parts
    cannot be rendered (a cap, or a filter failing).
    """
    with render_limits() as budget:  # compiling and the shared render: one allowance
        template = template_compile(source)
        source = source or ""
        nodes = list(template.nodelist)
        ctx = Context(shared_context, autoescape=html)
        parts, fields = [], []
        try:
            with ctx.render_context.push_state(template), ctx.bind_template(template):
                for index, node in enumerate(nodes):
                    tags = "" if isinstance(node, TextNode) else _tags_of(source, nodes, index)
                    if REFERENCE.search(tags):
                        key = f"{prefix}{index}"
                        parts.append(MERGE_FIELD_FORMAT.format(key))
                        fields.append(_merge_field(key, node, tags))
                    else:
                        parts.append(render_node(node, ctx, budget))
                budget.check()
        except Exception as error:
            raise RenderError(render_error_message(error)) from error
    return MergeTemplate(text="".join(parts), fields=fields, autoescape=html, template=template)


def _tags_of(source: str, nodes: list[Node], index: int) -> str:
    """The `{{ }}`/`{% %}` tags of a top-level node's whole source, `{% elif %}`s included."""
    start = _source_start(nodes[index])
    following = (p for n in nodes[index + 1 :] if (p := _source_start(n)) is not None)
    end = next(following, len(source))
    return " ".join(TAG.findall(source[start:end]))


def _source_start(node: Node) -> int | None:
    """Where `node` starts in the source (the lexer records positions in debug mode only)."""
    return node.token.position[0] if node.token and node.token.position else None


TAG = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
# What a field's output depends on besides the shared context: the per-recipient names it
# mentions, with their attribute paths. What reads the clock or render state, or picks at
# random, is rendered every time.
REFERENCE = re.compile(rf"\b(?:{'|'.join(PER_RECIPIENT_NAMES)})\b(?:\.\w+)*")
NOT_REPEATABLE = re.compile(r"{%\s*(?:now|cycle|ifchanged|resetcycle)\b|\|\s*random\b")
MEMO_LIMIT = 10_000


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
        "preferences_url": "https://example.com/preferences/preview/",
    }
