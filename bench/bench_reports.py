"""Benchmark of what a campaign gives back, on a 1,000,000-recipient campaign (PostgreSQL):

- `GET /api/v1/campaigns/{id}/stats/` and `GET /api/v1/campaigns/{id}/` (target: p95 under
  50 ms), through Django's test client with a JWT, so the figure includes authentication,
  the view and the JSON rendering, not the network;
- `GET /api/v1/campaigns/{id}/export/` as CSV and as XLSX, the million rows read from the
  response as a client would, in a child process: rows/s, the time to the first byte and the
  child's peak memory (VmHWM; target: bounded, under 150 MB as the import's).

The campaign looks like one that has run: 60 % read, 25 % delivered, 7 % sent, 4 % failed
over three Meta codes, 2 % waiting for a later attempt, 2 % skipped, its sends spread over 17
minutes; its counters and timeline are rebuilt from its rows (`campaign_recount`), as the
engine and the webhooks would have kept them. The database is the configured PostgreSQL, or
`broadcast_bench_reports` on 127.0.0.1 (created when missing) when the suite runs on SQLite.
Everything created is deleted afterwards.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.databases import rows_on_postgres
from bench.fixtures import tagged_account_and_template

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench_reports"
N = 1_000_000
REQUESTS = 200
CAMPAIGNS_IN_LIST = 5000
TARGET_MS = 50.0
TARGET_RSS_MB = 150.0
TEMPLATE_BODY = "Hi {{1}}, your parcel {{2}} arrives {{3}}."


def _create_campaign():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Membership
    from campaigns.models import Campaign, Recipient
    from campaigns.tracking import campaign_recount

    tag = os.urandom(5).hex()
    body = {"type": "BODY", "text": TEMPLATE_BODY}
    body["example"] = {"body_text": [["Ana", "PK-1", "tomorrow"]]}
    workspace, account, template = tagged_account_and_template(
        name="bench-reports",
        tag=tag,
        phone_digit="7",
        template_name="bench_parcel",
        components=[body],
    )
    user = get_user_model().objects.create(username=f"bench-reports-{tag}")
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    campaign = Campaign.objects.create(
        workspace=workspace,
        account=account,
        template=template,
        name="bench reports",
        status="running",
    )
    with connection.cursor() as c:
        c.execute(
            f"""INSERT INTO {Recipient._meta.db_table} (campaign_id, phone, "values", status,
                    skip_reason, attempts, claimed_by, message_status, error_title,
                    error_details, pricing_category, wamid, sent_at, delivered_at, read_at,
                    failed_at, error_code, next_attempt_at, replied_at, source_line)
                SELECT %(c)s, '+1755' || lpad(g::text, 7, '0'),
                    jsonb_build_object('body_param_1', 'Ana', 'body_param_2', 'PK-' || g,
                        'body_param_3', 'tomorrow'),
                    CASE WHEN m < 60 THEN 'read' WHEN m < 85 THEN 'delivered'
                         WHEN m < 92 THEN 'sent' WHEN m < 96 THEN 'failed'
                         WHEN m < 98 THEN 'pending' ELSE 'skipped' END,
                    CASE WHEN m >= 98 THEN 'opted_out' ELSE '' END,
                    CASE WHEN m < 98 THEN 1 ELSE 0 END, '', '',
                    CASE WHEN m BETWEEN 92 AND 97 THEN 'Message undeliverable' ELSE '' END,
                    '', CASE WHEN m < 92 THEN 'marketing' ELSE '' END,
                    CASE WHEN m < 96 THEN %(w)s || g END,
                    CASE WHEN m < 96 THEN t END,
                    CASE WHEN m < 85 THEN t + interval '4 seconds' END,
                    CASE WHEN m < 60 THEN t + interval '90 seconds' END,
                    CASE WHEN m BETWEEN 92 AND 95 THEN t + interval '2 seconds' END,
                    CASE WHEN m BETWEEN 92 AND 95 THEN (ARRAY[131026, 131049, 131047])[g %% 3 + 1]
                         WHEN m BETWEEN 96 AND 97 THEN 130429 END,
                    CASE WHEN m BETWEEN 96 AND 97 THEN now() + interval '6 hours' END,
                    CASE WHEN m < 3 THEN t + interval '10 minutes' END,
                    g + 1
                FROM (SELECT g, g %% 100 AS m,
                             now() - interval '1 hour' + g * interval '1 millisecond' AS t
                      FROM generate_series(1, %(n)s) AS g) AS s""",
            {"c": campaign.pk, "n": N, "w": f"wamid.bench-{tag}-"},
        )
        c.execute(f"VACUUM ANALYZE {Recipient._meta.db_table}")
    campaign_recount(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return user, campaign


def _delete_leftovers() -> None:
    """A run killed midway leaves its campaign behind: its rows would skew the next one."""
    from campaigns.models import Campaign

    for campaign in Campaign.objects.filter(workspace__name__startswith="bench-reports-"):
        campaign.delete()


def _timed(client, url: str, **headers) -> list[float]:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    return times


def _dashboard_times(user, campaign) -> dict[str, list[float]]:
    """The dashboard's pages, logged in with a session: the campaign page, its live fragment
    and its recipients table on the million-recipient campaign, and the campaign list with
    CAMPAIGNS_IN_LIST campaigns in the workspace."""
    from django.test import Client

    from campaigns.models import Campaign

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}
    page = f"/campaigns/{campaign.pk}/"
    times = {
        "campaign page (1M)": _timed(client, page),
        "live fragment (1M)": _timed(client, f"{page}live/?shown=running", **htmx),
        "recipients, first page (1M)": _timed(client, f"{page}recipients/", **htmx),
        "recipients, failed (1M)": _timed(client, f"{page}recipients/?status=failed", **htmx),
    }
    others = [
        Campaign(
            workspace=campaign.workspace,
            account=campaign.account,
            template=campaign.template,
            name=f"bench list {n}",
            status="completed",
            total_recipients=1000,
            sent_count=900,
            failed_count=100,
        )
        for n in range(CAMPAIGNS_IN_LIST - 1)
    ]
    Campaign.objects.bulk_create(others, batch_size=1000)
    times[f"campaign list ({CAMPAIGNS_IN_LIST:,})"] = _timed(client, "/")
    times["campaign list, page 100"] = _timed(client, "/?page=100")
    return times


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def _export_child(campaign_id: str, user_id: int, fmt: str, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_reports", "export", campaign_id, str(user_id), fmt],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"export child failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return json.loads(lines[-1])


def child_export(campaign_id: str, user_id: int, fmt: str) -> dict:
    """Download the export as a client would (the whole body read, chunk by chunk)."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    user = get_user_model().objects.get(pk=user_id)
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    started = time.perf_counter()
    response = client.get(f"/api/v1/campaigns/{campaign_id}/export/?format={fmt}")
    assert response.status_code == 200
    first_byte = None
    size = newlines = 0
    for chunk in response.streaming_content:
        if first_byte is None and chunk:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        if fmt == "csv":
            newlines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    hwm_kb = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    return {
        "seconds": elapsed,
        "first_byte_s": first_byte,
        "bytes": size,
        "rows": newlines - 1 if fmt == "csv" else None,
        "hwm_mb": hwm_kb / 1024,
    }


