"""Typed custom attributes: one type per attribute name, values checked on every write.

Values stay in `Contact.attributes` (jsonb) as they came; a type says which values are
valid from now on and how segments compare them. Reads go through the SQL expressions
below, which never cast a value that does not look like its type: a legacy value that does
not fit (say "soon" in a date attribute) matches no typed condition instead of making a
query fail. `attribute_definition_save` tells how many such values there are.
"""

import math
import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Func, Index, Q, Value, When
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Left, Length, Lower, Substr
from django.db.models.lookups import Exact, LessThanOrEqual, Regex
from django.utils.translation import gettext_lazy
from psycopg import sql

from engagex.contacts.models import AttributeDefinition, AttributeType, Contact
from engagex.core.formats import number

T = AttributeType
# Patterns a value must match to be read as its type (SQL and Python use the same ones).
NUMBER_PATTERN = r"^-?[0-9]{1,30}(\.[0-9]{1,30})?$"
# The same in SQL, where counted repetition ({1,30}) costs 7x: the length is checked apart.
SQL_NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ].*)?$"
BOOLEAN_VALUES = {"true": True, "false": False}

NAME_EMPTY = gettext_lazy("Give the attribute a name.")
NAME_TAKEN = gettext_lazy("There is already an attribute named “{name}”.")
NOT_A_NUMBER = gettext_lazy("Custom attribute “{name}” holds numbers: “{value}” is not a number.")
NOT_A_DATE = gettext_lazy(
    "Custom attribute “{name}” holds dates: “{value}” is not a date (write it as YYYY-MM-DD)."
)
NOT_A_BOOLEAN = gettext_lazy(
    "Custom attribute “{name}” holds yes/no values: “{value}” is neither true nor false."
)
NOT_TEXT = gettext_lazy("Custom attribute “{name}” holds text: a list or an object is not text.")
VALUES_DO_NOT_FIT = gettext_lazy(
    "{count} contacts hold a value in “{name}” that is not of this type (for example "
    "“{example}”): correct them first, or keep the type text."
)
_MESSAGES = {T.NUMBER: NOT_A_NUMBER, T.DATE: NOT_A_DATE, T.BOOLEAN: NOT_A_BOOLEAN, T.TEXT: NOT_TEXT}


def attribute_value_fits(kind: str, value) -> bool:
    """Whether a JSON value is a valid value of an attribute type (empty always is)."""
    if value is None or value == "":
        return True
    if kind == T.TEXT:
        return not isinstance(value, dict | list)
    if kind == T.BOOLEAN:
        return isinstance(value, bool) or (
            isinstance(value, str) and value.strip().lower() in BOOLEAN_VALUES
        )
    if kind == T.NUMBER:
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return math.isfinite(value)
        return isinstance(value, str) and re.match(NUMBER_PATTERN, value.strip()) is not None
    if kind == T.DATE:
        if not isinstance(value, str) or not re.match(DATE_PATTERN, value.strip()):
            return False
        try:
            date.fromisoformat(value.strip()[:10])
        except ValueError:
            return False
        return True
    return False


def attribute_types() -> dict[str, str]:
    """Every typed attribute of the workspace: name → type."""
    return dict(AttributeDefinition.objects.values_list("name", "type"))


# How files write yes and no: English, German, French, Spanish words, and spreadsheets'
# TRUE/FALSE in those languages (WAHR/FALSCH, VRAI/FAUX, VERDADERO/FALSO).
FILE_BOOLEANS = {
    **dict.fromkeys(
        ["true", "yes", "y", "1", "x", "ja", "wahr", "oui", "vrai", "sí", "si", "verdadero"],
        True,
    ),
    **dict.fromkeys(["false", "no", "n", "0", "nein", "falsch", "non", "faux", "falso"], False),
}
_DOTTED_DATE = re.compile(r"^(0?[1-9]|[12][0-9]|3[01])\.(0?[1-9]|1[0-2])\.([0-9]{4})$")


