"""Benchmark of a segment's count (docs/audiences.md §4) over 1,000,000 contacts (PostgreSQL):
`segment_contacts(...).count()`, the query behind a segment's preview, the dashboard's live
count and a campaign's audience (target: p95 under 500 ms for the combined rule: a tag, two
attributes, a list and `not` an engagement).

The workspace looks like a used one: 10 % of its contacts tagged vip, 30 % pune; attributes
city (20 % Pune), orders 0–9 (a tenth as text, as a file import leaves them) and a join date;
a list holding a fifth of the contacts (tags, city and list drawn independently by hash, so
the combined rule matches about 0.3 % of the contacts rather than none); two finished
campaigns that sent to half the contacts, 5 % of whom replied within the last 30 days.
Data is made with INSERT … SELECT over generate_series and deleted afterwards.
`BENCH_SEGMENT_CONTACTS` sets another size (the tests and a quick look use 100,000). The
database is the configured PostgreSQL, or `broadcast_bench_segments` on 127.0.0.1 (created
when missing) when the suite runs on SQLite.
"""

import os
import statistics
import time

from bench.databases import rows_on_postgres
from bench.fixtures import tagged_account_and_template

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench_segments"
N = int(os.environ.get("BENCH_SEGMENT_CONTACTS", "1000000"))
QUERIES = int(os.environ.get("BENCH_SEGMENT_QUERIES", "30"))
TARGET_MS = 500.0
PREFIX = "bench-segments"


def _create(n: int):
    from django.db import connection

    from campaigns.models import Campaign, Contact, ContactList, ContactListMember, Recipient

    tag = os.urandom(5).hex()
    workspace, account, template = tagged_account_and_template(
        name=PREFIX,
        tag=tag,
        phone_digit="6",
        template_name="bench_segment",
        components=[{"type": "BODY", "text": "Hello"}],
    )
    contact_list = ContactList.objects.create(workspace=workspace, name="every fifth")
    campaigns = [
        Campaign.objects.create(
            workspace=workspace,
            account=account,
            template=template,
            name=f"bench segments {i}",
            status="completed",
        )
        for i in range(2)
    ]
    with connection.cursor() as c:
        c.execute(
            f"""INSERT INTO {Contact._meta.db_table} (workspace_id, phone, name, tags, attributes,
                    locale, time_zone, created_at, updated_at)
                SELECT %(w)s, '+1666' || lpad(g::text, 8, '0'), 'Contact ' || g,
                    CASE WHEN h %% 10 = 0 THEN '["vip", "pune"]'::jsonb
                         WHEN h %% 10 < 3 THEN '["pune"]'::jsonb ELSE '[]'::jsonb END,
                    jsonb_build_object(
                        'city', CASE WHEN (h / 10) %% 5 = 0 THEN 'Pune' ELSE 'Mumbai' END,
                        'orders', CASE WHEN g %% 10 = 7 THEN to_jsonb(((g / 7) %% 10)::text)
                                       ELSE to_jsonb((g / 7) %% 10) END,
                        'joined', to_char(now() - (g %% 900) * interval '1 day', 'YYYY-MM-DD')),
                    '', '', now() - g * interval '1 second', now()
                FROM (SELECT g, abs(hashtext(g::text)::bigint) AS h
                      FROM generate_series(1, %(n)s) AS g) AS s""",
            {"w": workspace.pk, "n": n},
        )
        c.execute(
            f"""INSERT INTO {ContactListMember._meta.db_table} (contact_list_id, contact_id,
                    added_at)
                SELECT %(l)s, id, now() FROM {Contact._meta.db_table}
                WHERE workspace_id = %(w)s AND abs(hashtext('list' || phone)::bigint) %% 5 = 0""",
            {"l": contact_list.pk, "w": workspace.pk},
        )
        for i, campaign in enumerate(campaigns):
            c.execute(
                f"""INSERT INTO {Recipient._meta.db_table} (campaign_id, phone, "values", status,
                        skip_reason, attempts, claimed_by, message_status, error_title,
                        error_details, pricing_category, sent_at, delivered_at, read_at,
                        replied_at)
                    SELECT %(c)s, '+1666' || lpad(g::text, 8, '0'), '{{}}'::jsonb, 'read', '', 1,
                        '', '', '', '', 'marketing', t, t, t,
                        CASE WHEN g %% 40 = 1 THEN t + interval '1 hour' END
                    FROM (SELECT g, now() - (%(i)s * 40 + g %% 30) * interval '1 day' AS t
                          FROM generate_series(1, %(n)s, 2) AS g) AS s""",
                {"c": campaign.pk, "n": n, "i": i},
            )
        c.execute(f"VACUUM ANALYZE {Contact._meta.db_table}")
        c.execute(f"VACUUM ANALYZE {ContactListMember._meta.db_table}")
        c.execute(f"VACUUM ANALYZE {Recipient._meta.db_table}")
    return workspace, contact_list


