"""Column mapping: which spreadsheet column feeds which contact field."""

import re

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

ATTRIBUTE = "attribute"
IGNORE = ""
FIELDS = {
    "email": _("Email"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "phone": _("Phone"),
    "language": _("Language"),
    "timezone": _("Time zone"),
    "status": _("Status"),
}
CHOICES = [*FIELDS.items(), (ATTRIBUTE, _("Custom attribute")), (IGNORE, _("Ignore this column"))]
MAX_LENGTHS = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "language": 16,
    "timezone": 64,
}

# Headers people actually use, after lower-casing and dropping everything but letters/digits.
SYNONYMS = {
    "email": {"email", "emailaddress", "mail", "emailid", "useremail", "contactemail"},
    "first_name": {"firstname", "fname", "first", "givenname", "forename", "name1"},
    "last_name": {"lastname", "lname", "last", "surname", "familyname", "name2"},
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "cell", "tel", "telephone"},
    "language": {"language", "lang", "locale", "preferredlanguage"},
    "timezone": {"timezone", "tz", "timezonename"},
    "status": {"status", "subscriptionstatus", "emailstatus"},
}
_LOOKUP = {synonym: field for field, synonyms in SYNONYMS.items() for synonym in synonyms}

NO_EMAIL_COLUMN = gettext_lazy(
    "No column is mapped to Email: choose the column that holds the email addresses."
)
DOUBLE_MAPPED = gettext_lazy(
    "“{field}” is mapped from more than one column ({columns}): keep only one."
)


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def mapping_guess(headers: list[str], *, unknown: str = ATTRIBUTE) -> dict[str, str]:
    """Map each column index (as a string) to a field, a custom attribute or nothing."""
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        field = _LOOKUP.get(header_key(header))
        if field and field not in used:
            mapping[str(index)] = field
            used.add(field)
        elif header.strip():
            mapping[str(index)] = unknown
        else:
            mapping[str(index)] = IGNORE
    return mapping


def mapping_errors(mapping: dict[str, str], headers: list[str]) -> list[str]:
    errors = []
    if "email" not in mapping.values():
        errors.append(NO_EMAIL_COLUMN)
    for field, label in FIELDS.items():
        columns = [headers[int(i)] for i, f in mapping.items() if f == field]
        if len(columns) > 1:
            errors.append(DOUBLE_MAPPED.format(field=label, columns=", ".join(columns)))
    return errors
