"""Column mapping: which spreadsheet column feeds which contact field.

The guess knows the headers other tools export (Mailchimp, Brevo, HubSpot, listmonk,
Google Contacts, Outlook, EngageX itself) in English, German, French and Spanish, and the
columns in which those tools say who unsubscribed, bounced or complained there.
"""

import re
import unicodedata
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ATTRIBUTE = "attribute"
IGNORE = ""
FULL_NAME = "full_name"
ATTRIBUTES_JSON = "attributes_json"
# Contact fields: one column each.
FIELDS = {
    "email": _("Email"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "phone": _("Phone"),
    "language": _("Language"),
    "timezone": _("Time zone"),
    "status": _("Status"),
}
# Opt-out evidence: any number of columns; a filled-in (or yes/true) cell opts the row out.
OPT_OUTS = {
    "unsubscribed": _("Unsubscribed when filled in (a date, a reason, yes)"),
    "bounced": _("Bounced or cleaned when filled in"),
    "complained": _("Marked as spam when filled in"),
}
# Consent evidence for the lists an import fills (and the contact's consent date).
CONSENT = {
    "consent_at": _("Consent date (when they agreed to get email)"),
    "consent_ip": _("Consent IP address"),
    "confirmed_at": _("Double opt-in confirmed (date)"),
    "confirm_ip": _("Double opt-in confirmation IP address"),
}
CONSENT_DATES = frozenset({"consent_at", "confirmed_at"})
SINGLE = {
    **FIELDS,
    FULL_NAME: _("Full name (first word: first name; the rest: last name)"),
    **CONSENT,
}
CHOICES = [
    *SINGLE.items(),
    *OPT_OUTS.items(),
    (ATTRIBUTES_JSON, _("Custom attributes (a JSON object)")),
    (ATTRIBUTE, _("Custom attribute")),
    (IGNORE, _("Ignore this column")),
]
MAX_LENGTHS = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "language": 16,
    "timezone": 64,
}

# Headers people actually use, reduced by header_key(). Tier 0 wins over tier 1 (Outlook
# lists "Home Phone" before "Mobile Phone"); within a tier the leftmost column wins.
SYNONYMS = {
    "email": {
        "email", "emailaddress", "mail", "emailid", "useremail", "contactemail",
        "primaryemail", "email1value", "emailadresse", "emailadress", "mailadresse",
        "courriel", "adressecourriel", "adresseemail", "adressemail", "adresseelectronique",
        "correo", "correoelectronico", "direcciondecorreo", "direcciondecorreoelectronico",
        "emailadres", "postaelettronica", "indirizzoemail",
    },
    "first_name": {
        "firstname", "fname", "first", "givenname", "forename", "name1", "vorname",
        "prenom", "nombre", "nome", "primeironome", "voornaam",
    },
    "last_name": {
        "lastname", "lname", "last", "surname", "familyname", "name2", "nachname",
        "familienname", "nom", "nomdefamille", "apellidos", "apellido", "cognome",
        "sobrenome", "achternaam",
    },
    "phone": {
        "phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "mobilephonenumber",
        "cell", "cellphone", "tel", "telephone", "telefon", "telefonnummer", "handy",
        "handynummer", "mobil", "mobiltelefon", "mobilnummer", "telefono", "movil",
        "celular", "telefonomovil", "numerodetelefono", "portable", "telephoneportable",
        "numerodetelephone", "sms", "phone1value", "primaryphone", "telefone",
    },
    "language": {"language", "lang", "locale", "preferredlanguage", "sprache", "langue",
                 "idioma", "lingua"},
    "timezone": {"timezone", "tz", "timezonename", "zeitzone", "fuseauhoraire",
                 "zonahoraria"},
    "status": {"status", "subscriptionstatus", "emailstatus", "memberstatus", "statut",
               "estado", "abonnementstatus", "emailsubscriptionstatus"},
    # Mailchimp's OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP; generic consent columns.
    "consent_at": {"optintime", "optindate", "optinat", "optedinat", "consentdate",
                   "consenttime", "consentat", "consentedat", "einwilligungsdatum",
                   "fechadeconsentimiento", "dateconsentement"},
    "consent_ip": {"optinip", "consentip", "consentipaddress", "optinipaddress"},
    "confirmed_at": {"confirmtime", "confirmedat", "confirmationtime", "confirmationdate",
                     "confirmeddate", "doubleoptintime", "doubleoptindate"},
    "confirm_ip": {"confirmip", "confirmationip", "confirmedip", "confirmipaddress"},
}  # fmt: skip
SECONDARY = {
    "phone": {
        "homephone", "businessphone", "workphone", "otherphone", "phone2value",
        "companymainphone", "festnetz", "telefonprivat", "telefongeschaftlich",
        "landlinenumber",
    },
}  # fmt: skip
OPT_OUT_SYNONYMS = {
    "unsubscribed": {
        # Mailchimp's unsubscribed export, HubSpot, Brevo, Salesforce-style flags.
        "unsubtime", "unsubscribetime", "unsubscribedat", "unsubscribedate",
        "unsubscribeddate", "unsubscribed", "unsubscribedfromallemail", "optout",
        "optedout", "optouttime", "optoutdate", "emailoptout", "hasoptedoutofemail",
        "donotemail", "blacklisted", "blocklisted", "emailblacklisted", "emailblocklisted",
        "blacklist", "blocklist", "emailblacklist", "emailblocklist", "portalunsubscribe",
        "globalunsubscribe", "marketinginformation", "abgemeldet", "abgemeldetam",
        "desabonne", "desinscrit", "dadodebaja",
    },
    "bounced": {
        # Mailchimp's cleaned export, HubSpot's bounce columns.
        "cleantime", "cleanedat", "cleaned", "bounced", "bouncedat", "bouncetime",
        "hardbounce", "hardbounced", "emailhardbouncereason", "hardbouncereason",
        "portalbounce", "globalbounce", "emailbounced",
    },
    "complained": {
        "portalspamreport", "spamreport", "markedasspam", "complaint", "complained",
        "spamcomplaint", "complainttime",
    },
}  # fmt: skip
# HubSpot: "Opted out of email: <subscription type>". EngageX sends one kind of email.
OPT_OUT_PREFIXES = {"optedoutofemail": "unsubscribed"}
FULL_NAME_KEYS = {"name", "fullname", "contactname", "displayname", "nombrecompleto",
                  "nomcomplet", "vollstandigername"}  # fmt: skip
