from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "engagex.contacts"
    label = "contacts"
    verbose_name = _("Contacts")

    def ready(self):
        from django.db.models import Max, Min

        from engagex.billing.limits import Limit, register_usage
        from engagex.contacts.models import Contact

        def contacts_bound() -> int:
            """Distinct ids fit between the lowest and the highest: two index look-ups,
            never fewer than the contacts (deleted ones leave gaps, which only make it
            larger, and the exact count then decides)."""
            span = Contact.objects.aggregate(low=Min("pk"), high=Max("pk"))
            return 0 if span["high"] is None else span["high"] - span["low"] + 1

        register_usage(Limit.CONTACTS, lambda: Contact.objects.count(), bound=contacts_bound)