def attribute_value_from_file(kind: str | None, value):
    """A file's cell as the value its attribute's type stores, where it reads as one: yes/no
    words (and a spreadsheet's 1/0) as true/false, numeric text that reads back the same as
    a number, a German/Swiss 31.01.2027 as 2027-01-31.
    Anything else is returned as it was (and `attribute_value_problem` names it)."""
    if kind == T.BOOLEAN and type(value) is int and value in (0, 1):
        return bool(value)  # a spreadsheet's 1 / 0
    if not kind or not isinstance(value, str):
        return value
    text = value.strip()
    if kind == T.BOOLEAN:
        return FILE_BOOLEANS.get(text.lower(), value)
    if kind == T.NUMBER and re.match(NUMBER_PATTERN, text):
        # Only where the number reads back as the same text: "0012" (a code) and "2.50"
        # stay as written (they still fit the type), big integers stay exact.
        if "." not in text:
            return int(text) if str(int(text)) == text else value
        number = float(text)
        return number if repr(number) == text else value
    if kind == T.DATE and (dotted := _DOTTED_DATE.match(text)):
        day, month, year = (int(part) for part in dotted.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return value
    return value


def attribute_value_problem(kind: str | None, name: str, value) -> str | None:
    """Why a value does not fit its attribute's type, or None (untyped names take anything)."""
    if not kind or attribute_value_fits(kind, value):
        return None
    return str(_MESSAGES[T(kind)].format(name=name, value=str(value)[:60]))


def attribute_values_check(attributes: dict, *, types: dict[str, str] | None = None) -> None:
    """Refuse a value that does not fit its attribute's type (untyped names take anything).

    The one call contact writes (console, API, bulk upserts) make; an import checks each
    row's values with `attribute_value_problem` and reports the row.
    """
    if not attributes:
        return
    types = attribute_types() if types is None else types
    for name, value in attributes.items():
        problem = attribute_value_problem(types.get(str(name)), str(name), value)
        if problem is not None:
            raise ValidationError({"attributes": problem})


# --- reading typed values in SQL --------------------------------------------------------------
class _AttributeText(KeyTextTransform):
    """attributes ->> 'name', the name always a key: Django reads a name that int() accepts
    ("2024") as an array position, which an object never has."""

    def as_postgresql(self, compiler, connection):
        lhs, params, _ = self.preprocess_lhs(compiler, connection)
        return f"({lhs} ->> %s)", (*params, self.key_name)


def attribute_text(name: str) -> Expression:
    """The attribute as text (jsonb ->> name); NULL when absent."""
    return _AttributeText(name, "attributes")


# How much of a text attribute its index keeps: any value fits a btree entry (at most ~2.7 kB).
TEXT_KEY_CHARS = 200


def attribute_text_key(name: str) -> Expression:
    """The first TEXT_KEY_CHARS characters of the attribute as text: what a text
    attribute's index holds ("is" compares it, and the whole text for longer values)."""
    return Left(attribute_text(name), TEXT_KEY_CHARS)


def attribute_number(name: str) -> Expression:
    """The attribute as a number, or NULL when it does not look like one."""
    text = attribute_text(name)
    return Case(
        When(
            Q(Regex(text, SQL_NUMBER_PATTERN)) & Q(LessThanOrEqual(Length(text), 60)),
            then=Cast(text, FloatField()),
        ),
        default=Value(None, output_field=FloatField()),
        output_field=FloatField(),
    )


def _date_shaped(text: Expression) -> Q:
    # translate() instead of a regular expression: a tenth of the cost over a million rows.
    digits = Value("0123456789")
    shape = Func(Left(text, 10), digits, Value("0000000000"), function="translate")
    return Q(Exact(shape, "0000-00-00"))


def attribute_date_text(name: str) -> Expression:
    """The attribute's date as 'YYYY-MM-DD' text (compares like dates), or NULL.

    Comparing text avoids a cast that would fail on a well-formed but impossible date
    (2023-02-31) that a write before the type existed may have left.
    """
    text = attribute_text(name)
    return Case(When(_date_shaped(text), then=Left(text, 10)), default=Value(None))


def attribute_month_day(name: str) -> Expression:
    """'MM-DD' of the attribute's date (anniversaries), or NULL."""
    text = attribute_text(name)
    return Case(When(_date_shaped(text), then=Substr(text, 6, 5)), default=Value(None))


def attribute_boolean_text(name: str) -> Expression:
    """'true' / 'false' (lower-cased, trimmed), or whatever else the value is."""
    return Lower(Func(attribute_text(name), function="btrim"))


# --- indexes ----------------------------------------------------------------------------------
def _indexed_expression(name: str, kind: str) -> Expression | None:
    """What a typed attribute's range conditions compare (segments use the same functions)."""
    if kind == T.NUMBER:
        return attribute_number(name)
    if kind == T.DATE:
        return attribute_date_text(name)
    if kind == T.TEXT:
        return attribute_text_key(name)
    return None  # yes/no: too few values to index


def attribute_index_name(definition: AttributeDefinition) -> str:
    return f"contact_attr_{definition.pk}_idx"


def attribute_index_ensure(definition: AttributeDefinition) -> None:
    """(Re)build the expression index of a text, number or date attribute, drop any other's.

    One index per typed attribute turns "seats between 10 and 20" from a scan of every
    contact into an index range (bench/segment_count.py). The index is built from the very
    expression the conditions compile to, so the planner matches the two. Building takes
    about a second per 500,000 contacts and holds writes to contacts meanwhile.
    """
    name = attribute_index_name(definition)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
    expression = _indexed_expression(definition.name, definition.type)
    if expression is None:
        return
    with connection.schema_editor() as editor:
        # With the status and awaiting_confirmation: a count of the contacts a campaign
        # reaches in a range reads the index and (on all-visible pages) no table rows
        # (contacts migrations 0011 and 0015 for older indexes).
        editor.add_index(
            Contact, Index(expression, F("status"), F("awaiting_confirmation"), name=name)
        )


def attribute_definition_delete(*, definition: AttributeDefinition) -> None:
    """Forget an attribute's type (its values stay on the contacts, untyped)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP INDEX IF EXISTS {}").format(
                sql.Identifier(attribute_index_name(definition))
            )
        )
    definition.delete()


# --- definitions ------------------------------------------------------------------------------
def _kind_query(name: str) -> dict:
    """Count, in one pass, the values of one attribute that are not of each type."""
    # Boolean strings are checked lower-cased and trimmed, as attribute_value_fits does.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                SELECT
                  count(*) FILTER (WHERE NOT (jsonb_typeof(j) = 'number' OR v ~ %(num)s)),
                  min(v) FILTER (WHERE NOT (jsonb_typeof(j) = 'number' OR v ~ %(num)s)),
                  count(*) FILTER (WHERE NOT v ~ %(date)s),
                  min(v) FILTER (WHERE NOT v ~ %(date)s),
                  count(*) FILTER (WHERE NOT (jsonb_typeof(j) = 'boolean'
                      OR lower(btrim(v)) IN ('true', 'false'))),
                  min(v) FILTER (WHERE NOT (jsonb_typeof(j) = 'boolean'
                      OR lower(btrim(v)) IN ('true', 'false'))),
                  count(*) FILTER (WHERE jsonb_typeof(j) IN ('object', 'array')),
                  min(v) FILTER (WHERE jsonb_typeof(j) IN ('object', 'array')),
                  count(*)
                FROM {table} c, LATERAL (SELECT c.attributes -> %(name)s AS j) a,
                     LATERAL (SELECT a.j #>> '{{}}' AS v) b
                WHERE c.attributes ? %(name)s AND jsonb_typeof(j) <> 'null' AND v <> ''
                """
            ).format(table=sql.Identifier(Contact._meta.db_table)),
            {"num": NUMBER_PATTERN, "date": DATE_PATTERN, "name": name},
        )
        row = cursor.fetchone()
    keys = ["number", "date", "boolean", "text"]
    result: dict = {"values": row[8]}
    for index, key in enumerate(keys):
        result[f"not_{key}"] = row[2 * index]
        result[f"example_not_{key}"] = row[2 * index + 1]
    return result


