"""Settings come from the environment and refuse bad values with a message naming them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "DATABASE_URL",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    clean.update(env)
    clean["DATA_DIR"] = clean.get("DATA_DIR", "/tmp/broadcast-settings-test")
    code = (
        "import config.settings as s; print('DEBUG', s.DEBUG); "
        "print('DB', s.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_debug_value_is_an_error_naming_the_variable():
    result = load_settings(DEBUG="ture", SECRET_KEY="x" * 40, FIELD_ENCRYPTION_KEY="k")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("true", "True"), ("0", "False"), ("Off", "False")])
def test_debug_accepts_the_usual_spellings(raw, expected):
    result = load_settings(DEBUG=raw, SECRET_KEY="x" * 40, FIELD_ENCRYPTION_KEY="k")
    assert result.returncode == 0, result.stderr
    assert f"DEBUG {expected}" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="false", FIELD_ENCRYPTION_KEY="k")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_an_encryption_key():
    result = load_settings(DEBUG="false", SECRET_KEY="x" * 40)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr


def test_debug_runs_with_nothing_configured_on_sqlite():
    result = load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "DB django.db.backends.sqlite3" in result.stdout


def test_database_url_selects_postgresql():
    result = load_settings(DEBUG="true", DATABASE_URL="postgres://u@127.0.0.1:5432/db")
    assert result.returncode == 0, result.stderr
    assert "DB django.db.backends.postgresql" in result.stdout


def test_a_bad_number_is_an_error_naming_the_variable():
    result = load_settings(DEBUG="true", JWT_ACCESS_MINUTES="soon")
    assert result.returncode != 0
    assert "JWT_ACCESS_MINUTES='soon' is not a whole number" in result.stderr


@pytest.mark.parametrize("raw", ["ten/minute", "10", "10/mango", "0/minute"])
def test_a_bad_throttle_rate_is_an_error_naming_the_variable(raw):
    result = load_settings(DEBUG="true", THROTTLE_SENDS=raw)
    assert result.returncode != 0
    assert f"THROTTLE_SENDS={raw!r} is not a rate" in result.stderr


def test_throttle_rates_default_and_can_be_turned_off():
    code = (
        "import config.settings as s; print(s.THROTTLE_TOKEN, s.THROTTLE_LOGIN, s.THROTTLE_SENDS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("THROTTLE_")}
    clean.update(DEBUG="true", DATA_DIR="/tmp/broadcast-settings-test", THROTTLE_LOGIN="OFF")
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10/minute", "None", "60/minute"]


def test_sender_tasks_have_a_queue_of_their_own_and_a_plain_worker_reads_both():
    """Senders hold a worker process for minutes: on their own queue, drains, imports and
    beat's jobs never wait behind them (config/celery.py)."""
    from config.celery import app

    default = app.conf.task_default_queue
    router = app.amqp.router
    assert router.route({}, "campaigns.sender")["queue"].name == f"{default}.senders"
    for other in ("webhooks.drain", "campaigns.import_file", "campaigns.sweep"):
        assert router.route({}, other)["queue"].name == default
    assert {q.name for q in app.conf.task_queues} == {default, f"{default}.senders"}
