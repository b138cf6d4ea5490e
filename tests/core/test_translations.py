"""Every string a person reads is in the Spanish and German catalogues, and none escapes them.

Two checks over `engagex/`, `tenants/` and `templates/`:
- every message marked for translation (gettext calls in Python, `{% translate %}` and
  `{% blocktranslate %}` in templates) has a non-empty translation in each compiled catalogue;
- text a person reads but nobody marked (a literal `ValidationError`, `message_user`,
  `help_text=`, `verbose_name=`, a sentence between template tags) is reported, so a new
  English-only string fails here instead of in front of a customer.
Operator-facing code (management commands, data migrations) is not translated; the fakes
used by tests live outside both roots, in `devtools/`.
"""

import ast
import gettext as gettext_module
import io
import re
import tokenize
from functools import cache
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["es", "de"]
PYTHON_ROOTS = [ROOT / "engagex", ROOT / "tenants"]
TEMPLATE_ROOT = ROOT / "templates"
# Operator-facing: command output and data migrations.
PYTHON_EXCLUDED = re.compile(r"/(migrations|management)/")
# Names are not translated: the product's and the languages' own.
UNTRANSLATED_WORDS = {
    "EngageX", "English", "Español", "Deutsch", "SendGrid", "Stripe", "API", "CSV", "XLSX", "JSON",
}  # fmt: skip

SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}
CONTEXT_PLURAL = {"npgettext", "npgettext_lazy"}
MARKERS = SINGULAR | PLURAL | CONTEXT | CONTEXT_PLURAL


def _python_files():
    for root in PYTHON_ROOTS:
        for path in sorted(root.rglob("*.py")):
            if not PYTHON_EXCLUDED.search(path.as_posix()):
                yield path


def _template_files():
    for path in sorted(TEMPLATE_ROOT.rglob("*")):
        if path.suffix in {".html", ".txt"}:
            yield path


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _message_ids(name: str, args: list) -> list[str]:
    """The catalogue keys a marked call needs (contexts as gettext stores them)."""
    values = [_literal(arg) for arg in args]
    if name in SINGULAR and values and values[0] is not None:
        return [values[0]]
    if name in PLURAL and len(values) >= 2 and None not in values[:2]:
        return [values[0]]
    if name in CONTEXT and len(values) >= 2 and None not in values[:2]:
        return [f"{values[0]}\x04{values[1]}"]
    if name in CONTEXT_PLURAL and len(values) >= 3 and None not in values[:3]:
        return [f"{values[0]}\x04{values[1]}"]
    return []


