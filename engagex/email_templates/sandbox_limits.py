"""What rendering one email may cost: loop items, output, filter work and CPU time.

An 86-byte template (two nested loops over `"x"|ljust:"3000"`) cost 3.6 s of CPU in a
Viewer's live preview (issue 14). Every render of a sandbox template — saves, previews,
test sends, the per-recipient merge of campaign sends, web versions — runs inside one
`RenderBudget` per email and recipient, charged as the work happens, so no nesting,
`{% with %}`, `{% cycle %}` or filter chain gets round it:

- `{% for %}` iterations, `{% regroup %}` items and the items of lists filters take or
  make are counted together (ITEMS_MAX);
- output is counted as each leaf node produces it (containers such as `{% if %}` only join
  what their children produced), OUTPUT_MAX;
- filters count the characters they read and write (WORK_MAX), refuse values past a size
  (smaller for the slow ones, measured below) and arguments asking for huge output
  (`ljust:"99999999"`, `stringformat:"09999999d"`, `floatformat:"99999"`);
- CPU time is checked between steps (CPU_SECONDS_MAX): the backstop for many cheap steps
  (`{% if "a" in big %}` in a loop) that the counts do not see.

A budget that runs out stays run out: `{% if %}` swallows exceptions raised while it
evaluates its condition, so every later step fails too, and the render ends with the error.
"""

import contextvars
import gc
import re
import time
from functools import wraps
from itertools import groupby
from typing import cast

from django.template.base import Node, NodeList, TextNode
from django.template.defaulttags import (
    AutoEscapeControlNode,
    ForNode,
    GroupedResult,
    IfChangedNode,
    IfNode,
    RegroupNode,
    SpacelessNode,
    WithNode,
)
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from engagex.core.formats import number

OUTPUT_MAX = 500_000  # characters per email: five times the size at which Gmail clips one
ITEMS_MAX = 5_000  # loop iterations and list items per email (~3 µs each, bodies aside)
WORK_MAX = 2_000_000  # characters filters read and write per email
VALUE_MAX = 200_000  # characters (or items) one filter call takes or makes
WIDTH_MAX = 1_000  # |ljust, |rjust, |center and |stringformat widths and precisions
FLOAT_DIGITS_MAX = 30  # |floatformat decimal places
# CPU per email, compiling included: a field with 1,000 realistic tags compiles in ~22 ms
# and renders in under a millisecond. The margin is wide because CPython 3.11 slows a render
# about fivefold when it starts at a stack depth where each call crosses a frame-stack chunk
# (measured: 5,000 loop steps take 4.8 ms at most depths, 24 ms at a few); a render must
# not fail because of the depth its caller (a request's middleware, a task) happens to be at.
CPU_SECONDS_MAX = 0.25
# Filters that cost more than ~0.3 µs per character or item (measured on 200,000-character
# inputs: |truncatechars_html 400 ms, |linenumbers 260 ms, |join 230 ms, |striptags 120 ms,
# |wordwrap 74 ms) take smaller values, so that no single call runs for more than ~10 ms.
SLOW_FILTER_INPUT_MAX = {
    "truncatechars_html": 5_000,
    "truncatewords_html": 5_000,
    "linenumbers": 5_000,
    "join": 5_000,
    "unordered_list": 5_000,
    "make_list": ITEMS_MAX,
    "dictsort": ITEMS_MAX,
    "dictsortreversed": ITEMS_MAX,
    "striptags": 20_000,
    "wordwrap": 20_000,
    "urlize": 50_000,
    "urlizetrunc": 50_000,
}