ATTRIBUTES_JSON_KEYS = {"attributes", "attribs", "customattributes", "customfields"}
# Bookkeeping of the exporting tool (EngageX's own export included): neither fields nor
# attributes. "Groups": membership is chosen in the mapping step, never read from a cell.
IGNORED_KEYS = {
    "statuschanged", "consentgiven", "consentsource", "created", "createdat",
    "createddate", "createdate", "updated", "updatedat", "modified", "modifiedtime",
    "addedtime", "lastchanged", "leid", "euid", "uuid", "recordid", "contactid",
    "latitude", "longitude", "gmtoff", "dstoff", "groups",
}  # fmt: skip
IGNORED_PATTERN = re.compile(r"^(email|phone|address|website)\d*(label|type|displayname)$")

# What status cells say, across tools and languages (reduced by header_key()).
STATUS_WORDS = {
    "subscribed": {
        "subscribed", "subscriber", "active", "enabled", "optedin", "optin", "confirmed",
        "softbounce", "softbounced", "abonniert", "angemeldet", "aktiv", "abonne", "inscrit",
        "actif", "suscrito", "activo", "alta",
    },
    "unsubscribed": {
        "unsubscribed", "unsubscribe", "optedout", "optout", "blocklisted", "blacklisted",
        "blocked", "disabled", "suppressed", "globalunsubscribe", "abgemeldet", "desabonne",
        "desinscrit", "dadodebaja", "baja",
    },
    "bounced": {"bounced", "bounce", "cleaned", "hardbounce", "hardbounced", "invalid",
                "undeliverable"},
    "complained": {"complained", "complaint", "spam", "markedasspam", "spamreport", "abuse"},
}  # fmt: skip
STATUS_LOOKUP = {word: status for status, words in STATUS_WORDS.items() for word in words}
# People who never confirmed, or are not on the marketing list at all: not imported.
NOT_SUBSCRIBED_WORDS = {"pending", "unconfirmed", "transactional", "archived",
                        "nonsubscribed", "notsubscribed"}  # fmt: skip
FALSE_WORDS = {"", "0", "00", "false", "no", "n", "f", "none", "null", "nil", "off", "never",
               "nein", "non", "falso", "nao"}  # fmt: skip
FILE_STATUS_WORDS = [
    ("unsubscribed", re.compile(r"unsub|opt.?out|block.?list|black.?list|suppress|abgemeldet")),
    ("complained", re.compile(r"marked.?as.?spam|spam.?(report|complaint)|complaints")),
    ("bounced", re.compile(r"cleaned|bounce")),
]

_LOOKUP = {synonym: (field, 0) for field, synonyms in SYNONYMS.items() for synonym in synonyms}
_LOOKUP |= {synonym: (field, 1) for field, synonyms in SECONDARY.items() for synonym in synonyms}
_OPT_OUT_LOOKUP = {key: field for field, keys in OPT_OUT_SYNONYMS.items() for key in keys}

NO_EMAIL_COLUMN = gettext_lazy(
    "No column is mapped to Email: choose the column that holds the email addresses."
)
DOUBLE_MAPPED = gettext_lazy(
    "“{field}” is mapped from more than one column ({columns}): keep only one."
)
FULL_NAME_AND_PARTS = gettext_lazy(
    "A column is mapped to Full name, which fills first and last name: do not also map "
    "First name or Last name."
)


def header_key(header: str) -> str:
    """A header reduced to lower-case ASCII letters and digits: “E-Mail-Adresse” →
    "emailadresse", “Téléphone” → "telephone", “Correo electrónico” → "correoelectronico"."""
    decomposed = unicodedata.normalize("NFKD", str(header).lower().replace("ß", "ss"))
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode())


