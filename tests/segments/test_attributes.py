"""Typed custom attributes: inferred from stored values, checked on every write."""

import pytest
from django.core.exceptions import ValidationError

from engagex.contacts.models import AttributeDefinition, Contact
from engagex.contacts.services.attributes import attribute_definition_save, attributes_infer
from engagex.contacts.services.contacts import (
    contact_bulk_upsert,
    contact_create,
    contact_update,
)


def test_infer_types_gives_each_untyped_attribute_the_narrowest_type(in_tenant):
    Contact.objects.create(
        email="a@x.example", attributes={"seats": 3, "vip": True, "d": "2024-01-02"}
    )
    Contact.objects.create(
        email="b@x.example", attributes={"seats": "12", "vip": "false", "d": "1999-12-31", "t": "x"}
    )
    AttributeDefinition.objects.create(name="t", type="number")  # set by hand: kept

    inferred = {item.name: item.type for item in attributes_infer()}

    assert inferred == {"seats": "number", "vip": "boolean", "d": "date"}
    assert dict(AttributeDefinition.objects.values_list("name", "type")) == {
        "d": "date", "seats": "number", "t": "number", "vip": "boolean",
    }  # fmt: skip


def test_a_type_its_stored_values_do_not_fit_is_refused(in_tenant):
    Contact.objects.create(email="a@x.example", attributes={"birthday": "1990-05-01"})
    Contact.objects.create(email="b@x.example", attributes={"birthday": "soon"})

    with pytest.raises(ValidationError) as error:
        attribute_definition_save(name="birthday", type="date")

    assert error.value.message_dict == {
        "type": [
            "1 contacts hold a value in “birthday” that is not of this type (for example "
            "“soon”): correct them first, or keep the type text."
        ]
    }
    assert AttributeDefinition.objects.count() == 0


def test_values_are_checked_against_their_type_on_every_write(in_tenant):
    AttributeDefinition.objects.create(name="seats", type="number")
    AttributeDefinition.objects.create(name="renews", type="date")
    contact = contact_create(email="a@x.example", attributes={"seats": 3})

    with pytest.raises(ValidationError) as error:
        contact_update(contact=contact, attributes={"seats": "lots"})
    assert error.value.message_dict == {
        "attributes": ["Custom attribute “seats” holds numbers: “lots” is not a number."]
    }
    with pytest.raises(ValidationError) as error:
        contact_create(email="b@x.example", attributes={"renews": "2023-02-31"})
    assert error.value.message_dict["attributes"][0].startswith(
        "Custom attribute “renews” holds dates: “2023-02-31” is not a date"
    )
    with pytest.raises(ValidationError) as error:
        contact_bulk_upsert(
            items=[
                {"email": "c@x.example", "attributes": {"seats": 1}},
                {"email": "d@x.example", "attributes": {"renews": "tomorrow"}},
            ]
        )
    assert list(error.value.message_dict) == ["contacts[1].attributes"]
    contact.refresh_from_db()
    assert contact.attributes == {"seats": 3}
    assert Contact.objects.count() == 1