TOO_MUCH_OUTPUT = gettext_lazy("this template renders more than {limit} characters for one email.")
TOO_MANY_ITEMS = gettext_lazy(
    "loops and list filters go through more than {limit} items for one email."
)
TOO_MUCH_WORK = gettext_lazy(
    "filters handle more than {limit} characters for one email; simplify the loops or filters."
)
TOO_SLOW = gettext_lazy(
    "this template takes too long to render (over {ms} ms of processing for one email); "
    "simplify its loops, filters or tags."
)
VALUE_TOO_BIG = gettext_lazy(
    "the filter |{filter} takes at most {limit} characters or items; this value has {size}."
)
RESULT_TOO_BIG = gettext_lazy(
    "the filter |{filter} would make a value of more than {limit} characters or items."
)
WIDTH_TOO_BIG = gettext_lazy(
    "the filter |{filter} takes widths up to {limit}; this one asks for {width}."
)
DIGITS_TOO_MANY = gettext_lazy(
    "the filter |floatformat shows up to {limit} decimal places; this one asks for {digits}."
)


class RenderLimitError(Exception):
    """A render went past one of the caps; `message` says which, for the template's author."""

    def __init__(self, message, line=None):
        super().__init__(str(message))
        self.message = str(message)
        self.line = line


class RenderBudget:
    """What is left for the email being rendered; one per email and recipient."""

    __slots__ = ("deadline", "error", "gc_runs", "items", "line", "output", "ticks", "work")

    def __init__(self):
        self.items = ITEMS_MAX
        self.output = OUTPUT_MAX
        self.work = WORK_MAX
        self.ticks = 0
        self.line = None
        self.error = None
        # The clock starts at the first look: most per-recipient renders are a few steps
        # and never look at it (sends render ~19,000 recipients/s).
        self.deadline = None
        self.gc_runs = 0

    def fail(self, message, line=None):
        if self.error is None:
            self.error = RenderLimitError(message, line or self.line)
        raise self.error

    def check(self):
        """Raise the error a render ran into, even if `{% if %}` swallowed it on the way."""
        if self.error is not None:
            raise self.error

    def tick(self, force_clock=False):
        """One step: fail if the budget already ran out; look at the clock every 8 steps."""
        if self.error is not None:
            raise self.error
        self.ticks += 1
        if force_clock or not self.ticks & 7:
            self._look_at_clock()

    def _look_at_clock(self):
        now = time.thread_time()
        if self.deadline is None:
            self.deadline = now + CPU_SECONDS_MAX
            self.gc_runs = _full_collections()
        elif now > self.deadline:
            # A full garbage collection can pause any render for tens of milliseconds;
            # it is not the template's doing, so it earns one more allowance (only one).
            if self.gc_runs >= 0 and _full_collections() != self.gc_runs:
                self.gc_runs = -1
                self.deadline = now + CPU_SECONDS_MAX
            else:
                self.fail(TOO_SLOW.format(ms=int(CPU_SECONDS_MAX * 1000)))

    def spend_items(self, count, line=None):
        self.items -= count
        if self.items < 0:
            self.fail(TOO_MANY_ITEMS.format(limit=number(ITEMS_MAX)), line)

    def spend_output(self, count):
        self.output -= count
        if self.output < 0:
            self.fail(TOO_MUCH_OUTPUT.format(limit=number(OUTPUT_MAX)))

    def spend_work(self, count):
        self.work -= count
        if self.work < 0:
            self.fail(TOO_MUCH_WORK.format(limit=number(WORK_MAX)))


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


_active: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar(
    "email_template_render_budget", default=None
)


class render_limits:  # noqa: N801 (used as a function: `with render_limits() as budget:`)
    """Render everything inside with one budget (the caller's, when one is already active)."""

    __slots__ = ("budget", "token")
    budget: RenderBudget
    token: contextvars.Token[RenderBudget | None] | None

    def __enter__(self) -> "RenderBudget":
        budget = _active.get()
        if budget is not None:
            self.token = None
            return budget
        self.budget = budget = RenderBudget()
        self.token = _active.set(budget)
        return budget

    def __exit__(self, *exc_info):
        if self.token is not None:
            _active.reset(self.token)


def _budget() -> RenderBudget:
    # Outside render_limits() (a node rendered on its own) each step gets a fresh budget:
    # the caps per call still hold.
    return _active.get() or RenderBudget()


