"""Contacts' engagement in one row each, kept exact by triggers on the recipients.

What segments ask of engagement ("opened anything in 30 days", "opened at least 3 campaigns
in 30 days", "clicked in 7 days") grouped millions of recipient rows per count. A row per
contact who ever opened or clicked holds the answers: the first human open time of each
opened campaign, newest first (at most 50), and the last click.

Triggers keep it exact whatever writes the recipients (event ingestion, a test, a data fix):
- a first open or click (the path events take) is added in place by an upsert, which waits
  for and re-reads a concurrent change to the same row (no lost update);
- anything else (an outcome moved earlier or removed, a recipient deleted or moved to
  another contact) recomputes the contact's row from its recipients, under that row's lock;
- recipients let go of contacts being deleted skip both: the contacts' rows go at once.
The migration fills it from the recipients already there, in one statement.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


KEPT = 50  # engagex.campaigns.models.OPEN_TIMES_KEPT when this migration was written

# A contact's opened campaigns, newest first: their first human open times and, in the same
# order, their ids (so an open already counted is never added twice).
OPENS = f"""
    coalesce((array_agg(r.opened_at ORDER BY r.opened_at DESC, r.campaign_id DESC)
        FILTER (WHERE r.opened_at IS NOT NULL))[1:{KEPT}], '{{}}') AS open_times,
    coalesce((array_agg(r.campaign_id ORDER BY r.opened_at DESC, r.campaign_id DESC)
        FILTER (WHERE r.opened_at IS NOT NULL))[1:{KEPT}], '{{}}') AS open_campaigns
