from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "engagex.contacts"
    label = "contacts"
    verbose_name = _("Contacts")

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.contacts.models import Contact

        register_usage(Limit.CONTACTS, lambda: Contact.objects.count())