# --- nodes ----------------------------------------------------------------------------------
# Nodes whose output is only the joined output of their children, already counted there.
CONTAINERS = (
    IfNode,
    ForNode,
    WithNode,
    SpacelessNode,
    AutoEscapeControlNode,
    IfChangedNode,
)


def render_node(node: Node, context, budget: RenderBudget) -> str:
    """Render one node, counting its output unless it only joins its children's."""
    if type(node) is TextNode:
        budget.tick()
        budget.spend_output(len(node.s))
        return node.s
    budget.line = node.token.lineno if node.token else budget.line
    budget.tick()
    # Django's stubs allow an int here; a template node renders text.
    output = cast(str, node.render_annotated(context))
    if not isinstance(node, CONTAINERS):
        budget.spend_output(len(output))
    return output


class BudgetNodeList(NodeList):
    """A node list that charges the active budget for each node it renders."""

    def render(self, context):
        budget = _budget()
        return SafeString("".join([render_node(node, context, budget) for node in self]))


class BudgetForNode(ForNode):
    """`{% for %}` charging one item per iteration, and refusing a loop that cannot fit."""

    def render(self, context):
        budget = _budget()
        line = self.token.lineno if self.token else None
        parentloop = context["forloop"] if "forloop" in context else {}
        with context.push():
            values = self.sequence.resolve(context, ignore_failures=True)
            if values is None:
                values = []
            if not hasattr(values, "__len__"):
                values = list(values)
            len_values = len(values)
            if len_values < 1:
                return self.nodelist_empty.render(context)
            if len_values > budget.items:  # fail before doing any of it
                budget.spend_items(len_values, line)
            if self.is_reversed:
                values = reversed(values)
            num_loopvars = len(self.loopvars)
            unpack = num_loopvars > 1
            loop_dict = context["forloop"] = {"parentloop": parentloop}
            parts = []
            for i, item in enumerate(values):
                budget.spend_items(1, line)
                budget.tick()
                loop_dict["counter0"] = i
                loop_dict["counter"] = i + 1
                loop_dict["revcounter"] = len_values - i
                loop_dict["revcounter0"] = len_values - i - 1
                loop_dict["first"] = i == 0
                loop_dict["last"] = i == len_values - 1
                if unpack:
                    try:
                        len_item = len(item)
                    except TypeError:
                        len_item = 1
                    if num_loopvars != len_item:
                        raise ValueError(
                            f"Need {num_loopvars} values to unpack in for loop; got {len_item}. "
                        )
                    context.update(dict(zip(self.loopvars, item, strict=False)))
                else:
                    context[self.loopvars[0]] = item
                parts.extend(render_node(node, context, budget) for node in self.nodelist_loop)
                if unpack:
                    context.pop()
        return mark_safe("".join(parts))  # noqa: S308 (each part was escaped when rendered)


class BudgetRegroupNode(RegroupNode):
    """`{% regroup %}` charging the items it groups before grouping them."""

    def render(self, context):
        budget = _budget()
        obj_list = self.target.resolve(context, ignore_failures=True)
        if obj_list is None:
            context[self.var_name] = []
            return ""
        if not hasattr(obj_list, "__len__"):
            obj_list = list(obj_list)
        budget.spend_items(len(obj_list), self.token.lineno if self.token else None)
        context[self.var_name] = [
            GroupedResult(grouper=key, list=list(val))
            for key, val in groupby(obj_list, lambda obj: self.resolve_expression(obj, context))
        ]
        return ""


# --- filters --------------------------------------------------------------------------------
SIZED = (list, tuple, dict, set, bytes)
LARGE_INPUT = 10_000  # a filter call on more than this looks at the clock before it runs


def _size(value) -> int:
    return len(value) if isinstance(value, (str, *SIZED)) else 0


def _shown(value: int) -> str:
    return number(value) if abs(value) < 10**15 else f"{value:.3e}"


