"""Benchmark of resolving an audience into a campaign's recipients (PostgreSQL): 1,000,000
contacts (`BENCH_AUDIENCE_CONTACTS` overrides it) generated with `generate_series`, all in one
list, 1 % of them lacking the mapped attribute (rejected and reported) and 1 % opted out;
`audience_resolve` as `campaign_send` runs it. Target: 100,000 recipients/s or more.

The database is the configured PostgreSQL, or `broadcast_bench_audience` on 127.0.0.1 when
the suite runs on SQLite. Everything created is deleted afterwards.
"""

import os
import time

from bench.databases import rows_on_postgres
from bench.fixtures import tagged_account_and_template

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench_audience"
TARGET = 100_000
PREFIX = "bench-audience"
BODY = {
    "type": "BODY",
    "text": "Hi {{1}}, your parcel {{2}} arrives {{3}}.",
    "example": {"body_text": [["Ana", "PK-1", "tomorrow"]]},
}
MAPPING = {
    "body_param_1": "field:name",
    "body_param_2": "attribute:order_id",
    "body_param_3": "text:tomorrow",
}


def _contacts() -> int:
    return int(os.environ.get("BENCH_AUDIENCE_CONTACTS", "1000000"))


def _setup(n: int):
    from django.db import connection

    from campaigns.models import Campaign, Contact, ContactList, ContactListMember, OptOut

    tag = os.urandom(5).hex()
    workspace, account, template = tagged_account_and_template(
        name=PREFIX, tag=tag, phone_digit="6", template_name="bench_audience", components=[BODY]
    )
    contact_list = ContactList.objects.create(workspace=workspace, name="everyone")
    with connection.cursor() as c:
        # Every 100th contact has no order_id (rejected); every 100th + 1 opts out.
        c.execute(
            f"""INSERT INTO {Contact._meta.db_table} (workspace_id, phone, name, tags,
                    attributes, locale, time_zone, created_at, updated_at)
                SELECT %(w)s, '+1766' || lpad(g::text, 7, '0'), 'Name ' || g, '[]'::jsonb,
                    CASE WHEN g %% 100 = 0 THEN '{{}}'::jsonb
                         ELSE jsonb_build_object('order_id', 'PK-' || g) END,
                    '', '', now(), now()
                FROM generate_series(1, %(n)s) AS g""",
            {"w": workspace.pk, "n": n},
        )
        c.execute(
            f"""INSERT INTO {ContactListMember._meta.db_table} (contact_list_id, contact_id,
                    added_at)
                SELECT %s, id, now() FROM {Contact._meta.db_table} WHERE workspace_id = %s""",
            [contact_list.pk, workspace.pk],
        )
        c.execute(
            f"""INSERT INTO {OptOut._meta.db_table} (workspace_id, phone, source, detail,
                    opted_out_at, created_at)
                SELECT %(w)s, '+1766' || lpad(g::text, 7, '0'), 'manual', '', now(), now()
                FROM generate_series(1, %(n)s) AS g WHERE g %% 100 = 1""",
            {"w": workspace.pk, "n": n},
        )
        for model in (Contact, ContactListMember, OptOut):
            c.execute(f"ANALYZE {model._meta.db_table}")
    campaign = Campaign.objects.create(
        workspace=workspace,
        account=account,
        template=template,
        name="bench audience",
        audience={"lists": [str(contact_list.pk)]},
        mapping=MAPPING,
    )
    return workspace, campaign


def _delete_leftovers() -> None:
    from accounts.models import Workspace
    from campaigns.models import Campaign

    for campaign in Campaign.objects.filter(workspace__name__startswith=f"{PREFIX}-"):
        campaign.delete()
    Workspace.objects.filter(name__startswith=f"{PREFIX}-").delete()


def run() -> list[dict]:
    rows = rows_on_postgres("bench.bench_audience", BENCH_DATABASE_URL)
    if rows is not None:
        return rows
    from django.core.management import call_command
    from django.db import transaction

    from campaigns.audiences.resolve import audience_resolve
    from campaigns.models import Campaign

    call_command("migrate", verbosity=0)
    _delete_leftovers()
    n = _contacts()
    started = time.monotonic()
    workspace, campaign = _setup(n)
    print(f"   {n:,} contacts created in {time.monotonic() - started:.0f} s", flush=True)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            locked = (
                Campaign.objects.select_for_update()
                .select_related("template", "workspace")
                .get(pk=campaign.pk)
            )
            report = audience_resolve(campaign=locked)
        seconds = time.perf_counter() - started
        assert report is not None
        campaign.refresh_from_db()
        assert campaign.total_recipients == report.imported == campaign.pending_count
        assert report.imported + report.rejected + report.skipped_opted_out == n
        rate = report.imported / seconds
        return [
            _figure(f"audience resolve, {n:,} contacts", seconds, "s"),
            _figure(
                "audience resolve, recipients/s", rate, "rows/s", f">= {TARGET:,}", rate >= TARGET
            ),
            _figure("audience resolve, rejected contacts", report.rejected, "rows"),
        ]
    finally:
        campaign.delete()
        workspace.delete()


def _figure(name, value, unit, target=None, ok=None) -> dict:
    return {"name": name, "value": round(float(value), 2), "unit": unit, "target": target, "ok": ok}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    for row in run():
        print(row)
