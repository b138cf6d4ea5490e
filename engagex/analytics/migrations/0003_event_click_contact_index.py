"""Clicks by contact, with their URL: "clicked a link containing …" (segments) reads this
index alone instead of every event of every send (processed, delivered, opens…)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_event_url_statistics")]

    operations = [
        migrations.AddIndex(
            model_name="emailevent",
            index=models.Index(
                condition=models.Q(("type", "click")),
                fields=["contact_id"],
                include=("url",),
                name="event_click_contact_idx",
            ),
        ),
    ]