def _width(name, arg):
    try:
        width = int(arg)  # as the filter reads it: `value.ljust(int(arg))`
    except Exception:  # noqa: BLE001 (the filter itself refuses it, as Django does)
        return
    if abs(width) > WIDTH_MAX:
        _budget().fail(
            WIDTH_TOO_BIG.format(filter=name, limit=number(WIDTH_MAX), width=_shown(width))
        )


_NUMBER = re.compile(r"[0-9]+")


def _format_spec(name, arg):
    # `("%" + arg) % value`: every number in the spec is a width or a precision.
    for digits in _NUMBER.findall(str(arg)):
        width = int(digits)
        if width > WIDTH_MAX:
            _budget().fail(
                WIDTH_TOO_BIG.format(filter=name, limit=number(WIDTH_MAX), width=_shown(width))
            )


def _float_digits(name, arg):
    try:
        if isinstance(arg, str):  # the suffixes |floatformat reads before the number
            arg = arg[:-2] if arg[-2:] in {"gu", "ug"} else arg[:-1] if arg[-1] in "gu" else arg
        digits = int(arg or -1)
    except Exception:  # noqa: BLE001 (the filter itself decides, as Django does)
        return
    if abs(digits) > FLOAT_DIGITS_MAX:
        _budget().fail(DIGITS_TOO_MANY.format(limit=FLOAT_DIGITS_MAX, digits=_shown(abs(digits))))


def _joined_size(name, value, arg):
    if not isinstance(value, list | tuple):
        return
    size = sum(len(str(item)) for item in value) + len(str(arg)) * max(len(value) - 1, 0)
    if size > VALUE_MAX:
        _budget().fail(RESULT_TOO_BIG.format(filter=name, limit=number(VALUE_MAX)))


def _nested_items(name, value):
    """|unordered_list walks nested lists: count them all, not just the top level."""
    limit, count, stack = SLOW_FILTER_INPUT_MAX[name], 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            count += len(item)
            if count > limit:
                _budget().fail(
                    VALUE_TOO_BIG.format(filter=name, limit=number(limit), size=f"{number(count)}+")
                )
            stack.extend(item)


VALUE_CHECKS = {"unordered_list": _nested_items}
ARGUMENT_CHECKS = {
    "ljust": lambda name, value, arg: _width(name, arg),
    "rjust": lambda name, value, arg: _width(name, arg),
    "center": lambda name, value, arg: _width(name, arg),
    "stringformat": lambda name, value, arg: _format_spec(name, arg),
    "floatformat": lambda name, value, arg: _float_digits(name, arg),
    "join": _joined_size,
}


def _spend(budget: RenderBudget, value, size: int) -> None:
    if isinstance(value, str):
        budget.spend_work(size)
    elif size:
        budget.spend_items(size)


def guard_filter(name: str, func):
    """Wrap a filter so that each call is charged to the budget and sized before it runs."""
    input_max = SLOW_FILTER_INPUT_MAX.get(name, VALUE_MAX)
    check = ARGUMENT_CHECKS.get(name)
    check_value = VALUE_CHECKS.get(name)
    slow = name in SLOW_FILTER_INPUT_MAX

    @wraps(func)  # keeps is_safe, needs_autoescape… and the signature Django checks
    def guarded(value, *args, **kwargs):
        budget = _active.get() or RenderBudget()
        size = _size(value)
        budget.tick(slow or size > LARGE_INPUT)
        if size > input_max:
            budget.fail(
                VALUE_TOO_BIG.format(filter=name, limit=number(input_max), size=number(size))
            )
        _spend(budget, value, size)
        if check_value is not None:
            check_value(name, value)
        if check is not None and args:
            check(name, value, args[0])
        result = func(value, *args, **kwargs)
        size = _size(result)
        if size > VALUE_MAX:
            budget.fail(RESULT_TOO_BIG.format(filter=name, limit=number(VALUE_MAX)))
        _spend(budget, result, size)
        return result

    return guarded
