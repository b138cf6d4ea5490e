from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    name = "engagex.platform"
    label = "platform"
    verbose_name = _("Platform")

    def ready(self):
        from engagex.contacts import selectors as contacts
        from engagex.email_templates.audience import Audience, register_audience

        # Connects our receivers after dj-stripe's own, so its objects are synced first.
        from engagex.platform import webhooks  # noqa: F401

        # Contacts and templates sit side by side in the stack: templates preview and check
        # merge tags against contacts through this.
        register_audience(
            Audience(
                search=contacts.contact_preview_list,
                get=contacts.contact_get,
                attribute_names=contacts.contact_attribute_names,
            )
        )
