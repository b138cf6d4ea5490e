"""Check that a template's links answer: in the task cluster, with a timeout, never on the web.

Fetching an address someone typed is a request forgery risk from inside our network, so
a link whose host resolves to a private, loopback or link-local address is not fetched
("not a public address"), redirects included; `LINK_CHECK_ALLOW_PRIVATE` lifts that for
tests and local development (loopback servers).
"""

import ipaddress
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from engagex.core.tasks import enqueue_tenant_task
from engagex.core.tenancy import current_schema
from engagex.email_templates.checks import html_links
from engagex.email_templates.models import EmailTemplate, LinkCheck

logger = logging.getLogger(__name__)

LINK_CHECK_STALE = timedelta(hours=6)
REDIRECTS_MAX = 5
LINK_CHECK_THREADS = 8
USER_AGENT = "EngageX link check (+https://github.com/engagex)"
S = LinkCheck.Status


def link_checks_request(*, template: EmailTemplate, html: str) -> list[str]:
    """Make sure each link of `html` has a fresh or pending check; queue the task if needed.

    Returns the links in order. Links no longer in the template lose their rows.
    """
    urls = html_links(html)
    now = timezone.now()
    with transaction.atomic():
        template.link_checks.exclude(url__in=urls).delete()
        existing = {check.url: check for check in template.link_checks.filter(url__in=urls)}
        due = []
        for url in urls:
            check = existing.get(url)
            if check is None:
                LinkCheck.objects.create(template=template, url=url, requested_at=now)
                due.append(url)
            elif check.status != S.PENDING and (check.checked_at or now) < now - LINK_CHECK_STALE:
                LinkCheck.objects.filter(pk=check.pk).update(status=S.PENDING, requested_at=now)
                due.append(url)
            elif check.status == S.PENDING and check.requested_at < now - LINK_CHECK_STALE:
                due.append(url)  # a task that never ran: ask again
        if due:
            from engagex.email_templates.tasks import template_links_check

            enqueue_tenant_task(template_links_check, current_schema(), template.pk)
    return urls


def _public(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return True  # the fetch itself reports it as not answering
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return False
    return True


def link_fetch(url: str, *, timeout: float) -> tuple[bool, str]:
    """(answers, detail) for one link: HEAD, then GET when HEAD is not allowed.

    `timeout` is per request; a link's redirects together get three times as long.
    """
    allow_private = getattr(settings, "LINK_CHECK_ALLOW_PRIVATE", False)
    session = requests.Session()
    deadline = time.monotonic() + 3 * timeout
    for _hop in range(REDIRECTS_MAX + 1):
        if time.monotonic() > deadline:
            return False, gettext("no answer within %(seconds)s s") % {"seconds": 3 * timeout}
        host = urlsplit(url).hostname or ""
        if not allow_private and not _public(host):
            return False, gettext("not a public address")
        try:
            response = session.head(
                url, timeout=timeout, allow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
            if response.status_code in (405, 501):
                response = session.get(
                    url,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    headers={"User-Agent": USER_AGENT},
                )
                response.close()
        except requests.Timeout:
            return False, gettext("no answer within %(seconds)s s") % {"seconds": timeout}
        except requests.RequestException as error:
            return False, type(error).__name__
        if response.is_redirect and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            continue
        if response.status_code >= 400:
            return False, f"HTTP {response.status_code}"
        return True, f"HTTP {response.status_code}"
    return False, gettext("too many redirects")


def template_links_check(*, template_id: int) -> int:
    """Fetch every pending link of a template and store the outcome; return how many.

    Links are fetched LINK_CHECK_THREADS at a time (each waits on the network, not the
    CPU): 50 links that never answer take about 7 × 3 × the timeout, well inside the
    cluster's task timeout, instead of 50 × 3 × the timeout one after another.
    """
    timeout = getattr(settings, "LINK_CHECK_TIMEOUT_SECONDS", 5.0)
    pending = list(LinkCheck.objects.filter(template_id=template_id, status=S.PENDING))
    with ThreadPoolExecutor(max_workers=LINK_CHECK_THREADS) as pool:
        outcomes = list(pool.map(lambda check: link_fetch(check.url, timeout=timeout), pending))
    for check, (answers, detail) in zip(pending, outcomes, strict=True):
        LinkCheck.objects.filter(pk=check.pk).update(
            status=S.OK if answers else S.FAILING,
            detail=detail[:255],
            checked_at=timezone.now(),
        )
    return len(pending)
