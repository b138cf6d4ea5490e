"""The contacts' (status, id) index is ascending: new contacts are appended at its end.

Descending, each new contact (ids only grow) went to the front of its status: pages split
half-empty, 70 MB instead of 39 for a million contacts, and inserting them took 1 s longer.
Every query that used it ("newest first" of a status, a segment's count of subscribed
contacts) reads the ascending index as well, backwards where it sorts by newest.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0013_membership_check_in_id_order"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_status_idx"),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["status", "id"], name="contact_status_idx"),
        ),
    ]
