"""Erasure at the person's request, and the hashes that keep an erased address out.

Erasing deletes the contact (its memberships, its link from campaign recipients: the
registered delete hooks), has the apps that keep copies of the address scrub them (the
registered erasure hooks: campaign recipients' address, events' bounce texts) and keeps one
row, `ErasedAddress`, holding only a keyed hash of the address, so that no import, API call
or console form can add the person again.

The hash is HMAC-SHA256 of the address trimmed and with ASCII letters lower-cased (the same
in Python and in SQL whatever the database's locale), keyed with a pepper: the setting
`ERASURE_PEPPER` when set, otherwise derived from `SECRET_KEY`. Without the pepper a table
of hashes is a table of addresses to anyone with a list of addresses to try; with it, it
says nothing outside this deployment. Rotating `SECRET_KEY` changes a derived pepper:
hashes made under a key still in `SECRET_KEY_FALLBACKS` keep matching, and once that key
is dropped they match nothing (those people could be imported again). Set `ERASURE_PEPPER`
to a fixed secret of its own in production so that key rotation never touches it.

Imports check set-based: `erased_rows_sql` computes the same HMAC in SQL with PostgreSQL's
built-in sha256() (no pgcrypto), so a 100k-row file is checked in one statement.
"""

import hashlib
import hmac
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy
from psycopg import sql

from engagex.accounts.services import person_actor_get
from engagex.contacts.models import Contact, ErasedAddress
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.tenancy import workspace_language

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ERASED = gettext_lazy(
    "This address was erased at the person's request: it cannot be added again unless they "
    "sign up again themselves."
)
ERASED_IN_IMPORT = gettext_lazy("Erased at the person's request: not imported.")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER_ASCII = str.maketrans(_UPPER, _UPPER.lower())
_BLOCK = 64  # SHA-256's block size, for HMAC's inner and outer pads


def address_key(email: str) -> str:
    """The address as hashed: trimmed, ASCII letters lower-cased."""
    return (email or "").strip().translate(_LOWER_ASCII)


@lru_cache(maxsize=8)
def _pepper(secret: str) -> bytes:
    return hashlib.sha256(b"engagex.erasure:" + secret.encode()).digest()


def _peppers() -> list[bytes]:
    """The current pepper first, then those of the fallback keys (matching, never writing)."""
    fixed = getattr(settings, "ERASURE_PEPPER", "")
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    # Hashes made before ERASURE_PEPPER was set keep matching while their key is known.
    return [_pepper(secret) for secret in ([fixed] if fixed else []) + secrets]


def address_hash(email: str, *, pepper: bytes | None = None) -> str:
    key = pepper if pepper is not None else _peppers()[0]
    return hmac.new(key, address_key(email).encode(), hashlib.sha256).hexdigest()


def _hashes(email: str) -> list[str]:
    return [address_hash(email, pepper=pepper) for pepper in _peppers()]


def erased_among(emails: Iterable[str]) -> set[str]:
    """The address keys (see `address_key`) among `emails` that were erased."""
    by_hash = {h: address_key(e) for e in emails for h in _hashes(e)}
    if not by_hash:
        return set()
    found = ErasedAddress.objects.filter(email_hash__in=list(by_hash)).values_list(
        "email_hash", flat=True
    )
    return {by_hash[h] for h in found}


def address_is_erased(email: str) -> bool:
    return bool(erased_among([email]))


def erasure_check(email: str) -> None:
    """Refuse an address erased at its owner's request (on the `email` field)."""
    if address_is_erased(email):
        raise ValidationError({"email": ERASED})


def any_erased(*, since: datetime | None = None) -> bool:
    """Whether the workspace erased anyone (since `since`): imports skip the check when not."""
    erased = ErasedAddress.objects.all()
    return (erased.filter(erased_at__gte=since) if since else erased).exists()


def erased_rows_sql(column: sql.Composable) -> tuple[sql.Composed, dict]:
    """SQL true where `column` (an address) was erased, and its parameters.

    HMAC(k, m) = H((k ^ opad) || H((k ^ ipad) || m)): the pads are computed here once, so
    PostgreSQL needs only its built-in sha256().
    """
    hashes, params = [], {}
    for n, pepper in enumerate(_peppers()):
        key = pepper.ljust(_BLOCK, b"\0")
        params[f"erasure_ipad_{n}"] = bytes(b ^ 0x36 for b in key)
        params[f"erasure_opad_{n}"] = bytes(b ^ 0x5C for b in key)
        hashes.append(
            sql.SQL(
                "encode(sha256({opad}::bytea || sha256({ipad}::bytea || convert_to("
                "translate(btrim({column}), {upper}, {lower}), 'UTF8'))), 'hex')"
            ).format(
                opad=sql.Placeholder(f"erasure_opad_{n}"),
                ipad=sql.Placeholder(f"erasure_ipad_{n}"),
                column=column,
                upper=sql.Literal(_UPPER),
                lower=sql.Literal(_UPPER.lower()),
            )
        )
    condition = sql.SQL(
        "EXISTS (SELECT 1 FROM {erased} e WHERE e.email_hash IN ({hashes}))"
    ).format(
        erased=sql.Identifier(ErasedAddress._meta.db_table),
        hashes=sql.SQL(", ").join(hashes),
    )
    return condition, params


# Apps above contacts that keep copies of an address (campaign recipients, their events)
# register a hook from AppConfig.ready(): `hook(contacts=<QuerySet>)` runs before the
# contacts are deleted, while their rows still point at them, and scrubs those copies.
_ERASE_HOOKS: list[Callable[..., object]] = []


def register_erasure_hook(hook: Callable[..., object]) -> None:
    if hook not in _ERASE_HOOKS:
        _ERASE_HOOKS.append(hook)


def mask(email: str) -> str:
    """An address as the audit log may show it: first letter and domain (a•••@example.com)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@transaction.atomic
def contact_erase(*, contact: Contact, via: "StrOrPromise") -> ErasedAddress:
    """Delete `contact` and remember only a hash of its address; audit it (masked).

    `via` says where the person asked (the preference centre).
    """
    # contacts.py checks addresses against erasures, so it is imported here, not above.
    from engagex.contacts.services.contacts import contact_delete_many

    erased, _ = ErasedAddress.objects.get_or_create(email_hash=address_hash(contact.email))
    masked = mask(contact.email)
    contacts = Contact.objects.filter(pk=contact.pk)
    for hook in _ERASE_HOOKS:
        hook(contacts=contacts)
    contact_delete_many(contacts=contacts)
    with workspace_language():
        detail = gettext("%(address)s erased at the person's request (%(via)s)") % {
            "address": masked,
            "via": via,
        }
    audit_record(user=person_actor_get(), verb=AuditVerb.ERASED, obj=erased, detail=detail)
    return erased
