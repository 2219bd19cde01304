"""Benchmark of the contacts import (docs/audiences.md §2; target: 1,000,000 contacts at
≥ 50,000 rows/s end to end, under 150 MB peak RSS), on PostgreSQL.

A seeded CSV (`BENCH_CONTACTS_ROWS`, 1,000,000 by default) of valid numbers of ten markets
(bench/import_data.py's generator) with a name, tags, a time zone and two attribute columns;
0.5 % rows with a bad number, 0.5 % repeats. A tenth of the numbers are contacts already
(their stored name differs), so the upsert updates as well as creates. The import runs as the
Celery task runs it (`contacts_import_stored_file` on the stored upload) in a child process
(`python -m bench.bench_contacts COMMAND ARGS`) on the configured PostgreSQL or
`broadcast_bench`; the rate is rows read / the task's wall time (read, validated, merged,
committed), peak memory the child's VmHWM. The report's counts must equal what was generated;
everything created is deleted afterwards.
"""

import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.databases import database_for, run_child

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench"
ROWS = int(os.environ.get("BENCH_CONTACTS_ROWS", "1000000"))
TARGET_RATE = 50_000.0
TARGET_RSS_MB = 150.0
CHILD_TIMEOUT_S = 300
EXISTING_SHARE = 0.1
HEADER = ["country_code", "phone_number", "name", "tags", "time_zone", "city", "plan"]
ZONES = ["Asia/Kolkata", "America/Sao_Paulo", "Asia/Jakarta", "", "Europe/Berlin", ""]
TAGS = ["vip", "webinar, vip", "", "lead", "pune,Lead", ""]
CITIES = ["Pune", "São Paulo", "Jakarta", "", "Berlin", "Lagos"]
NAMES = ["Ana", "José", "Zoë", "Priya", "Ngozi", "Łukasz", "", "Siti", "Thandi", "Li"]


def write_csv(path: Path, n: int, seed: int) -> dict:
    """The file, and what the import must report for it; `existing`: numbers to pre-create."""
    from bench.import_data import _Numbers

    rng = random.Random(seed)
    numbers = _Numbers(rng)
    bad = dups = 0
    written: list[tuple[str, str]] = []
    existing: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(n):
            draw = rng.random()
            if draw < 0.005:
                cells = ("1", "n/a")
                bad += 1
            elif draw < 0.01 and written:
                cells = written[rng.randrange(len(written))]
                dups += 1
            else:
                _, cc, national = numbers.draw()
                cells = (cc, national)
                if len(written) < 100_000:
                    written.append(cells)
                if rng.random() < EXISTING_SHARE:
                    existing.append(f"+{cc}{national}")
            writer.writerow(
                [
                    *cells,
                    NAMES[i % len(NAMES)],
                    TAGS[i % len(TAGS)],
                    ZONES[i % len(ZONES)],
                    CITIES[i % len(CITIES)],
                    str(i % 7),
                ]
            )
    valid = n - bad - dups
    expected = {
        "rows_read": n,
        "created": valid - len(existing),
        "updated": len(existing),
        "rejected": bad,
        "skipped_duplicate": dups,
    }
    return {"expected": expected, "existing": existing}


def _child(command: str, args: dict, env: dict) -> dict:
    return run_child("bench.bench_contacts", command, args, env, timeout=CHILD_TIMEOUT_S)


def _database_url() -> str:
    return database_for(BENCH_DATABASE_URL)


