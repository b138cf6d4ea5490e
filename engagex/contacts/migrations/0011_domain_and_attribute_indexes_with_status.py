"""Segment indexes carry the contact's status.

A segment counts the subscribed contacts matching its rule. With the status in the index, a
bitmap scan over "email domain is …" or "seats between 10 and 20" needs no table row on
pages the visibility map marks all-visible: at 1M contacts 80-120 ms became 8-25 ms
(docs/benchmarks.md). The typed attributes' expression indexes (contact_attr_<id>_idx, made
by contacts.services.attributes) are rebuilt the same way, from their own definitions;
text attributes get one (their "is" no longer reads the GIN index over all attributes, which
goes). A workspace's contacts then carry one btree per typed text, number or date attribute.
"""

import django.db.models.functions.text
from django.db import migrations, models

# Each typed attribute's index, rebuilt with the status after its expression (or without).
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
WITH_STATUS = ATTRIBUTE_INDEXES.format(
    columns=1, new_definition="regexp_replace(ix.def, '\\)$', ', status)')"
)
WITHOUT_STATUS = ATTRIBUTE_INDEXES.format(
    columns=2, new_definition="regexp_replace(ix.def, ', status\\)$', ')')"
)

# Text attributes get one too (their "is" compared jsonb containment, through the GIN index
# over all attributes, which goes): the text's first 200 characters and the status.
TEXT_INDEXES = """
DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT id, name FROM contacts_attributedefinition WHERE type = 'text' LOOP
        EXECUTE format(
            'CREATE INDEX %I ON contacts_contact (left((attributes ->> %L), 200), status)',
            'contact_attr_' || d.id || '_idx', d.name);
    END LOOP;
END
$$;
"""
DROP_TEXT_INDEXES = """
DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT id FROM contacts_attributedefinition WHERE type = 'text' LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', 'contact_attr_' || d.id || '_idx');
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0010_membership_no_redundant_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='contact',
            name='contact_email_domain_idx',
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(models.Func(django.db.models.functions.text.Lower('email'), models.Value('@'), models.Value(2), function='split_part', output_field=models.CharField()), models.F('status'), name='contact_domain_status_idx'),
        ),
        migrations.RemoveIndex(
            model_name='contact',
            name='contact_attributes_gin_idx',
        ),
        migrations.RunSQL(WITH_STATUS, WITHOUT_STATUS),
        migrations.RunSQL(TEXT_INDEXES, DROP_TEXT_INDEXES),
    ]
