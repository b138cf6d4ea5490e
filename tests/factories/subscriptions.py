from engagex.contacts.models import ContactGroup
from engagex.subscriptions.models import SignupForm
from engagex.subscriptions.services.forms import signup_form_save
from tests.factories.contacts import ContactGroupFactory


def signup_form_make(**fields) -> SignupForm:
    """A sign-up form offering a new public list, saved through the service."""
    group = ContactGroupFactory(visibility=ContactGroup.Visibility.PUBLIC)
    form = SignupForm(name=fields.pop("name", "Newsletter form"), consent_text="Yes, please.")
    for name, value in fields.items():
        setattr(form, name, value)
    return signup_form_save(form=form, groups=[group])