def mapping_guess(
    headers: list[str],
    *,
    samples: list[list[str]] | None = None,
    has_header: bool = True,
    unknown: str = ATTRIBUTE,
) -> dict[str, str]:
    """Map each column index (as a string) to a field, an opt-out, an attribute or nothing."""
    samples = samples or []
    if not has_header:
        return _guess_by_content(headers, samples, unknown)
    mapping: dict[str, str] = {}
    best: dict[str, tuple[int, str]] = {}  # field: (synonym tier, column) of its best column
    for index, header in enumerate(headers):
        key = header_key(header)
        column = str(index)
        if not key:
            mapping[column] = IGNORE
        elif key in _OPT_OUT_LOOKUP:
            mapping[column] = _OPT_OUT_LOOKUP[key]
        elif any(key.startswith(prefix) for prefix in OPT_OUT_PREFIXES):
            mapping[column] = next(f for p, f in OPT_OUT_PREFIXES.items() if key.startswith(p))
        elif key in _LOOKUP:
            field, tier = _LOOKUP[key]
            if field not in best or tier < best[field][0]:
                if field in best:
                    mapping[best[field][1]] = unknown
                best[field] = (tier, column)
                mapping[column] = field
            else:
                mapping[column] = unknown
        elif key in IGNORED_KEYS or IGNORED_PATTERN.match(key):
            mapping[column] = IGNORE
        elif key in ATTRIBUTES_JSON_KEYS and _looks_like_json_objects(samples, index):
            mapping[column] = ATTRIBUTES_JSON
        elif key in FULL_NAME_KEYS:
            mapping[column] = FULL_NAME  # settled below, once the other names are known
        else:
            mapping[column] = unknown
    _settle_full_names(mapping, headers)
    return mapping


def _settle_full_names(mapping: dict[str, str], headers: list[str]) -> None:
    """A "Name" column beside "Vorname"/"Prénom" is the surname (German and French forms);
    beside both first and last name it repeats them; alone it is the full name."""
    fields = set(mapping.values())
    seen_full = False
    for column, field in mapping.items():
        if field != FULL_NAME:
            continue
        key = header_key(headers[int(column)])
        if "first_name" in fields and "last_name" not in fields and key == "name":
            mapping[column] = "last_name"
            fields.add("last_name")
        elif {"first_name", "last_name"} & fields or seen_full:
            mapping[column] = IGNORE
        seen_full = seen_full or mapping[column] == FULL_NAME


def _guess_by_content(headers: list[str], samples: list[list[str]], unknown: str):
    """A file without a header row: find the email column by its values (Sendy exports
    "name","email",… with no header); a column of names just before it is the full name."""
    from engagex.contacts.services.contacts import email_is_valid

    mapping = {str(i): unknown for i in range(len(headers))}
    email = None
    for index in range(len(headers)):
        values = [row[index].strip() for row in samples if index < len(row) and row[index]]
        if values and sum(1 for v in values if email_is_valid(v)) * 2 > len(values):
            email = index
            break
    if email is None:
        return mapping
    mapping[str(email)] = "email"
    if email > 0:
        names = [row[email - 1] for row in samples if email - 1 < len(row) and row[email - 1]]
        if names and all(re.fullmatch(r"[^\W\d_]+(?:[ '’.-][^\W\d_]+)*\.?", n) for n in names):
            mapping[str(email - 1)] = FULL_NAME
    return mapping


def _looks_like_json_objects(samples: list[list[str]], index: int) -> bool:
    values = [row[index].strip() for row in samples if index < len(row) and row[index].strip()]
    return bool(values) and all(v.startswith("{") and v.endswith("}") for v in values)


def file_status_guess(name: str) -> str:
    """A whole export of opted-out people, told by its name (Mailchimp's
    unsubscribed_members_export_…, cleaned_members_export_…; Sendy's list-bounced.csv …)."""
    lowered = name.lower()
    for status, pattern in FILE_STATUS_WORDS:
        if pattern.search(lowered):
            return status
    return ""


def status_from_cell(value: str) -> str | None:
    """The contact status a status cell means; "" for people not to import; None if unknown."""
    key = header_key(value)
    if key in NOT_SUBSCRIBED_WORDS:
        return ""
    return STATUS_LOOKUP.get(key)


def cell_is_true(value: str) -> bool:
    """A filled-in opt-out cell: a date, a reason, yes/true/1 (not no/false/0)."""
    return header_key(value) not in FALSE_WORDS


def mapping_errors(mapping: dict[str, str], headers: list[str]) -> list["StrOrPromise"]:
    errors: list[StrOrPromise] = []
    if "email" not in mapping.values():
        errors.append(NO_EMAIL_COLUMN)
    for field, label in SINGLE.items():
        columns = [headers[int(i)] for i, f in mapping.items() if f == field]
        if len(columns) > 1:
            errors.append(DOUBLE_MAPPED.format(field=label, columns=", ".join(columns)))
    values = set(mapping.values())
    if FULL_NAME in values and {"first_name", "last_name"} & values:
        errors.append(FULL_NAME_AND_PARTS)
    return errors