def run() -> list[dict]:
    rows = rows_on_postgres("bench.bench_reports", BENCH_DATABASE_URL)
    if rows is not None:
        return rows
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    call_command("migrate", verbosity=0)
    _delete_leftovers()
    started = time.monotonic()
    user, campaign = _create_campaign()
    print(f"   {N:,} recipients created in {time.monotonic() - started:.0f} s", flush=True)
    try:
        client = APIClient(SERVER_NAME="127.0.0.1")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        base = f"/api/v1/campaigns/{campaign.pk}/"
        body = client.get(f"{base}stats/").json()
        assert body["funnel"]["counts"]["total"] == N
        assert (
            sum(p["sent"] for p in body["timeline"])
            == body["funnel"]["counts"]["sent"] + (body["funnel"]["counts"]["failed"])
        )
        stats = _timed(client, f"{base}stats/")
        detail = _timed(client, base)
        pages = _dashboard_times(user, campaign)
        settings = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": (
                f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
                f"{settings['PORT'] or 5432}/{settings['NAME']}"
            ),
            "LOG_LEVEL": "WARNING",
        }
        exports = {
            fmt: _export_child(str(campaign.pk), user.pk, fmt, env) for fmt in ("csv", "xlsx")
        }
    finally:
        from campaigns.models import Campaign

        Campaign.objects.filter(workspace=campaign.workspace).delete()
    assert exports["csv"]["rows"] == N, exports["csv"]
    figures = [
        _figure("stats p95", _p95(stats), "ms", f"< {TARGET_MS:g}", _p95(stats) < TARGET_MS),
        _figure("stats median", statistics.median(stats), "ms"),
        _figure(
            "campaign detail p95", _p95(detail), "ms", f"< {TARGET_MS:g}", _p95(detail) < TARGET_MS
        ),
    ]
    for name, times in pages.items():
        figures.append(
            _figure(
                f"dashboard {name} p95",
                _p95(times),
                "ms",
                f"< {TARGET_MS:g}",
                _p95(times) < TARGET_MS,
            )
        )
    for fmt, result in exports.items():
        figures += [
            _figure(f"export {fmt}, 1M rows", N / result["seconds"], "rows/s"),
            _figure(f"export {fmt}, first byte", result["first_byte_s"] * 1000, "ms"),
            _figure(f"export {fmt}, size", result["bytes"] / 1e6, "MB"),
            _figure(
                f"export {fmt}, peak memory",
                result["hwm_mb"],
                "MB",
                f"< {TARGET_RSS_MB:g}",
                result["hwm_mb"] < TARGET_RSS_MB,
            ),
        ]
    return figures


def _figure(name, value, unit, target=None, ok=None) -> dict:
    return {"name": name, "value": round(float(value), 2), "unit": unit, "target": target, "ok": ok}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "export":
        print(json.dumps(child_export(args[0], int(args[1]), args[2])))
