from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "engagex.contacts"
    label = "contacts"
    verbose_name = "Contacts"

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.contacts.models import Contact

        register_usage(Limit.CONTACTS, lambda: Contact.objects.count())
