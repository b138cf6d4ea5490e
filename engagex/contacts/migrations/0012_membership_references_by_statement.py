"""Memberships' references are checked a statement at a time instead of a row at a time.

A foreign key checks each inserted row on its own (a query and a row lock per row, run at
commit, as Django's constraints are deferred): for the two million memberships of a 1M-row
import into two lists that was about 20 s. The two constraints are replaced by triggers:

- after an INSERT, one statement checks that every contact and list the new rows name
  exists and locks them `FOR KEY SHARE` until the transaction ends. A membership naming a
  contact being deleted waits for that delete, then fails. The error is a foreign-key
  violation, as before, but raised at the statement instead of at commit;
- an UPDATE that changes a membership's contact or list is checked the same way, per row;
- deleting a contact or a list that memberships still name fails at that DELETE statement
  (set-based), and so does changing such an id. Django's cascade and `contact_delete_many`
  delete the memberships first, as before (the constraints never cascaded in the database).

Differences from the deferred constraints: the checks run at the statement, not at commit
(a check deferred to the commit would run under whatever schema the connection uses then);
a delete meeting a membership inserted but not yet committed now waits for it and then
fails, where before the insert failed at its commit (`contact_delete_many` and
`group_delete_many` therefore lock their rows first, so they wait and delete that membership
too); a REPEATABLE READ
transaction's delete checks its own snapshot, and TRUNCATE is not checked (the application
does neither); the functions name tables without a schema, resolved by the search path
like the campaigns app's triggers.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION contacts_membership_added() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT count(DISTINCT contact_id) INTO wanted FROM added;
    SELECT count(*) INTO found FROM (
        SELECT 1 FROM contacts_contact c
        WHERE c.id IN (SELECT contact_id FROM added)
        FOR KEY SHARE OF c
    ) locked;
    IF found < wanted THEN
        RAISE EXCEPTION 'insert or update on table "contacts_membership" violates foreign key '
            'constraint "membership_contact_exists"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = 'A membership names a contact that does not exist.';
    END IF;
    SELECT count(DISTINCT group_id) INTO wanted FROM added;
    SELECT count(*) INTO found FROM (
        SELECT 1 FROM contacts_contactgroup g
        WHERE g.id IN (SELECT group_id FROM added)
        FOR KEY SHARE OF g
    ) locked;
    IF found < wanted THEN
        RAISE EXCEPTION 'insert or update on table "contacts_membership" violates foreign key '
            'constraint "membership_group_exists"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = 'A membership names a list that does not exist.';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_membership_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM contacts_contact WHERE id = NEW.contact_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "contacts_membership" violates foreign key '
            'constraint "membership_contact_exists"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = 'A membership names a contact that does not exist.';
    END IF;
    PERFORM 1 FROM contacts_contactgroup WHERE id = NEW.group_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "contacts_membership" violates foreign key '
            'constraint "membership_group_exists"'
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = 'A membership names a list that does not exist.';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_membership_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    named bigint;
BEGIN
    IF TG_TABLE_NAME = 'contacts_contact' THEN
        SELECT o.id INTO named FROM gone o
        WHERE EXISTS (SELECT 1 FROM contacts_membership m WHERE m.contact_id = o.id) LIMIT 1;
    ELSE
        SELECT o.id INTO named FROM gone o
        WHERE EXISTS (SELECT 1 FROM contacts_membership m WHERE m.group_id = o.id) LIMIT 1;
    END IF;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint '
            '"membership_%_exists" on table "contacts_membership"',
            TG_TABLE_NAME, CASE WHEN TG_TABLE_NAME = 'contacts_contact'
                THEN 'contact' ELSE 'group' END
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (id)=(%s) is still named by a membership.', named);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION contacts_membership_renumbered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'contacts_contact' THEN
        PERFORM 1 FROM contacts_membership WHERE contact_id = OLD.id LIMIT 1;
    ELSE
        PERFORM 1 FROM contacts_membership WHERE group_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'update on table "%" violates a foreign key on table '
            '"contacts_membership"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('Key (id)=(%s) is still named by a membership.', OLD.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER membership_added AFTER INSERT ON contacts_membership
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION contacts_membership_added();

CREATE TRIGGER membership_moved AFTER UPDATE OF contact_id, group_id ON contacts_membership
FOR EACH ROW WHEN (OLD.contact_id <> NEW.contact_id OR OLD.group_id <> NEW.group_id)
EXECUTE FUNCTION contacts_membership_moved();

CREATE TRIGGER membership_contact_deleted AFTER DELETE ON contacts_contact
REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION contacts_membership_referenced();

CREATE TRIGGER membership_contact_renumbered AFTER UPDATE OF id ON contacts_contact
FOR EACH ROW WHEN (OLD.id <> NEW.id) EXECUTE FUNCTION contacts_membership_renumbered();

CREATE TRIGGER membership_group_deleted AFTER DELETE ON contacts_contactgroup
REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION contacts_membership_referenced();

CREATE TRIGGER membership_group_renumbered AFTER UPDATE OF id ON contacts_contactgroup
FOR EACH ROW WHEN (OLD.id <> NEW.id) EXECUTE FUNCTION contacts_membership_renumbered();
"""

DROP = """
DROP TRIGGER membership_added ON contacts_membership;
DROP TRIGGER membership_moved ON contacts_membership;
DROP TRIGGER membership_contact_deleted ON contacts_contact;
DROP TRIGGER membership_contact_renumbered ON contacts_contact;
DROP TRIGGER membership_group_deleted ON contacts_contactgroup;
DROP TRIGGER membership_group_renumbered ON contacts_contactgroup;
DROP FUNCTION contacts_membership_added();
DROP FUNCTION contacts_membership_moved();
DROP FUNCTION contacts_membership_referenced();
DROP FUNCTION contacts_membership_renumbered();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0011_domain_and_attribute_indexes_with_status"),
    ]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="memberships",
                to="contacts.contact",
                verbose_name="contact",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="group",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="memberships",
                to="contacts.contactgroup",
                verbose_name="list",
            ),
        ),
        migrations.RunSQL(FUNCTIONS, DROP),
    ]
