"""The PostgreSQL databases the benchmarks run in, created when missing."""

import importlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import psycopg


def ensure_database(url: str) -> str:
    """Create the database `url` names (on its server, as its user) unless it exists; returns
    `url`, so a benchmark on a fresh machine needs nothing set up by hand."""
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def rows_on_postgres(module: str, url: str) -> list[dict] | None:
    """The benchmarks' figures are PostgreSQL's. None when Django already runs on PostgreSQL
    (measure in this process); otherwise `module.run()`'s rows, run in a child process on the
    database `url` (created when missing), e.g. for `make bench` on the SQLite default."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        result = Path(out.name)
    env = {**os.environ, "DATABASE_URL": ensure_database(url)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.databases", module, str(result)],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{module} exited with code {proc.returncode} on {url}")
        return json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)


def database_for(bench_url: str) -> str:
    """The configured PostgreSQL (this process runs on it), or `bench_url` (created when
    missing) when Django runs on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return os.environ["DATABASE_URL"]
    return ensure_database(bench_url)


def run_child(module: str, command: str, args: dict, env: dict, *, timeout: float) -> dict:
    """Run `python -m MODULE COMMAND ARGS` (a benchmark's child process: its figures are its
    own process's) in the project's root and return the JSON object it prints last."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", module, command, json.dumps(args)]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        output = (done.stdout + done.stderr)[-4000:]
        raise RuntimeError(f"bench child {command!r} failed ({done.returncode}):\n{output}")
    return json.loads(lines[-1])


def figures_in_child(module: str, *, url: str, redis_db: int, args: tuple = ()) -> list[dict]:
    """Run `python -m MODULE *ARGS RESULT` on the database `url` (created when missing) and
    Redis database `redis_db` of the configured server; return the figures it wrote to
    RESULT (a JSON file). The full-loop and read-load benches measure their own processes."""
    from django.conf import settings

    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    env = {
        **os.environ,
        "DATABASE_URL": ensure_database(url),
        "REDIS_URL": urllib.parse.urlunsplit(parts._replace(path=f"/{redis_db}")),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        result = Path(out.name)
    try:
        subprocess.run(
            [sys.executable, "-m", module, *args, str(result)],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            check=True,
        )
        return json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    module, result_path = sys.argv[1:3]
    Path(result_path).write_text(json.dumps(importlib.import_module(module).run()))
