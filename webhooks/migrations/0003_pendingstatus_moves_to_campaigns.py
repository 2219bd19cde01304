# PendingStatus is recipient tracking: it moved to campaigns (campaigns 0005). State only:
# the table webhooks_pendingstatus stays where it is, with its rows and indexes.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_webhookevent_next_attempt_at_pendingstatus"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PendingStatus")],
            database_operations=[],
        ),
    ]
