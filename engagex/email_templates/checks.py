"""The pre-send checklist: what to fix (or knowingly accept) before a test or a send.

Reads only. Nothing here blocks a send: each item is ok, a warning, or a link check that
is pending / ok / failing (links are fetched by the task cluster, never by a web request:
`services.links`). What the workspace requires is enforced where it was already, by the
send itself (a campaign without an unsubscribe link gets the footer that has one).
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from engagex.core.formats import number
from engagex.email_templates.models import LinkCheck

SUBJECT_MAX = 60  # what phones show of a subject line; past it the end is cut off
PREHEADER_MIN = 30
PREHEADER_MAX = 100
HTML_CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past it, footer hidden
LINKS_MAX = 50
LINK_MAX_LENGTH = 2000  # longer ones are not checked (LinkCheck.url holds 2,000)

OK, WARNING, PENDING, FAILING = "ok", "warning", "pending", "failing"


@dataclass
class CheckItem:
    key: str
    label: object
    status: str
    detail: object = ""
    items: list = field(default_factory=list)


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images_without_alt: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img" and not (values.get("alt") or "").strip():
            self.images_without_alt.append(values.get("src") or "?")
        if tag == "a":
            href = (values.get("href") or "").strip()
            if href.lower().startswith(("http://", "https://")) and href not in self.links:
                self.links.append(href)

    handle_startendtag = handle_starttag


def html_links(html: str) -> list[str]:
    """The http(s) links of an HTML body, in order, each once (merge-tag links left out)."""
    scan = _Scan()
    scan.feed(html or "")
    return [
        link
        for link in scan.links
        if "{{" not in link and "{%" not in link and len(link) <= LINK_MAX_LENGTH
    ][:LINKS_MAX]


def template_checklist(
    *,
    subject: str,
    preheader: str,
    html_source: str,
    rendered_html: str | None,
    merge_warnings: dict[str, list[str]],
    link_checks: list[LinkCheck],
) -> list[CheckItem]:
    """The checklist for one email (subject, preheader and HTML as they will be sent)."""
    checks = []
    detail: object
    length = len(subject or "")
    if not length:
        checks.append(CheckItem("subject", _("Subject"), WARNING, _("The subject is empty.")))
    elif length > SUBJECT_MAX:
        checks.append(CheckItem("subject", _("Subject"), WARNING, _(
            "%(count)s characters: phones show about %(limit)s, the end may be cut off."
        ) % {"count": number(length), "limit": SUBJECT_MAX}))  # fmt: skip
    else:
        checks.append(CheckItem("subject", _("Subject"), OK, _("%(count)s characters.")
                                % {"count": number(length)}))  # fmt: skip
    length = len(preheader or "")
    if not length:
        detail = _("No preheader: inboxes show the first words of the email instead.")
        checks.append(CheckItem("preheader", _("Preheader"), WARNING, detail))
    elif length < PREHEADER_MIN or length > PREHEADER_MAX:
        detail = _("%(count)s characters: %(low)s to %(high)s read best in inboxes.") % {
            "count": number(length), "low": PREHEADER_MIN, "high": PREHEADER_MAX,
        }  # fmt: skip
        checks.append(CheckItem("preheader", _("Preheader"), WARNING, detail))
    else:
        checks.append(CheckItem("preheader", _("Preheader"), OK, _("%(count)s characters.")
                                % {"count": number(length)}))  # fmt: skip
    scan = _Scan()
    scan.feed(rendered_html if rendered_html is not None else html_source or "")
    missing = scan.images_without_alt
    if missing:
        detail = ngettext(
            "%(count)s image has no alt text (shown when images are blocked, read aloud by "
            "screen readers).",
            "%(count)s images have no alt text (shown when images are blocked, read aloud by "
            "screen readers).",
            len(missing),
        ) % {"count": number(len(missing))}
        checks.append(CheckItem("alt", _("Alt text"), WARNING, detail, missing[:10]))
    else:
        checks.append(CheckItem("alt", _("Alt text"), OK, _("Every image has alt text.")))
    if "unsubscribe_url" in (html_source or ""):
        checks.append(CheckItem("unsubscribe", _("Unsubscribe link"), OK,
                                _("The email has an unsubscribe link.")))  # fmt: skip
    else:
        checks.append(CheckItem("unsubscribe", _("Unsubscribe link"), WARNING, _(
            "No {{ unsubscribe_url }} link: campaigns add a footer with one, test emails "
            "go without."
        )))  # fmt: skip
    if rendered_html is not None:
        size = len(rendered_html.encode())
        if size > HTML_CLIP_BYTES:
            detail = _(
                "%(size)s KB of HTML: Gmail clips emails past 102 KB and hides the rest, "
                "the unsubscribe link included."
            ) % {"size": number(size // 1024)}
            checks.append(CheckItem("size", _("Size"), WARNING, detail))
        else:
            detail = _("%(size)s KB of HTML (Gmail clips past 102 KB).") % {
                "size": number(max(1, round(size / 1024)))
            }
            checks.append(CheckItem("size", _("Size"), OK, detail))
    lines = [line for field_lines in merge_warnings.values() for line in field_lines]
    if lines:
        checks.append(CheckItem("merge", _("Merge fields"), WARNING,
                                _("Some merge tags name a field no contact has; they render "
                                  "empty."), lines))  # fmt: skip
    else:
        checks.append(CheckItem("merge", _("Merge fields"), OK,
                                _("Every merge tag names a known field.")))  # fmt: skip
    checks.append(_links_item(link_checks))
    return checks


def _links_item(link_checks: list[LinkCheck]) -> CheckItem:
    if not link_checks:
        return CheckItem("links", _("Links"), OK, _("No links to check."))
    statuses = {check.status for check in link_checks}
    if LinkCheck.Status.FAILING in statuses:
        status, detail = FAILING, _("Some links do not answer.")
    elif LinkCheck.Status.PENDING in statuses:
        status, detail = PENDING, _("Checking the links…")
    else:
        status, detail = OK, _("Every link answers.")
    items = [
        {"url": c.url, "status": c.status, "label": c.get_status_display(), "detail": c.detail}
        for c in link_checks
    ]
    return CheckItem("links", _("Links"), status, detail, items)


def link_check_list(*, template, urls: list[str]) -> list[LinkCheck]:
    """The stored check of each of `urls` (those not requested yet are left out)."""
    found = {check.url: check for check in template.link_checks.filter(url__in=urls)}
    return [found[url] for url in urls if url in found]