"""

REBUILD = f"""
INSERT INTO campaigns_contactengagement (contact_id, last_click_at, open_times, open_campaigns)
SELECT r.contact_id, max(r.clicked_at), {OPENS}
FROM campaigns_campaignrecipient r
WHERE r.contact_id IS NOT NULL AND (r.opened_at IS NOT NULL OR r.clicked_at IS NOT NULL)
GROUP BY r.contact_id
"""

FUNCTIONS = f"""
CREATE FUNCTION campaigns_engagement_refresh(cid bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cid IS NULL THEN
        RETURN;
    END IF;
    -- Lock the contact's row (made if missing): the statements below then see whatever a
    -- concurrent transaction that held it had committed. (Again if one deleted it first.)
    LOOP
        INSERT INTO campaigns_contactengagement (contact_id, open_times, open_campaigns)
        VALUES (cid, '{{}}', '{{}}') ON CONFLICT (contact_id) DO NOTHING;
        PERFORM 1 FROM campaigns_contactengagement WHERE contact_id = cid FOR UPDATE;
        EXIT WHEN FOUND;
    END LOOP;
    UPDATE campaigns_contactengagement e SET last_click_at = a.last_click_at,
        open_times = a.open_times, open_campaigns = a.open_campaigns
    FROM (
        SELECT max(r.clicked_at) AS last_click_at, {OPENS}
        FROM campaigns_campaignrecipient r
        WHERE r.contact_id = cid AND (r.opened_at IS NOT NULL OR r.clicked_at IS NOT NULL)
    ) a
    WHERE e.contact_id = cid;
    DELETE FROM campaigns_contactengagement
    WHERE contact_id = cid AND last_click_at IS NULL AND open_times = '{{}}';
END
$$;

CREATE FUNCTION campaigns_recipient_engagement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_contact bigint;
    old_open timestamptz;
    old_click timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM campaigns_engagement_refresh(OLD.contact_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        old_contact := OLD.contact_id;
        old_open := OLD.opened_at;
        old_click := OLD.clicked_at;
    ELSE
        old_contact := NEW.contact_id;
    END IF;
    IF NEW.contact_id IS NOT NULL AND NEW.contact_id IS NOT DISTINCT FROM old_contact
            AND (old_open IS NULL OR old_open IS NOT DISTINCT FROM NEW.opened_at)
            AND (old_click IS NULL OR old_click IS NOT DISTINCT FROM NEW.clicked_at) THEN
        -- A first open and/or click: added in place, unless the campaign is counted already
        -- (a recomputation fired by another row of the same statement saw this one too).
        INSERT INTO campaigns_contactengagement AS e
            (contact_id, last_click_at, open_times, open_campaigns)
        VALUES (NEW.contact_id,
            CASE WHEN old_click IS NULL THEN NEW.clicked_at END,
            CASE WHEN old_open IS NULL AND NEW.opened_at IS NOT NULL
                THEN ARRAY[NEW.opened_at] ELSE '{{}}' END,
            CASE WHEN old_open IS NULL AND NEW.opened_at IS NOT NULL
                THEN ARRAY[NEW.campaign_id] ELSE '{{}}' END)
        ON CONFLICT (contact_id) DO UPDATE SET
            last_click_at = greatest(e.last_click_at, EXCLUDED.last_click_at),
            open_times = CASE
                WHEN EXCLUDED.open_campaigns = '{{}}'
                    OR EXCLUDED.open_campaigns[1] = ANY(e.open_campaigns) THEN e.open_times
                -- The usual case, an open newer than all before: put in front.
                WHEN e.open_times = '{{}}' OR EXCLUDED.open_times[1] > e.open_times[1]
                    THEN EXCLUDED.open_times || e.open_times[1:{KEPT - 1}]
                ELSE ARRAY(
                    SELECT u.t FROM unnest(e.open_times || EXCLUDED.open_times,
                                           e.open_campaigns || EXCLUDED.open_campaigns) AS u(t, c)
                    ORDER BY u.t DESC, u.c DESC LIMIT {KEPT}) END,
            open_campaigns = CASE
                WHEN EXCLUDED.open_campaigns = '{{}}'
                    OR EXCLUDED.open_campaigns[1] = ANY(e.open_campaigns) THEN e.open_campaigns
                WHEN e.open_times = '{{}}' OR EXCLUDED.open_times[1] > e.open_times[1]
                    THEN EXCLUDED.open_campaigns || e.open_campaigns[1:{KEPT - 1}]
                ELSE ARRAY(
                    SELECT u.c FROM unnest(e.open_times || EXCLUDED.open_times,
                                           e.open_campaigns || EXCLUDED.open_campaigns) AS u(t, c)
                    ORDER BY u.t DESC, u.c DESC LIMIT {KEPT}) END;
        RETURN NULL;
    END IF;
    PERFORM campaigns_engagement_refresh(old_contact);
    IF NEW.contact_id IS DISTINCT FROM old_contact THEN
        PERFORM campaigns_engagement_refresh(NEW.contact_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER recipient_engagement_insert AFTER INSERT ON campaigns_campaignrecipient
FOR EACH ROW WHEN (NEW.opened_at IS NOT NULL OR NEW.clicked_at IS NOT NULL)
EXECUTE FUNCTION campaigns_recipient_engagement();

-- Recipients let go of contacts being deleted (campaigns' recipients_detach_contacts) with
-- engagex.detaching on: the contacts' rows are deleted there at once, not one by one here.
CREATE TRIGGER recipient_engagement_update
AFTER UPDATE OF opened_at, clicked_at, contact_id ON campaigns_campaignrecipient
FOR EACH ROW WHEN (
    (OLD.opened_at IS DISTINCT FROM NEW.opened_at OR OLD.clicked_at IS DISTINCT FROM NEW.clicked_at
        OR OLD.contact_id IS DISTINCT FROM NEW.contact_id)
    AND (OLD.opened_at IS NOT NULL OR OLD.clicked_at IS NOT NULL
        OR NEW.opened_at IS NOT NULL OR NEW.clicked_at IS NOT NULL)
    AND NOT (NEW.contact_id IS NULL
        AND coalesce(current_setting('engagex.detaching', true), '') = 'on'))
EXECUTE FUNCTION campaigns_recipient_engagement();

CREATE TRIGGER recipient_engagement_delete AFTER DELETE ON campaigns_campaignrecipient
FOR EACH ROW WHEN (OLD.opened_at IS NOT NULL OR OLD.clicked_at IS NOT NULL)
EXECUTE FUNCTION campaigns_recipient_engagement();
"""

DROP = """
DROP TRIGGER IF EXISTS recipient_engagement_insert ON campaigns_campaignrecipient;
DROP TRIGGER IF EXISTS recipient_engagement_update ON campaigns_campaignrecipient;
DROP TRIGGER IF EXISTS recipient_engagement_delete ON campaigns_campaignrecipient;
DROP FUNCTION IF EXISTS campaigns_recipient_engagement();
DROP FUNCTION IF EXISTS campaigns_engagement_refresh(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0007_list_labels'),
        ('contacts', '0010_membership_no_redundant_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactEngagement',
            fields=[
                ('contact', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='contacts.contact', verbose_name='contact')),
                ('last_click_at', models.DateTimeField(null=True, verbose_name='last click')),
                ('open_times', django.contrib.postgres.fields.ArrayField(base_field=models.DateTimeField(), default=list, size=None, verbose_name='times of opened campaigns')),
                ('open_campaigns', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), default=list, size=None, verbose_name='opened campaigns')),
            ],
            options={
                'verbose_name': 'contact engagement',
                'verbose_name_plural': 'contact engagement',
                'indexes': [models.Index(models.F('open_times__0'), name='engagement_last_open_idx'), models.Index(fields=['last_click_at'], name='engagement_last_click_idx')],
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP),
        migrations.RunSQL(REBUILD, migrations.RunSQL.noop),
    ]