def run() -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-contacts-"))
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATA_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
    }
    uploads = workdir / "media" / "contact-imports"
    uploads.mkdir(parents=True)
    prepared: dict = {}
    try:
        started = time.monotonic()
        meta = write_csv(workdir / "contacts.csv", ROWS, seed=3)
        existing_file = workdir / "existing.json"
        existing_file.write_text(json.dumps(meta["existing"]))
        size = (workdir / "contacts.csv").stat().st_size
        took = time.monotonic() - started
        print(f"   generated {ROWS:,} rows ({size / 1e6:.0f} MB) in {took:.1f} s")
        prepared = _child("prepare", {"size": size, "existing": str(existing_file)}, env)
        stored_name = f"contact-imports/{prepared['report']}.csv"
        (workdir / "contacts.csv").rename(workdir / "media" / stored_name)
        result = _child("import", {**prepared, "stored_name": stored_name}, env)
        print(
            f"   {result['counts']} in {result['seconds']:.1f} s (database "
            f"{result['database_s']:.1f} s); peak {result['peak_mb']:.0f} MB"
        )
    finally:
        if prepared:
            _child("cleanup", prepared, env)
        shutil.rmtree(workdir, ignore_errors=True)
    exact = result["status"] == "completed" and result["counts"] == meta["expected"]
    exact = exact and result["stored"] == meta["expected"]["created"] + len(meta["existing"])
    rate = ROWS / result["seconds"] if exact else 0.0
    figures = [
        (f"{ROWS:,} contacts: rows/s imported end to end", rate, "rows/s",
         f">= {TARGET_RATE:,.0f}", rate >= TARGET_RATE),
        ("peak RSS of the import", result["peak_mb"], "MB", f"< {TARGET_RSS_MB:.0f}",
         result["peak_mb"] < TARGET_RSS_MB),
        ("time waiting on the database (COPY, merge)", result["database_s"], "s", None, None),
        ("created/updated/rejected/dup as generated", float(exact), "bool", "1", exact),
    ]  # fmt: skip
    return [
        {"name": f"contacts: {name}", "value": value, "unit": unit, "target": t, "ok": ok}
        for name, value, unit, t, ok in figures
    ]


# --- the child process -----------------------------------------------------------------------


def child_prepare(args: dict) -> dict:
    from django.core.management import call_command

    from accounts.models import Workspace
    from campaigns.models import Contact, ContactImport

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.create(name=f"bench-contacts-{os.urandom(4).hex()}")
    phones = json.loads(Path(args["existing"]).read_text())
    Contact.objects.bulk_create(
        (Contact(workspace=workspace, phone=p, name="Before") for p in phones), batch_size=5000
    )
    report = ContactImport.objects.create(
        workspace=workspace, source="csv", file_name="contacts.csv", file_size=args["size"]
    )
    return {"workspace": str(workspace.pk), "report": str(report.pk)}


def child_import(args: dict) -> dict:
    import logging

    from campaigns.audiences.contact_uploads import contacts_import_stored_file
    from campaigns.models import Contact, ContactImport

    records: list = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    log = logging.getLogger("campaigns.audiences.contact_import")
    log.addHandler(Keep())
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    contacts_import_stored_file(report_id=args["report"], stored_name=args["stored_name"])
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")))
    report = ContactImport.objects.get(pk=args["report"])
    fields = ("rows_read", "created", "updated", "rejected", "skipped_duplicate")
    done = next((r for r in records if r.getMessage() == "contacts imported"), None)
    return {
        "seconds": seconds,
        "database_s": getattr(done, "seconds_database", float("nan")),
        "peak_mb": peak_kb / 1024,
        "status": report.status,
        "error": report.error,
        "counts": {f: getattr(report, f) for f in fields},
        "stored": Contact.objects.filter(workspace_id=args["workspace"]).count(),
    }


def child_cleanup(args: dict) -> dict:
    from django.db import connection

    from accounts.models import Workspace
    from campaigns.models import Contact, ContactImport

    with connection.cursor() as c:
        c.execute(
            f"DELETE FROM {Contact._meta.db_table} WHERE workspace_id = %s", [args["workspace"]]
        )
    ContactImport.objects.filter(workspace_id=args["workspace"]).delete()
    Workspace.objects.filter(pk=args["workspace"]).delete()
    with connection.cursor() as c:
        c.execute(f"VACUUM ANALYZE {Contact._meta.db_table}")
    return {"workspace": args["workspace"]}


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    command, args = argv[0], json.loads(argv[1])
    handler = {"prepare": child_prepare, "import": child_import, "cleanup": child_cleanup}
    print(json.dumps(handler[command](args)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