def _python_messages(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in MARKERS:
            for message in _message_ids(_call_name(node), node.args):
                yield message, f"{_where(path)}:{node.lineno}"


def _template_messages(path: Path):
    """Messages of a template, read from Django's own xgettext input (`templatize`)."""
    source = templatize(path.read_text(), origin=str(path))
    # Only the calls matter: indentation (blanked-out markup) must not trouble the tokenizer.
    source = "\n".join(line.lstrip() for line in source.splitlines())
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in MARKERS:
            continue
        if index + 1 >= len(tokens) or tokens[index + 1].string != "(":
            continue
        args, position = [], index + 2
        while position < len(tokens) and tokens[position].string != ")":
            if tokens[position].type == tokenize.STRING:
                args.append(ast.Constant(ast.literal_eval(tokens[position].string)))
            elif tokens[position].type == tokenize.NAME:
                args.append(ast.Name(tokens[position].string))
            position += 1
        for message in _message_ids(token.string, args):
            yield message, f"{_where(path)}:{token.start[0]}"


@cache
def _all_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in _python_files():
        for message, where in _python_messages(path):
            found.setdefault(message, where)
    for path in _template_files():
        for message, where in _template_messages(path):
            found.setdefault(message, where)
    return found


@cache
def _catalogue(language: str) -> dict:
    mo = ROOT / "locale" / language / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as handle:
        return gettext_module.GNUTranslations(handle)._catalog


def _translated(catalogue: dict, message: str) -> bool:
    if catalogue.get(message):
        return True
    return bool(catalogue.get((message, 0)))  # plural entries are keyed (msgid, index)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_is_translated(language):
    catalogue = _catalogue(language)
    missing = [
        f"{where}: {message!r}"
        for message, where in sorted(_all_messages().items(), key=lambda item: item[1])
        if message.strip() and not _translated(catalogue, message)
    ]

    assert not missing, f"{len(missing)} messages without a {language} translation:\n" + "\n".join(
        missing
    )


# --- Strings nobody marked ------------------------------------------------------------------
# Keyword arguments whose value a person reads.
READ_KEYWORDS = {
    "verbose_name", "verbose_name_plural", "help_text", "label", "description", "title",
    "empty_label", "submit_label", "cancel_label", "search_help_text", "body", "text",
}  # fmt: skip
# Calls whose first text argument a person reads.
READ_CALLS = {"ValidationError", "PermissionDenied", "LimitExceeded", "message_user", "add_error"}
MESSAGE_FUNCTIONS = {"success", "error", "warning", "info"}  # django.contrib.messages.*
WORD = re.compile(r"[A-Za-z]{2,}")


def _reads_as_text(value: str) -> bool:
    """A sentence or label, not an identifier, a URL, a CSS class or a format code."""
    words = WORD.findall(value)
    if not words or all(word in UNTRANSLATED_WORDS for word in words):
        return False
    if " " not in value and "@" in value:
        return False  # an example address
    if re.fullmatch(r"[\w.:/%{}()\[\]…-]*", value) and " " not in value:
        return value[:1].isupper() and value.isalpha()  # "Contacts" reads; "email_key" not
    return not value.startswith(("http", "/", "<", "{", "%", "#", "."))


def _texts(node) -> list[ast.AST]:
    """The literal strings (and f-strings) inside `node`, dict values included."""
    if _literal(node) is not None or isinstance(node, ast.JoinedStr):
        return [node]
    if isinstance(node, ast.Dict):
        return [text for value in node.values for text in _texts(value)]
    if isinstance(node, ast.List | ast.Tuple):
        return [text for item in node.elts for text in _texts(item)]
    return []


# The API's schema (OpenAPI descriptions, Swagger UI) is developer documentation, kept in
# English like the API's field names; its error messages are translated like any other.
DOCUMENTATION_KEYWORDS = {"help_text", "description"}


def _unmarked_python(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    documentation = path.is_relative_to(ROOT / "engagex" / "api")
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):  # {"label": "…"}: a chart's legend, a menu item
            candidates = [
                text
                for key, value in zip(node.keys, node.values, strict=True)
                if key is not None
                and _literal(key) in DICT_READ_KEYS
                and not (documentation and _literal(key) in DOCUMENTATION_KEYWORDS)
                for text in _texts(value)
            ]
        elif isinstance(node, ast.Call):
            candidates = _unmarked_call_texts(node, documentation)
        else:
            continue
        for text in candidates:
            value = _literal(text)
            if value is None:  # an f-string: its literal parts are what a person reads
                value = "".join(_literal(part) or "" for part in text.values)
            if _reads_as_text(value):
                yield f"{_where(path)}:{text.lineno}: {value!r}"


# Keys of dict literals whose value a person reads.
DICT_READ_KEYS = {"label", "title", "description"}


def _unmarked_call_texts(node: ast.Call, documentation: bool) -> list[ast.AST]:
    """The texts a person reads among a call's arguments."""
    name = _call_name(node)
    candidates = []
    if name in READ_CALLS:
        text_args = node.args[1:] if name in {"message_user", "add_error"} else node.args
        candidates += [t for arg in text_args[:1] for t in _texts(arg)]
    if (
        name in MESSAGE_FUNCTIONS
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "messages"
    ):
        candidates += [t for arg in node.args[1:2] for t in _texts(arg)]
    candidates += [
        t
        for kw in node.keywords
        if kw.arg in READ_KEYWORDS and not (documentation and kw.arg in DOCUMENTATION_KEYWORDS)
        for t in _texts(kw.value)
    ]
    return candidates


# Template text that is not prose: comments, scripts and styles, icon ligatures, tags, entities.
STRIPPED = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I),
    re.compile(r"<span[^>]*material-symbols[^>]*>[^<]*</span>", re.S),
    re.compile(r"<[^>]*>", re.S),
    re.compile(r"&[#\w]+;"),
]
READ_ATTRIBUTES = re.compile(r"""\b(title|placeholder|aria-label|alt)\s*=\s*"([^"]*)\"""")