@transaction.atomic
def attribute_definition_save(
    *, name: str, type: str, definition: AttributeDefinition | None = None
) -> AttributeDefinition:
    """Create or change an attribute's type; refuse a type its stored values do not fit.

    Dates are checked by their shape here (YYYY-MM-DD); an impossible day such as
    2023-02-31 left by an old write matches no date condition, it does not fail a query.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": NAME_EMPTY})
    clash = AttributeDefinition.objects.filter(name=name)
    if definition is not None:
        clash = clash.exclude(pk=definition.pk)
    if clash.exists():
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})
    definition = definition or AttributeDefinition()
    counts = _kind_query(name)
    if type != T.TEXT or counts["not_text"]:
        misfits, example = counts[f"not_{type}"], counts[f"example_not_{type}"]
        if misfits:
            raise ValidationError(
                {
                    "type": VALUES_DO_NOT_FIT.format(
                        count=number(misfits), name=name, example=str(example)[:60]
                    )
                }
            )
    changed = definition.pk is None or (definition.name, definition.type) != (name, type)
    definition.name, definition.type = name, type
    definition.full_clean()
    definition.save()
    if changed:
        attribute_index_ensure(definition)
    return definition


@dataclass(frozen=True)
class Inferred:
    name: str
    type: str
    values: int


def attributes_infer() -> list[Inferred]:
    """Give every attribute name without a type the narrowest type all its values fit
    (yes/no, then number, then date, else text); return what was typed.

    Types already set (by hand or earlier) are left as they are.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT DISTINCT jsonb_object_keys(attributes) FROM {} ORDER BY 1").format(
                sql.Identifier(Contact._meta.db_table)
            )
        )
        names = [row[0] for row in cursor.fetchall()]
    typed = set(AttributeDefinition.objects.values_list("name", flat=True))
    inferred = []
    for name in names:
        if name in typed or len(name) > 100:
            continue
        counts = _kind_query(name)
        kind = T.TEXT
        if counts["values"]:
            for candidate in (T.BOOLEAN, T.NUMBER, T.DATE):
                if counts[f"not_{candidate}"] == 0:
                    kind = candidate
                    break
        if counts["not_text"]:
            continue  # lists or objects: not a typed attribute
        attribute_index_ensure(AttributeDefinition.objects.create(name=name, type=kind))
        inferred.append(Inferred(name=name, type=kind, values=counts["values"]))
    return inferred
