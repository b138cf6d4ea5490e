"""What changed a list's members, or whom no campaign reaches, and in which transaction.

Segment counts keep a list's members in memory between requests (segments/members.py): a
rule of lists is then a few operations on bit vectors instead of an anti-join over hundreds
of thousands of memberships. They must stay exact, so whoever holds such a copy asks, at
each count, whether a transaction its snapshot did not see has changed that list since.

Statement triggers on memberships add a row per list an INSERT, UPDATE or DELETE touched
(any UPDATE: PostgreSQL gives a trigger on some columns no transition tables), with the
writing transaction's id (`pg_current_xact_id()`) and, up to 1,000, the contacts it
touched there: a row per list and statement, not per membership, and an insert only (no
row that two writers would both update). A copy then reads only those contacts again (a
sign-up), or, after a bigger statement (an import), the whole list. A row
trigger on contacts adds one row with no list (once per transaction and workspace) when a contact starts
or stops being one no campaign reaches: created or deleted not subscribed or awaiting
confirmation, or either of those changed. Its WHEN clause is tested without calling
anything, so an import that changes no status costs nothing.

`contacts_member_changes_prune()` deletes the rows every running transaction already sees
and, when it deleted any, leaves a row with list 0: a copy made before it then counts as
changed, whatever it held.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION contacts_members_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    mine bigint := pg_current_xact_id()::text::bigint;
BEGIN
    -- The contacts too, up to 1,000 a list: a copy then reads only them again.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contacts_memberchange (group_id, xact, contact_ids)
        SELECT group_id, mine, CASE WHEN count(*) <= 1000 THEN array_agg(contact_id) END
        FROM added GROUP BY group_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO contacts_memberchange (group_id, xact, contact_ids)
        SELECT group_id, mine, CASE WHEN count(*) <= 1000 THEN array_agg(contact_id) END
        FROM removed GROUP BY group_id;
    ELSE
        -- Each contact twice (before and after): up to 2,000 rows a list. No UNION: a
        -- million-row UPDATE would sort them all (a second) for duplicates a copy ignores.
        INSERT INTO contacts_memberchange (group_id, xact, contact_ids)
        SELECT group_id, mine, CASE WHEN count(*) <= 2000 THEN array_agg(contact_id) END
        FROM (SELECT group_id, contact_id FROM before
              UNION ALL SELECT group_id, contact_id FROM after) g
        GROUP BY group_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_reach_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    xact text := pg_current_xact_id()::text;
    -- Once per transaction and workspace: one transaction can change contacts in several
    -- (a webhook batch suppresses bounces workspace by workspace). The setting is local to
    -- the transaction, and to a savepoint rolled back.
    mine text := xact || ' ' || current_schema();
BEGIN
    IF current_setting('engagex.reach_changed', true) IS DISTINCT FROM mine THEN
        INSERT INTO contacts_memberchange (group_id, xact) VALUES (NULL, xact::bigint);
        PERFORM set_config('engagex.reach_changed', mine, true);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_member_changes_prune() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    seen bigint := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    deleted integer;
BEGIN
    DELETE FROM contacts_memberchange WHERE xact < seen AND group_id IS DISTINCT FROM 0;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted > 0 THEN
        DELETE FROM contacts_memberchange WHERE xact < seen AND group_id = 0;
        INSERT INTO contacts_memberchange (group_id, xact)
        VALUES (0, pg_current_xact_id()::text::bigint);
    END IF;
    RETURN deleted;
END;
$$;

CREATE TRIGGER membership_members_added AFTER INSERT ON contacts_membership
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION contacts_members_changed();

CREATE TRIGGER membership_members_changed AFTER UPDATE ON contacts_membership
REFERENCING OLD TABLE AS before NEW TABLE AS after
FOR EACH STATEMENT EXECUTE FUNCTION contacts_members_changed();

CREATE TRIGGER membership_members_removed AFTER DELETE ON contacts_membership
REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION contacts_members_changed();

CREATE TRIGGER contact_reach_added AFTER INSERT ON contacts_contact
FOR EACH ROW WHEN (NEW.status <> 'subscribed' OR NEW.awaiting_confirmation)
EXECUTE FUNCTION contacts_reach_changed();

CREATE TRIGGER contact_reach_changed AFTER UPDATE OF status, awaiting_confirmation
ON contacts_contact
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   OR OLD.awaiting_confirmation IS DISTINCT FROM NEW.awaiting_confirmation)
EXECUTE FUNCTION contacts_reach_changed();

CREATE TRIGGER contact_reach_removed AFTER DELETE ON contacts_contact
FOR EACH ROW WHEN (OLD.status <> 'subscribed' OR OLD.awaiting_confirmation)
EXECUTE FUNCTION contacts_reach_changed();
"""

REVERSE = """
DROP TRIGGER membership_members_added ON contacts_membership;
DROP TRIGGER membership_members_changed ON contacts_membership;
DROP TRIGGER membership_members_removed ON contacts_membership;
DROP TRIGGER contact_reach_added ON contacts_contact;
DROP TRIGGER contact_reach_changed ON contacts_contact;
DROP TRIGGER contact_reach_removed ON contacts_contact;
DROP FUNCTION contacts_members_changed();
DROP FUNCTION contacts_reach_changed();
DROP FUNCTION contacts_member_changes_prune();
"""


class Migration(migrations.Migration):
    dependencies = [("contacts", "0015_contact_awaiting_confirmation")]

    operations = [
        migrations.CreateModel(
            name="MemberChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("group_id", models.BigIntegerField(null=True)),
                ("xact", models.BigIntegerField()),
                (
                    "contact_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), null=True, size=None
                    ),
                ),
            ],
            options={
                "db_table": "contacts_memberchange",
                "indexes": [models.Index(fields=["xact"], name="memberchange_xact_idx")],
            },
        ),
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]
