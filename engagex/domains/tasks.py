import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from engagex.core.tasks import for_each_schema
from engagex.domains.models import SendingDomain
from engagex.domains.services import domain_verify

logger = logging.getLogger(__name__)


def domains_recheck() -> int:
    """Re-check unverified domains hourly and verified ones daily, in every workspace."""
    now = timezone.now()
    checked = 0

    def recheck():
        nonlocal checked
        due = SendingDomain.objects.filter(dns_check_exempt=False).filter(
            Q(last_checked_at__isnull=True)
            | Q(
                ~Q(status=SendingDomain.Status.VERIFIED),
                last_checked_at__lt=now - timedelta(hours=1),
            )
            | Q(status=SendingDomain.Status.VERIFIED, last_checked_at__lt=now - timedelta(days=1))
        )
        for sending_domain in due:
            domain_verify(sending_domain=sending_domain)
            checked += 1

    for_each_schema(recheck)
    return checked
