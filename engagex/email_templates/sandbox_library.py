"""The only tags and filters email templates may use: no loading, including or raw output."""

from django.template import Library, defaultfilters, defaulttags

ALLOWED_TAGS = [
    "autoescape", "comment", "cycle", "filter", "firstof", "for", "if", "ifchanged", "now",
    "regroup", "resetcycle", "spaceless", "templatetag", "verbatim", "widthratio", "with",
]  # fmt: skip
# `safe`/`safeseq` would let contact data inject raw HTML; `pprint` shows Python internals.
BLOCKED_FILTERS = {"safe", "safeseq", "pprint"}

register = Library()
for _name in ALLOWED_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name, _filter in defaultfilters.register.filters.items():
    if _name not in BLOCKED_FILTERS:
        register.filters[_name] = _filter
