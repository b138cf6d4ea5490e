"""JSON from outside with a bound on nesting.

Python's json module recurses once per level: a body of 100,000 `[` raises RecursionError
(which nothing treats as bad input, so it became a 500), and one just under the interpreter's
limit parses but breaks the next thing that walks it (measured: SendGrid events 902 levels deep
parsed, then failed when re-encoded). No API body or webhook we accept needs more than a few
levels, so anything deeper than MAX_DEPTH is refused as soon as it is read.
"""

import json
from typing import Any

from django.utils.translation import gettext_lazy

MAX_DEPTH = 32
TOO_DEEP = gettext_lazy("The JSON body is nested more than {limit} levels deep.")


class JsonTooDeep(ValueError):
    def __init__(self, limit: int):
        super().__init__(str(TOO_DEEP.format(limit=limit)))


def json_loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs) -> Any:
    """`json.loads`, raising JsonTooDeep for values nested deeper than `max_depth`."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if _deeper_than(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists/objects nest more than `limit` levels (`[]` is one level); no recursion."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
