"""Sender domains: the DNS records to publish, creating them at SendGrid, and checking them."""

import logging
import re

import dns.exception
import dns.resolver
import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from engagex.billing.limits import Limit, ensure_within
from engagex.core.tenancy import workspace_language
from engagex.domains.models import SendingDomain

logger = logging.getLogger(__name__)
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
DOMAIN_INVALID = gettext_lazy(
    "“{domain}” is not a domain name: enter something like news.example.com."
)
DOMAIN_TAKEN = gettext_lazy("“{domain}” is already one of this workspace's sender domains.")
SENDGRID_FAILED = gettext_lazy("SendGrid refused to set up “{domain}”: {reason}")
SENDGRID_UNREACHABLE = gettext_lazy(
    "“{domain}” could not be set up just now: the sending service did not answer. Nothing "
    "was added; try again in a few minutes."
)
FROM_NOT_VERIFIED = gettext_lazy(
    "{email} is not on a verified sender domain of this workspace. Add and verify “{domain}” "
    "under Settings → Domains, or use an address on a verified domain."
)
FROM_DOMAIN_UNVERIFIED = gettext_lazy(
    "{email} is on “{domain}”, which is added but not verified ({status}). Publish its DNS "
    "records and press Verify now under Settings → Domains."
)
ANY_SENDGRID = "*.sendgrid.net"
SPF_VALUE = "v=spf1 include:sendgrid.net ~all"


def domain_normalize(value: str) -> str:
    return (value or "").strip().lower().rstrip(".")


# Shown when the platform has no SendGrid account to ask for the domain's exact values.
ANY_SENDGRID_LABEL = gettext_lazy("not known yet: ask your EngageX administrator")


def expected_records(domain: str, sendgrid_dns: dict | None = None) -> list[dict]:
    """The records a workspace publishes; SendGrid's exact values when its API gave them."""
    dns_values = sendgrid_dns or {}

    def cname(kind, default_host):
        entry = dns_values.get(kind) or {}
        return {
            "kind": kind,
            "type": "CNAME",
            "host": (entry.get("host") or default_host).lower(),
            "value": (entry.get("data") or ANY_SENDGRID).lower(),
            "required": True,
        }

    records = [
        {"kind": "spf", "type": "TXT", "host": domain, "value": SPF_VALUE, "required": True},
        cname("dkim1", f"s1._domainkey.{domain}"),
        cname("dkim2", f"s2._domainkey.{domain}"),
        cname("mail_cname", f"em.{domain}"),
        {
            "kind": "dmarc",
            "type": "TXT",
            "host": f"_dmarc.{domain}",
            "value": f"v=DMARC1; p=none; rua=mailto:dmarc@{domain}",
            "required": False,
        },
    ]
    return [{**r, "status": "unchecked", "found": []} for r in records]


def domain_validate(domain: str) -> str:
    """Return the normalised domain or raise ValidationError naming the `domain` field."""
    domain = domain_normalize(domain)
    if not DOMAIN_RE.match(domain):
        raise ValidationError({"domain": DOMAIN_INVALID.format(domain=domain)})
    if SendingDomain.objects.filter(domain__iexact=domain).exists():
        raise ValidationError({"domain": DOMAIN_TAKEN.format(domain=domain)})
    return domain


@transaction.atomic
def domain_create(*, domain: str, user=None) -> SendingDomain:
    """Add a sender domain with its DNS records (from SendGrid when an API key is set)."""
    domain = domain_validate(domain)
    ensure_within(Limit.SENDER_DOMAINS)
    sendgrid_id, sendgrid_dns = "", None
    if settings.SENDGRID_API_KEY:
        sendgrid_id, sendgrid_dns = _sendgrid_authenticate(domain)
    return SendingDomain.objects.create(
        domain=domain,
        records=expected_records(domain, sendgrid_dns),
        sendgrid_id=sendgrid_id,
        created_by=user,
    )


