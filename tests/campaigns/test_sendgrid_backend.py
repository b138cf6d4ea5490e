"""Our SendGrid backend is Anymail's, with faster address parsing and JSON: same results."""

import pytest
from anymail.exceptions import AnymailInvalidAddress
from anymail.message import AnymailMessage
from anymail.utils import parse_address_list
from django.utils.translation import gettext_lazy

from engagex.campaigns.backends import recipients_parse

ADDRESSES = [
    "a@b.com",
    "first.last+tag@sub.example.org",
    "o'brien@x.ie",
    "A@B.COM",
    "x_y-z@a-b.c",
    "a@localhost",
    '"q u"@x.com',
    "Name <a@b.com>",
    "ü@x.de",
    "a@bücher.ch",
]
INVALID = ["a..b@x.com", ".a@x.com", "a.@x.com", "a,b@x.com", "no-at-sign"]


def described(parsed):
    return [(a.display_name, a.username, a.domain, a.addr_spec, a.address) for a in parsed]


@pytest.mark.parametrize("address", ADDRESSES)
def test_recipients_parse_gives_what_anymail_parses(address):
    assert described(recipients_parse([address])) == described(parse_address_list([address]))


@pytest.mark.parametrize("address", INVALID)
def test_recipients_parse_refuses_what_anymail_refuses(address):
    with pytest.raises(AnymailInvalidAddress):
        parse_address_list([address])
    with pytest.raises(AnymailInvalidAddress):
        recipients_parse([address])


def test_a_batch_with_non_ascii_and_lazy_values_arrives_as_sent(fake_sendgrid):
    message = AnymailMessage(
        subject="Grüße, [[x:s0]]",
        body="Hallo [[x:t0]]",
        from_email="Zoë Café <news@alpha.example>",
        to=["zoe@example.com", "Ünï <u@example.com>"],
    )
    message.merge_data = {
        "zoe@example.com": {"s0": "Zoë", "t0": "Zoë ❤"},
        "u@example.com": {"s0": gettext_lazy("there"), "t0": "Ünï"},
    }
    message.merge_metadata = {"zoe@example.com": {"recipient": "1"}, "u@example.com": {}}
    message.esp_extra = {"merge_field_format": "[[x:{}]]"}

    message.send()

    (request,) = fake_sendgrid.requests
    payload = request["json"]
    assert payload["subject"] == "Grüße, [[x:s0]]"
    assert payload["from"] == {"email": "news@alpha.example", "name": "Zoë Café"}
    zoe, uni = payload["personalizations"]
    assert zoe["to"] == [{"email": "zoe@example.com"}]
    assert zoe["substitutions"] == {"[[x:s0]]": "Zoë", "[[x:t0]]": "Zoë ❤"}
    assert uni["to"] == [{"email": "u@example.com", "name": "Ünï"}]
    assert uni["substitutions"]["[[x:s0]]"] == "there"  # the lazy string, forced
    assert zoe["custom_args"]["recipient"] == "1"
    assert message.anymail_status.recipients["zoe@example.com"].status == "queued"
