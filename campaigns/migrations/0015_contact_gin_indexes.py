"""GIN indexes on contacts' tags and attributes, for segment conditions (`has`, `eq`,
`exists` on JSONB): PostgreSQL only; SQLite (make run) scans its few contacts."""

from django.db import migrations

# tags: only containment (tags @> '["vip"]'), the smaller jsonb_path_ops; attributes: also
# key existence (attributes ? 'city'), so the default jsonb_ops.
INDEXES = (
    ("contact_tags_gin", "tags jsonb_path_ops"),
    ("contact_attributes_gin", "attributes"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON campaigns_contact "
            f"USING gin ({column})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0014_audiences")]

    operations = [migrations.RunPython(create, drop)]