def _delete(workspace_ids) -> None:
    from django.db import connection

    from accounts.models import Workspace
    from campaigns.models import Campaign, Contact, ContactList, ContactListMember, Recipient

    campaign_ids = list(
        Campaign.objects.filter(workspace_id__in=workspace_ids).values_list("id", flat=True)
    )
    with connection.cursor() as c:
        if campaign_ids:
            c.execute(
                f"DELETE FROM {Recipient._meta.db_table} WHERE campaign_id = ANY(%s)",
                [campaign_ids],
            )
        c.execute(
            f"""DELETE FROM {ContactListMember._meta.db_table} WHERE contact_list_id IN
                (SELECT id FROM {ContactList._meta.db_table} WHERE workspace_id = ANY(%s))""",
            [list(workspace_ids)],
        )
        c.execute(
            f"DELETE FROM {Contact._meta.db_table} WHERE workspace_id = ANY(%s)",
            [list(workspace_ids)],
        )
    Campaign.objects.filter(workspace_id__in=workspace_ids).delete()  # protects the account
    Workspace.objects.filter(id__in=workspace_ids).delete()


def _rules(contact_list_id) -> dict[str, dict]:
    vip = {"field": "tag", "op": "has", "value": "vip"}
    replied = {"engagement": "replied", "within_days": 30}
    return {
        "combined: tag, 2 attributes, list, not replied 30 d": {
            "all": [
                vip,
                {"field": "attribute.city", "op": "eq", "value": "Pune"},
                {"field": "attribute.orders", "op": "gte", "value": 3},
                {"list": str(contact_list_id)},
                {"not": replied},
            ]
        },
        "tag has vip": vip,
        "list member": {"list": str(contact_list_id)},
        "not messaged for 30 days": {"engagement": "messaged", "within_days": 30, "not": True},
        "any: vip or replied 30 d": {"any": [vip, replied]},
        "attribute orders gte 5 (cast guarded)": {
            "field": "attribute.orders",
            "op": "gte",
            "value": 5,
        },
    }


def _timed(workspace_id, rules) -> tuple[list[float], int]:
    from campaigns.audiences.segments import segment_contacts

    times, count = [], 0
    for _ in range(QUERIES):
        started = time.perf_counter()
        count = segment_contacts(workspace_id=workspace_id, rules=rules).count()
        times.append((time.perf_counter() - started) * 1000)
    return times, count


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def run() -> list[dict]:
    rows = rows_on_postgres("bench.bench_segments", BENCH_DATABASE_URL)
    if rows is not None:
        return rows
    from django.core.management import call_command

    from accounts.models import Workspace

    call_command("migrate", verbosity=0)
    _delete(
        list(Workspace.objects.filter(name__startswith=f"{PREFIX}-").values_list("id", flat=True))
    )
    started = time.monotonic()
    workspace, contact_list = _create(N)
    print(f"   {N:,} contacts created in {time.monotonic() - started:.0f} s", flush=True)
    figures = []
    try:
        for index, (name, rules) in enumerate(_rules(contact_list.pk).items()):
            times, count = _timed(workspace.pk, rules)
            p95 = _p95(times)
            main = index == 0
            figures.append(
                _figure(
                    f"{name} p95",
                    p95,
                    "ms",
                    f"< {TARGET_MS:g}" if main else None,
                    p95 < TARGET_MS if main else None,
                )
            )
            if main:
                figures.append(_figure(f"{name} median", statistics.median(times), "ms"))
            figures.append(_figure(f"{name}: contacts", count, "contacts"))
    finally:
        _delete([workspace.pk])
    return figures


def _figure(name, value, unit, target=None, ok=None) -> dict:
    return {"name": name, "value": round(float(value), 2), "unit": unit, "target": target, "ok": ok}
