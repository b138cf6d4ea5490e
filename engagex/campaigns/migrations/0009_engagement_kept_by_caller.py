"""The recipients' update trigger steps aside for statements whose caller keeps the summary.

Event ingestion records a batch's first opens and clicks in one UPDATE; a row trigger then
ran an upsert per recipient, which cost the webhook about a third of its rate. The caller
(`recipients_set_outcome`) now merges a batch's first opens or clicks into the summary in one
statement, and deleting contacts drops their summaries at once; both set
`engagex.summary_by_caller` around those statements (transaction-local, replacing 0008's
`engagex.detaching`). Every other write still goes through the trigger.
"""

from django.db import migrations

CONDITION_BEFORE = """
    AND NOT (NEW.contact_id IS NULL
        AND coalesce(current_setting('engagex.detaching', true), '') = 'on'))
"""

CONDITION_NOW = """
    AND coalesce(current_setting('engagex.summary_by_caller', true), '') <> 'on')
"""

TRIGGER = """
DROP TRIGGER recipient_engagement_update ON campaigns_campaignrecipient;
CREATE TRIGGER recipient_engagement_update
AFTER UPDATE OF opened_at, clicked_at, contact_id ON campaigns_campaignrecipient
FOR EACH ROW WHEN (
    (OLD.opened_at IS DISTINCT FROM NEW.opened_at OR OLD.clicked_at IS DISTINCT FROM NEW.clicked_at
        OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
    AND (OLD.opened_at IS NOT NULL OR OLD.clicked_at IS NOT NULL
        OR NEW.opened_at IS NOT NULL OR NEW.clicked_at IS NOT NULL)
    {condition}
EXECUTE FUNCTION campaigns_recipient_engagement();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_contact_engagement"),
    ]

    operations = [
        migrations.RunSQL(
            TRIGGER.format(condition=CONDITION_NOW),
            TRIGGER.format(condition=CONDITION_BEFORE),
        ),
    ]
