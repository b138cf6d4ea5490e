from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "engagex.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.campaigns.selectors import contact_history_rows, monthly_sends
        from engagex.campaigns.services.outcomes import (
            recipients_detach_contacts,
            recipients_forget_contacts,
        )
        from engagex.contacts.history import register_campaign_history
        from engagex.contacts.services.contacts import register_contact_delete_hook
        from engagex.contacts.services.erasure import register_erasure_hook

        register_usage(Limit.MONTHLY_SENDS, monthly_sends)
        register_campaign_history(contact_history_rows)
        # Contacts sits below campaigns: it calls this instead of touching recipients.
        register_contact_delete_hook(recipients_detach_contacts)
        # An erased person's address must not outlive them on campaign copies.
        register_erasure_hook(recipients_forget_contacts)