def _template_skeleton(source: str) -> str:
    """The template's own text, tags and variables blanked out (lines kept in place)."""
    parts, skipping = [], None
    for token in Lexer(source).tokenize():
        words = token.contents.split()
        first = words[0] if words else ""
        if token.token_type == TokenType.BLOCK and first in {"blocktranslate", "blocktrans"}:
            skipping = "endblocktrans"
        elif token.token_type == TokenType.BLOCK and first == "comment":
            skipping = "endcomment"
        elif token.token_type == TokenType.BLOCK and skipping and first.startswith(skipping):
            skipping = None
        if token.token_type == TokenType.TEXT and not skipping:
            parts.append(token.contents)
        else:
            parts.append("\x00" + "\n" * token.contents.count("\n"))
    return "".join(parts)


def _unmarked_template(path: Path):
    skeleton = _template_skeleton(path.read_text())
    for match in READ_ATTRIBUTES.finditer(skeleton):
        if _reads_as_text(match.group(2).replace("\x00", "")):
            line = skeleton.count("\n", 0, match.start()) + 1
            yield f"{_where(path)}:{line}: attribute {match.group(2)!r}"
    text = skeleton
    for pattern in STRIPPED:
        # Keep the line breaks of what is removed, so line numbers stay true.
        text = pattern.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for number, line in enumerate(text.splitlines(), start=1):
        words = [w for w in WORD.findall(line) if w not in UNTRANSLATED_WORDS]
        if words:
            yield f"{_where(path)}:{number}: {' '.join(line.split())[:80]!r}"


# Modules whose messages only machines read (SendGrid's and Stripe's webhook answers).
MACHINE_FACING = {"engagex/analytics/views.py", "engagex/platform/webhooks.py"}
CODE_LIKE = re.compile(r"<|\b(SELECT|INSERT|UPDATE|DELETE|CASE|WHEN|NULL)\b|;\s*\w+-\w+:|v=spf1")


def _unmarked_constants(path: Path):
    """Module constants holding a sentence, not marked: messages raised with `.format()`."""
    if _where(path) in MACHINE_FACING:
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], _literal(node.value)
        if not isinstance(target, ast.Name) or not target.id.lstrip("_").isupper() or not value:
            continue
        sentence = len(WORD.findall(value)) >= 3 and value.rstrip().endswith((".", "?", "!"))
        if sentence and not CODE_LIKE.search(value) and _reads_as_text(value):
            yield f"{_where(path)}:{node.lineno}: {target.id} = {value[:70]!r}"


def test_no_user_facing_text_escapes_translation():
    found = [line for path in _python_files() for line in _unmarked_python(path)]
    found += [line for path in _python_files() for line in _unmarked_constants(path)]
    found += [line for path in _template_files() for line in _unmarked_template(path)]

    assert not found, f"{len(found)} strings a person reads are not marked for translation:\n" + (
        "\n".join(found)
    )


def test_the_checks_find_what_they_look_for(tmp_path):
    """The scanners are not blind: a planted unmarked string and a marked one are found."""
    module = tmp_path / "planted.py"
    module.write_text(
        "from django.core.exceptions import ValidationError\n"
        "from django.utils.translation import gettext_lazy as _\n"
        "LABEL = _('Planted label')\n"
        "def check():\n"
        "    raise ValidationError('This is not translated.')\n"
        "REFUSED = 'A constant sentence left in English.'\n"
    )
    template = tmp_path / "planted.html"
    template.write_text(
        "{% load i18n %}<p>{% translate 'Marked here' %}</p><p>Left in English</p>"
        '<input placeholder="Type here">'
    )
    marked = [message for message, _ in _python_messages(module)]
    template_marked = [message for message, _ in _template_messages(template)]
    unmarked = [
        *_unmarked_python(module),
        *_unmarked_constants(module),
        *_unmarked_template(template),
    ]

    assert marked == ["Planted label"]
    assert template_marked == ["Marked here"]
    assert len(unmarked) == 4
    planted_texts = ["This is not translated.", "constant sentence", "Left in English", "Type here"]
    for planted in planted_texts:
        assert any(planted in line for line in unmarked), planted


