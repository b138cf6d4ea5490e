"""Contacts awaiting confirmation, kept on the contact by triggers on memberships.

A contact whose memberships include an unconfirmed one (a double-opt-in form or import) and
no subscribed one has not consented yet: no campaign reaches them, and a segment's count
leaves them out. Worked out at each count, that is an anti-join over every unconfirmed and
subscribed membership (about 250 ms at a million contacts with 90,000 unconfirmed
memberships, bench/segment_count.py); as a column, it is a test on each counted row.

Statement triggers on memberships recompute the flag of the contacts whose memberships an
INSERT, UPDATE or DELETE changed (only where it changes; an INSERT of more than 1,000
subscribed members recomputes only the contacts already flagged). They take no lock of
their own: two transactions changing one contact's memberships at the same moment can each
miss the other's uncommitted row and leave the flag wrong. A send never relies on it
alone: `campaign_start` first recomputes every contact whose flag could be wrong (flagged,
or with an unconfirmed membership: `contacts_awaiting_repair()`, 0.7–1.0 s at 1M contacts
with 93,000 unconfirmed memberships), so a campaign never reaches anyone awaiting
confirmation. Locking the contacts in the triggers instead made a list's deletion lock
every member and could deadlock with an unsubscribe, which locks the contact first and its
memberships after.

The segment indexes (email domain, typed attributes) carry the flag after the status, so a
count of the contacts a campaign reaches still reads only the index (contacts 0011).
"""

import django.db.models.functions.text
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION contacts_awaiting_refresh(ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    UPDATE contacts_contact c SET awaiting_confirmation = w.awaiting
    FROM (
        SELECT x.id,
            EXISTS (SELECT 1 FROM contacts_membership m
                    WHERE m.contact_id = x.id AND m.status = 'unconfirmed')
            AND NOT EXISTS (SELECT 1 FROM contacts_membership m
                            WHERE m.contact_id = x.id AND m.status = 'subscribed') AS awaiting
        FROM unnest(ids) AS x(id)
    ) w
    WHERE c.id = w.id AND c.awaiting_confirmation IS DISTINCT FROM w.awaiting;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;

CREATE FUNCTION contacts_awaiting_repair() RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    RETURN contacts_awaiting_refresh(ARRAY(
        SELECT id FROM contacts_contact WHERE awaiting_confirmation
        UNION
        SELECT contact_id FROM contacts_membership WHERE status = 'unconfirmed'
    ));
END;
$$;

CREATE FUNCTION contacts_awaiting_added() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF (SELECT count(*) FROM (SELECT 1 FROM added LIMIT 1001) few) <= 1000 THEN
        SELECT array_agg(DISTINCT contact_id) INTO ids FROM added;
    ELSE
        -- Subscribed members clear the flag only of contacts that have it.
        SELECT array_agg(DISTINCT a.contact_id) INTO ids FROM added a
        WHERE a.status = 'unconfirmed'
            OR (a.status = 'subscribed' AND a.contact_id IN (
                SELECT id FROM contacts_contact WHERE awaiting_confirmation));
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM contacts_awaiting_refresh(ids);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_awaiting_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT x.contact_id) INTO ids FROM (
        SELECT o.contact_id FROM before o JOIN after n ON n.id = o.id
        WHERE o.status <> n.status OR o.contact_id <> n.contact_id
        UNION ALL
        SELECT n.contact_id FROM before o JOIN after n ON n.id = o.id
        WHERE o.status <> n.status OR o.contact_id <> n.contact_id
    ) x;
    IF ids IS NOT NULL THEN
        PERFORM contacts_awaiting_refresh(ids);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_awaiting_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT contact_id) INTO ids FROM removed
    WHERE status IN ('unconfirmed', 'subscribed');
    IF ids IS NOT NULL THEN
        PERFORM contacts_awaiting_refresh(ids);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER membership_awaiting_added AFTER INSERT ON contacts_membership
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION contacts_awaiting_added();

CREATE TRIGGER membership_awaiting_changed AFTER UPDATE ON contacts_membership
REFERENCING OLD TABLE AS before NEW TABLE AS after
FOR EACH STATEMENT EXECUTE FUNCTION contacts_awaiting_changed();

CREATE TRIGGER membership_awaiting_removed AFTER DELETE ON contacts_membership
REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION contacts_awaiting_removed();

UPDATE contacts_contact SET awaiting_confirmation = true
WHERE id IN (
    SELECT m.contact_id FROM contacts_membership m WHERE m.status = 'unconfirmed'
    AND NOT EXISTS (SELECT 1 FROM contacts_membership s
                    WHERE s.contact_id = m.contact_id AND s.status = 'subscribed')
);
"""

# Each typed attribute's index (expression, status), rebuilt with the flag after them.
ATTRIBUTE_INDEXES = """
DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = 'contacts_contact' AND t.relnamespace = current_schema()::regnamespace
            AND i.relname LIKE 'contact\\_attr\\_%\\_idx' AND x.indnatts = {columns}
    LOOP
        EXECUTE format('DROP INDEX %I', ix.name);
        EXECUTE {new_definition};
    END LOOP;
END
$$;
"""
WITH_FLAG = ATTRIBUTE_INDEXES.format(
    columns=2, new_definition="regexp_replace(ix.def, '\\)$', ', awaiting_confirmation)')"
)
WITHOUT_FLAG = ATTRIBUTE_INDEXES.format(
    columns=3, new_definition="regexp_replace(ix.def, ', awaiting_confirmation\\)$', ')')"
)

REVERSE = """
DROP TRIGGER membership_awaiting_added ON contacts_membership;
DROP TRIGGER membership_awaiting_changed ON contacts_membership;
DROP TRIGGER membership_awaiting_removed ON contacts_membership;
DROP FUNCTION contacts_awaiting_added();
DROP FUNCTION contacts_awaiting_changed();
DROP FUNCTION contacts_awaiting_removed();
DROP FUNCTION contacts_awaiting_repair();
DROP FUNCTION contacts_awaiting_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [("contacts", "0014_contact_status_index_ascending")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="awaiting_confirmation",
            field=models.BooleanField(
                db_default=False,
                default=False,
                editable=False,
                verbose_name="awaiting confirmation",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("awaiting_confirmation", True)),
                fields=["id"],
                name="contact_awaiting_idx",
            ),
        ),
        # The unconfirmed memberships: what the triggers probe and the repair reads.
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                condition=models.Q(("status", "unconfirmed")),
                fields=["contact"],
                name="membership_unconfirmed_idx",
            ),
        ),
        # What a count by rows of other tables leaves out (segments.selectors).
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(
                    models.Q(("status", "subscribed"), _negated=True),
                    ("awaiting_confirmation", True),
                    _connector="OR",
                ),
                fields=["id"],
                name="contact_unreachable_idx",
            ),
        ),
        migrations.RunSQL(FUNCTIONS, REVERSE),
        migrations.RemoveIndex(model_name="contact", name="contact_domain_status_idx"),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                models.Func(
                    django.db.models.functions.text.Lower("email"),
                    models.Value("@"),
                    models.Value(2),
                    function="split_part",
                    output_field=models.CharField(),
                ),
                models.F("status"),
                models.F("awaiting_confirmation"),
                name="contact_domain_reach_idx",
            ),
        ),
        migrations.RunSQL(WITH_FLAG, WITHOUT_FLAG),
    ]
