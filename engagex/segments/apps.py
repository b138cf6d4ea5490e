from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    """Saved rules over contacts, lists and engagement (above analytics in the stack)."""

    name = "engagex.segments"
    label = "segments"
    verbose_name = _("Segments")

    def ready(self):
        from engagex.campaigns.audience import register_audience_source
        from engagex.segments.audience import SEGMENT_AUDIENCE
        from engagex.segments.conditions import register_all

        register_all()
        register_audience_source(SEGMENT_AUDIENCE)