# --- Text fixed at import time ---------------------------------------------------------------
def _import_time_nodes(tree: ast.Module):
    """The nodes Python evaluates when the module is imported: module and class bodies
    (with their comprehensions), not function bodies or lambdas."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


# Module constants people read whole: choices and labels.
READ_CONSTANTS = re.compile(r"(CHOICES|LABELS?|TITLES?)$")


def _fstring_text(node: ast.JoinedStr) -> str:
    return "".join(_literal(part) or "" for part in node.values)


def _is_marked(node) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) in MARKERS


def _import_time_formatting(path: Path):
    """A translated message formatted (or an f-string built) when the module is imported is
    fixed in the language of the process that imported it: English, for good."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in _import_time_nodes(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_marked(node.left):
            message = _message_ids(_call_name(node.left), node.left.args)
            yield f"{_where(path)}:{node.lineno}: {message}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and _is_marked(node.func.value)
        ):
            yield f"{_where(path)}:{node.lineno}: .format() of a message"
        elif (
            isinstance(node, ast.JoinedStr)
            and _reads_as_text(_fstring_text(node))
            and not CODE_LIKE.search(_fstring_text(node))
        ):
            yield f"{_where(path)}:{node.lineno}: f-string {_fstring_text(node)!r}"
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and READ_CONSTANTS.search(target.id)
            for target in node.targets
        ):
            for inner in ast.walk(node.value):
                if isinstance(inner, ast.JoinedStr):
                    yield f"{_where(path)}:{inner.lineno}: f-string in {node.targets[0].id}"


# Class attributes a person reads (an AppConfig's or a Meta's names).
READ_ATTRIBUTES_OF_CLASSES = {"verbose_name", "verbose_name_plural"}


