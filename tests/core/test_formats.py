"""Numbers in messages are grouped the way the reader's language writes them."""

import pytest
from django.urls import reverse
from django.utils import translation
from django_tenants.utils import schema_context

from engagex.billing.limits import Limit, LimitExceeded, ensure_within
from engagex.contacts.models import Contact
from tests.factories.contacts import ContactGroupFactory


@pytest.mark.parametrize(
    ("language", "cap", "used"),
    [("en", "5,000", "5,000"), ("de", "5.000", "5.000"), ("es", "5\xa0000", "5\xa0000")],
)
def test_a_plan_limit_refusal_groups_its_numbers_in_the_readers_language(
    in_tenant, on_plan, language, cap, used
):
    """In German "5,000" reads as five: the refusal must say 5.000."""
    on_plan(in_tenant, contact_limit=5000)

    with translation.override(language), pytest.raises(LimitExceeded) as error:
        ensure_within(Limit.CONTACTS, adding=1, used=5000)

    [message] = error.value.messages
    assert f" {cap} " in message
    assert f" {used}" in message
    if language != "en":
        assert "5,000" not in message


def test_the_group_list_shows_member_counts_with_german_grouping(owner_client, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Weekly")
        contacts = Contact.objects.bulk_create(
            Contact(email=f"c{i}@example.com") for i in range(1234)
        )
        Contact.groups.through.objects.bulk_create(
            Contact.groups.through(contact=c, group=group) for c in contacts
        )
    url = reverse("admin:contacts_contactgroup_changelist", urlconf="config.urls_tenants")

    english = owner_client.get(url).content.decode()
    owner_client.cookies["django_language"] = "de"
    german = owner_client.get(url).content.decode()

    assert ">1,234<" in english.replace(" ", "").replace("\n", "")
    assert ">1.234<" in german.replace(" ", "").replace("\n", "")
    assert "1,234" not in german
