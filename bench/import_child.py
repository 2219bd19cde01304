"""The import benchmark's child process, `python -m bench.bench_import COMMAND ARGS` with
DATABASE_URL pointing at PostgreSQL: prepare (migrate, the workspaces, campaigns and reports),
import (the Celery task's service on the stored upload, timed and checked) and cleanup. Each
prints its result as one JSON line."""

import json
import logging
import os
import threading
import time
from pathlib import Path

from bench.fixtures import tagged_account_and_template

REINDEX_BELOW_ROWS = 200_000
TEMPLATE_BODY = "Hi {{1}}, your parcel {{2}} arrives {{3}}."


def child_prepare(args: dict) -> dict:
    """Migrate, then one workspace per file (its opt-outs must not meet the other file's)."""
    from django.core.management import call_command

    from campaigns.models import Campaign, ImportReport, OptOut

    call_command("migrate", verbosity=0)
    body = {"type": "BODY", "text": TEMPLATE_BODY}
    body["example"] = {"body_text": [["Ana", "PK-1", "tomorrow"]]}
    prepared = {}
    for kind, spec in args.items():
        tag = os.urandom(5).hex()
        workspace, account, template = tagged_account_and_template(
            name="bench-import",
            tag=tag,
            phone_digit="6",
            template_name="bench_parcel",
            components=[body],
        )
        OptOut.objects.bulk_create(OptOut(workspace=workspace, phone=p) for p in spec["opted_out"])
        campaign = Campaign.objects.create(
            workspace=workspace, account=account, template=template, name=f"bench {kind}"
        )
        report = ImportReport.objects.create(
            campaign=campaign, source=kind, file_name=f"bench.{kind}", file_size=spec["size"]
        )
        prepared[kind] = {
            "workspace": str(workspace.pk),
            "report": str(report.pk),
            "campaign": str(campaign.pk),
        }
    return prepared


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a local process, NaN when it is not visible (a remote server)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _ImportLog(logging.Handler):
    """Keeps the pipeline's "recipients imported" record: it carries the time split."""

    record: logging.LogRecord | None = None

    def emit(self, record):
        self.record = record


class _FirstScreen(threading.Thread):
    """Polls Redis, as the dashboard's preview does, for the import's first published snapshot
    (counts so far, first rejected rows, first messages) and notes when it appeared."""

    def __init__(self, report_id: str, started: float):
        super().__init__(daemon=True)
        self.report_id, self.started = report_id, started
        self.seconds: float | None = None
        self._done = threading.Event()

    def run(self) -> None:
        from campaigns.importing.pipeline import import_progress

        while not self._done.is_set():
            if import_progress(self.report_id) is not None:
                self.seconds = time.perf_counter() - self.started
                return
            time.sleep(0.005)

    def stop(self) -> None:
        self._done.set()
        self.join()


def child_import(args: dict) -> dict:
    """The Celery task's service on the stored upload; timed from the worker's point of view
    (Django already loaded), then checked against the database."""
    from django.db import connection

    from campaigns.models import Campaign, ImportReport, Recipient
    from campaigns.services.imports import import_stored_file

    log = _ImportLog()
    pipeline_logger = logging.getLogger("campaigns.importing.pipeline")
    pipeline_logger.addHandler(log)
    pipeline_logger.setLevel(logging.INFO)
    with connection.cursor() as c:  # the connection the import will use (CONN_MAX_AGE)
        c.execute("SELECT pg_backend_pid()")
        backend = c.fetchone()[0]
    backend_cpu, own_cpu = _cpu_seconds(backend), time.process_time()
    started = time.perf_counter()
    first_screen = _FirstScreen(args["report"], started)
    first_screen.start()
    import_stored_file(report_id=args["report"], stored_name=args["stored_name"])
    ended = time.perf_counter()
    first_screen.stop()
    backend_cpu, own_cpu = _cpu_seconds(backend) - backend_cpu, time.process_time() - own_cpu
    in_run = getattr(log.record, "seconds", 0.0)
    waiting = getattr(log.record, "seconds_database", 0.0)
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across exec into
    # ru_maxrss, and the parent holds the generated rows.
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")))
    report = ImportReport.objects.get(pk=args["report"])
    with connection.cursor() as c:
        table = Recipient._meta.db_table
        c.execute(f"SELECT count(*) FROM {table} WHERE campaign_id = %s", [args["campaign"]])
        stored = c.fetchone()[0]
    campaign = Campaign.objects.get(pk=args["campaign"])
    fields = ("rows_read", "imported", "rejected", "skipped_duplicate", "skipped_opted_out")
    return {
        "seconds": ended - started,
        # Reading and validating, while the database inserts the rows already sent.
        "python_s": in_run - waiting,
        # Blocked on the database: COPY writes while it catches up, the end of the COPY, the
        # rejections.
        "database_wait_s": waiting,
        # Opening the file (XLSX: its shared strings), the commit, saving the report.
        "other_s": ended - started - in_run,
        # CPU seconds of this process and of its PostgreSQL backend (when the server is local).
        "python_cpu_s": own_cpu,
        "database_cpu_s": backend_cpu,
        "peak_mb": peak_kb / 1024,
        # From the task's start to the first snapshot a polling preview can show (None: none).
        "first_screen_s": first_screen.seconds,
        "status": report.status,
        "error": report.error,
        "counts": {f: getattr(report, f) for f in fields},
        "stored": stored,
        "counters_ok": campaign.total_recipients == campaign.pending_count == stored,
    }


def child_cleanup(args: dict) -> dict:
    from django.db import connection

    from accounts.models import Workspace
    from campaigns.models import Campaign, Recipient

    campaigns = Campaign.objects.filter(workspace_id__in=args["workspaces"])
    with connection.cursor() as c:
        for pk in campaigns.values_list("pk", flat=True):
            c.execute(f"DELETE FROM {Recipient._meta.db_table} WHERE campaign_id = %s", [pk])
    campaigns.delete()
    Workspace.objects.filter(pk__in=args["workspaces"]).delete()
    table = Recipient._meta.db_table
    with connection.cursor() as c:
        # A million dead rows would slow the next run's inserts. Vacuumed index pages stay
        # allocated, and each run's new campaign lands elsewhere in the (campaign_id, …)
        # indexes, so they would grow run after run (and the inserts slow down with them):
        # rebuilt, every run starts from the same state. Only while the table is small.
        c.execute(f"VACUUM ANALYZE {table}")
        c.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        if c.fetchone()[0] < REINDEX_BELOW_ROWS:
            c.execute(f"REINDEX TABLE CONCURRENTLY {table}")
    return {"workspaces": len(args["workspaces"])}


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    command, args = argv[0], json.loads(argv[1])
    handler = {"prepare": child_prepare, "import": child_import, "cleanup": child_cleanup}
    print(json.dumps(handler[command](args)), flush=True)
