"""The PostgreSQL databases the benchmarks run in, created when missing."""

import urllib.parse

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
