# PendingStatus moves here from webhooks (webhooks 0003): state only, the table keeps its name
# (Meta.db_table), its rows and its indexes. The admin's content type follows the model.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="campaigns", model="pendingstatus").exists():
        ContentType.objects.filter(app_label="webhooks", model="pendingstatus").update(
            app_label="campaigns"
        )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="webhooks", model="pendingstatus").exists():
        ContentType.objects.filter(app_label="campaigns", model="pendingstatus").update(
            app_label="webhooks"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_opt_in_and_opt_out_time"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("webhooks", "0003_pendingstatus_moves_to_campaigns"),
        ("whatsapp", "0002_account_verbose_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PendingStatus",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("wamid", models.CharField(max_length=128)),
                        ("status", models.CharField(max_length=16)),
                        ("timestamp", models.DateTimeField()),
                        ("payload", models.JSONField()),
                        ("event_id", models.BigIntegerField(blank=True, null=True)),
                        ("received_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="whatsapp.whatsappaccount",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "pending status",
                        "verbose_name_plural": "pending statuses",
                        "db_table": "webhooks_pendingstatus",
                        "ordering": ["-id"],
                        "indexes": [
                            models.Index(fields=["wamid"], name="pendingstatus_wamid_idx"),
                            models.Index(fields=["received_at"], name="pendingstatus_received_idx"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
