from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    """Public sign-up forms, double opt-in and the preference centre (above analytics)."""

    name = "engagex.subscriptions"
    verbose_name = _("Sign-up and consent")

    def ready(self):
        from engagex.contacts.services.contacts import register_contact_delete_hook
        from engagex.contacts.services.lists import register_confirmation_sender
        from engagex.subscriptions.services.confirmation import confirmations_enqueue
        from engagex.subscriptions.services.forms import signups_forget

        # Every path that makes an unconfirmed membership (forms, imports, the API) is
        # served by one sender, which queues a task per batch.
        register_confirmation_sender(confirmations_enqueue)
        register_contact_delete_hook(signups_forget)