def _unmarked_class_attributes(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
                continue
            target = statement.targets[0]
            value = _literal(statement.value)
            if (
                isinstance(target, ast.Name)
                and target.id in READ_ATTRIBUTES_OF_CLASSES
                and value
                and _reads_as_text(value)
            ):
                yield f"{_where(path)}:{statement.lineno}: {target.id} = {value!r}"


def test_no_message_is_fixed_in_one_language_at_import_time():
    found = [line for path in _python_files() for line in _import_time_formatting(path)]
    found += [line for path in _python_files() for line in _unmarked_class_attributes(path)]

    assert not found, f"{len(found)} texts are fixed when the module is imported:\n" + (
        "\n".join(found)
    )


# --- Labels the console takes from models ----------------------------------------------------
def _console_field_names(model_admin) -> set[str]:
    """Model fields a console page labels: columns, filters, form and read-only fields."""
    names = [*model_admin.list_display, *model_admin.readonly_fields]
    names += [
        item if isinstance(item, str) else item[0]
        for item in model_admin.list_filter
        if isinstance(item, str | tuple)
    ]
    if model_admin.fieldsets:
        for _name, options in model_admin.fieldsets:
            for entry in options.get("fields", ()):
                names += [entry] if isinstance(entry, str) else list(entry)
    elif model_admin.fields:
        for entry in model_admin.fields:
            names += [entry] if isinstance(entry, str) else list(entry)
    else:
        exclude = set(model_admin.exclude or ())
        fields = model_admin.model._meta.fields + model_admin.model._meta.many_to_many
        names += [f.name for f in fields if f.editable and not f.auto_created]
        names = [name for name in names if name not in exclude]
    return {name for name in names if isinstance(name, str)}


# Fields django-tenants declares: their English labels are the library's to translate.
LIBRARY_FIELDS = {
    "tenants.Tenant.schema_name", "tenants.Domain.domain", "tenants.Domain.is_primary",
    "tenants.Domain.tenant",
}  # fmt: skip


def _untranslated_model_labels():
    from django.db.models import Field
    from django.utils.functional import Promise

    from tests.core.test_admin_smoke import admin_sites

    for site in admin_sites():
        for model, model_admin in site._registry.items():
            if not model.__module__.startswith(("engagex.", "tenants.")):
                continue
            for attribute in ("verbose_name", "verbose_name_plural"):
                if not isinstance(model._meta.original_attrs.get(attribute), Promise):
                    yield f"{model._meta.label}: Meta.{attribute}"
            for name in sorted(_console_field_names(model_admin)):
                try:
                    field = model._meta.get_field(name.split("__")[0])
                except Exception:  # noqa: S112 - an admin method or a related lookup, not a field
                    continue
                if f"{model._meta.label}.{name}" in LIBRARY_FIELDS:
                    continue
                if isinstance(field, Field) and not isinstance(field.verbose_name, Promise):
                    yield f"{model._meta.label}.{name}: {field.verbose_name!r}"


def test_every_model_label_the_console_shows_is_translated():
    """A field's name in a column, filter or form comes from its `verbose_name`: without
    `_()` it stays English ("created at") on a Spanish page."""
    found = list(_untranslated_model_labels())

    assert not found, f"{len(found)} model labels the console shows are not translated:\n" + (
        "\n".join(found)
    )


# --- Unfold's messages -----------------------------------------------------------------------
def _unfold_messages() -> set[str]:
    import unfold

    package = Path(unfold.__file__).parent
    found = {message for path in package.rglob("*.html") for message, _ in _template_messages(path)}
    found |= {message for path in package.rglob("*.py") for message, _ in _python_messages(path)}
    return found


def test_the_unfold_messages_we_translate_are_still_unfolds():
    """`engagex/core/unfold_strings.py` copies unfold's msgids into our catalogue; an unfold
    upgrade that rewords one would leave its text English again, so it fails here."""
    from engagex.core.unfold_strings import UNFOLD_MESSAGES

    stale = sorted(set(UNFOLD_MESSAGES) - _unfold_messages())

    assert len(UNFOLD_MESSAGES) == len(set(UNFOLD_MESSAGES))
    assert "This page yielded into no results. Create a new item or reset your filters." in (
        UNFOLD_MESSAGES
    )
    assert not stale, "No longer in unfold's templates or code:\n" + "\n".join(stale)


def test_the_import_time_and_label_checks_find_what_they_look_for(tmp_path):
    """Planted: a message formatted at import time, an f-string in choices, an app name and a
    chart label left unmarked; and their lazy, marked forms, which pass."""
    module = tmp_path / "planted.py"
    module.write_text(
        "from django.utils.text import format_lazy\n"
        "from django.utils.translation import gettext_lazy as _\n"
        "ROLE_CHOICES = [(r, f'{r} — {DESCRIPTIONS[r]}') for r in ROLES]\n"
        "LAZY_CHOICES = [(r, format_lazy('{} — {}', r, DESCRIPTIONS[r])) for r in ROLES]\n"
        "class Form:\n"
        "    help = _('Up to %(size)s.') % {'size': SIZE}\n"
        "    def later(self):\n"
        "        return _('Up to %(size)s.') % {'size': SIZE}\n"
        "class Config:\n"
        "    verbose_name = 'Contacts'\n"
        "class Marked:\n"
        "    verbose_name = _('Contacts')\n"
        "def chart():\n"
        "    return {'label': 'New contacts', 'data': []}, {'label': _('New contacts')}\n"
    )

    import_time = list(_import_time_formatting(module))
    attributes = list(_unmarked_class_attributes(module))
    unmarked = list(_unmarked_python(module))

    assert sorted(line.split(": ", 1)[0] for line in import_time) == [
        f"{_where(module)}:3",
        f"{_where(module)}:6",
    ]
    assert attributes == [f"{_where(module)}:10: verbose_name = 'Contacts'"]
    assert unmarked == [f"{_where(module)}:14: 'New contacts'"]


def test_the_group_selector_speaks_german(owner_client):
    """Django 5.2's German JavaScript catalogue lacks the two-box selector's new texts; ours
    fills them (locale/de/LC_MESSAGES/djangojs.po)."""
    owner_client.cookies["django_language"] = "de"

    script = owner_client.get("/admin/jsi18n/").content.decode()

    assert '"Choose all %s": "Alle %s ausw\\u00e4hlen"' in script or (
        '"Choose all %s": "Alle %s auswählen"' in script
    )
    assert "(zum Leeren klicken)" in script