def _sendgrid_authenticate(domain: str) -> tuple[str, dict]:
    url = settings.ANYMAIL["SENDGRID_API_URL"].rstrip("/") + "/whitelabel/domains"
    try:
        response = requests.post(
            url,
            json={"domain": domain, "automatic_security": True, "default": False},
            headers={"Authorization": f"Bearer {settings.SENDGRID_API_KEY}"},
            timeout=20,
        )
        data = response.json()
    except (requests.RequestException, ValueError) as error:
        logger.warning("SendGrid domain authentication for %s failed: %s", domain, error)
        raise ValidationError(SENDGRID_UNREACHABLE.format(domain=domain)) from error
    if response.status_code >= 400:
        reason = "; ".join(e.get("message", "") for e in data.get("errors", [])) or response.reason
        raise ValidationError(SENDGRID_FAILED.format(domain=domain, reason=reason))
    return str(data.get("id", "")), data.get("dns") or {}


def default_resolver():
    resolver = dns.resolver.Resolver()
    resolver.lifetime = settings.DNS_TIMEOUT_SECONDS
    return resolver


def domain_verify(*, sending_domain: SendingDomain, resolver=None) -> SendingDomain:
    """Look every record up in DNS, store what was found, and update the domain's status."""
    resolver = resolver or default_resolver()
    records = [_check(record, resolver) for record in sending_domain.records]
    passed = all(r["status"] == "pass" for r in records if r["required"])
    was_verified = sending_domain.is_verified
    now = timezone.now()
    sending_domain.records = records
    sending_domain.last_checked_at = now
    if passed:
        sending_domain.status = SendingDomain.Status.VERIFIED
        sending_domain.verified_at = sending_domain.verified_at if was_verified else now
    else:
        sending_domain.status = (
            SendingDomain.Status.FAILED if was_verified or sending_domain.verified_at
            else SendingDomain.Status.PENDING
        )  # fmt: skip
    sending_domain.save()
    if was_verified and not passed:
        _notify_stopped_verifying(sending_domain)
    return sending_domain


def _check(record: dict, resolver) -> dict:
    """Look one record up; `found` holds only what DNS returned, `status` says why not."""
    record = {**record, "found": []}
    try:
        answer = resolver.resolve(record["host"], record["type"])
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return {**record, "status": "missing"}
    except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
        return {**record, "status": "timeout"}
    except dns.exception.DNSException as error:
        logger.warning("DNS lookup of %s %s failed: %s", record["type"], record["host"], error)
        return {**record, "status": "error"}
    if record["type"] == "TXT":
        found = [b"".join(r.strings).decode(errors="replace") for r in answer]
        ok = any(_txt_matches(record["kind"], value) for value in found)
    else:
        found = [str(r.target).rstrip(".").lower() for r in answer]
        ok = any(_cname_matches(record["value"], value) for value in found)
    return {**record, "status": "pass" if ok else "fail", "found": found}


def _txt_matches(kind: str, value: str) -> bool:
    if kind == "spf":
        return value.startswith("v=spf1") and "include:sendgrid.net" in value.split()
    return value.replace(" ", "").upper().startswith("V=DMARC1")


def _cname_matches(expected: str, found: str) -> bool:
    if expected == ANY_SENDGRID:
        return found.endswith(".sendgrid.net")
    return found == expected


@workspace_language()
def _notify_stopped_verifying(sending_domain: SendingDomain) -> None:
    from engagex.accounts import roles
    from engagex.accounts.models import User
    from engagex.notifications.services import notification_send

    admins = User.objects.filter(
        is_active=True, groups__name__in=[roles.OWNER, roles.ADMIN]
    ).distinct()
    failing = ", ".join(
        f"{r['type']} {r['host']}" for r in sending_domain.records
        if r["required"] and r["status"] != "pass"
    )  # fmt: skip
    notification_send(
        recipients=list(admins),
        title=gettext("Sender domain %(domain)s stopped verifying")
        % {"domain": sending_domain.domain},
        body=gettext(
            "These DNS records no longer check out: %(records)s. Campaigns cannot use this "
            "domain until they do."
        )
        % {"records": failing},
        level="error",
        email=True,
    )


def sender_address_check(email: str) -> None:
    """Refuse a from address unless its domain is verified in this workspace."""
    domain = domain_normalize(email.rpartition("@")[2])
    known = SendingDomain.objects.filter(domain__iexact=domain).first()
    if known is None:
        raise ValidationError({"from_email": FROM_NOT_VERIFIED.format(email=email, domain=domain)})
    if not known.is_verified:
        status = known.get_status_display().lower()
        message = FROM_DOMAIN_UNVERIFIED.format(email=email, domain=domain, status=status)
        raise ValidationError({"from_email": message})
