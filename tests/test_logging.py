"""Log lines carry their context: extra keys, a task's name and id, a request's id.

The lines are produced by the real formatter (config/logs.py) on a logger of the test's own,
so the suite's logging is left as it is; the settings themselves (LOG_FORMAT, LOGGING) are
checked in fresh interpreters, as in test_settings.py.
"""

import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
import structlog
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory

from config.celery import app
from config.logs import formatter, log_format
from config.middleware import RequestContextMiddleware

from .test_settings import ROOT


@pytest.fixture
def capture():
    """capture(fmt) -> (logger, lines): a logger whose lines go through formatter(fmt)."""
    loggers = []

    def make(fmt):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter(fmt))
        logger = logging.getLogger(f"tests.logging.{uuid.uuid4().hex[:8]}")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        loggers.append((logger, handler))
        return logger, lambda: stream.getvalue().splitlines()

    yield make
    for logger, handler in loggers:
        logger.removeHandler(handler)
    structlog.contextvars.clear_contextvars()


def test_json_is_one_line_per_event_with_the_extra_keys(capture):
    logger, lines = capture("json")
    logger.info("campaign paused", extra={"campaign_id": "c-42", "reason": "quality"})
    (line,) = lines()
    event = json.loads(line)
    assert event["message"] == "campaign paused"
    assert event["campaign_id"] == "c-42"
    assert event["reason"] == "quality"
    assert event["level"] == "info"
    assert event["logger"] == logger.name
    assert event["timestamp"].endswith("Z")  # ISO 8601, UTC
    assert list(event)[:4] == ["timestamp", "level", "logger", "message"]


def test_an_extra_called_event_does_not_replace_the_message(capture):
    # webhooks/services/account_events.py logs an account update's `event`.
    logger, lines = capture("json")
    logger.info("account update", extra={"event": "FLAGGED", "campaigns_paused": 2})
    event = json.loads(lines()[0])
    assert event["message"] == "account update"
    assert event["event"] == "FLAGGED"


def test_console_shows_key_value_pairs_without_colour(capture):
    logger, lines = capture("console")
    logger.warning("send failed", extra={"campaign_id": "c-42", "recipient_id": 7})
    (line,) = lines()
    assert "send failed" in line
    assert "campaign_id=c-42" in line
    assert "recipient_id=7" in line
    assert "warning" in line
    assert "\x1b[" not in line  # not a terminal: no escape codes


def test_an_exception_renders_its_traceback_inside_the_single_json_line(capture):
    logger, lines = capture("json")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("send crashed", extra={"recipient_id": 7})
    (line,) = lines()
    event = json.loads(line)
    assert event["level"] == "error"
    assert event["recipient_id"] == 7
    assert event["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in event["exception"]


def test_bound_context_appears_and_a_call_site_extra_wins(capture):
    logger, lines = capture("json")
    structlog.contextvars.bind_contextvars(account_id="a-1", campaign_id="bound")
    logger.info("sent", extra={"campaign_id": "explicit"})
    event = json.loads(lines()[0])
    assert event["account_id"] == "a-1"
    assert event["campaign_id"] == "explicit"


@app.task(name="tests.logging.probe")
def probe(logger_name):
    logging.getLogger(logger_name).info("inside the task", extra={"campaign_id": "c-9"})
    return dict(structlog.contextvars.get_contextvars())


def test_a_task_line_carries_the_task_name_and_id(capture):
    logger, lines = capture("json")
    structlog.contextvars.bind_contextvars(stale="from an earlier task")
    result = probe.apply(args=(logger.name,))
    event = json.loads(lines()[0])
    assert event["task"] == "tests.logging.probe"
    assert event["task_id"] == result.id
    assert event["campaign_id"] == "c-9"
    assert "stale" not in event
    assert structlog.contextvars.get_contextvars() == {}  # cleared after the task


def test_the_middleware_binds_a_request_id_and_returns_it(capture):
    logger, lines = capture("json")

    def view(request):
        logger.info("in the view")
        return HttpResponse("ok")

    response = RequestContextMiddleware(view)(RequestFactory().get("/campaigns/"))
    event = json.loads(lines()[0])
    assert len(event["request_id"]) == 32
    assert event["path"] == "/campaigns/"
    assert response["X-Request-ID"] == event["request_id"]
    assert structlog.contextvars.get_contextvars() == {}  # cleared at the end


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2c1a9e-7b1d-4c55-9e0f-1a2b3c4d5e6f", True),
        ("req.42_a", True),
        ("x" * 65, False),
        ("two words", False),
        ("id\r\nSet-Cookie: a=b", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_sane(incoming, kept):
    seen = {}

    def view(request):
        seen.update(structlog.contextvars.get_contextvars())
        return HttpResponse("ok")

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID=incoming)
    response = RequestContextMiddleware(view)(request)
    assert response["X-Request-ID"] == seen["request_id"]
    assert (seen["request_id"] == incoming) is kept


@pytest.mark.django_db
def test_the_middleware_is_installed(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="from-the-proxy")
    assert response["X-Request-ID"] == "from-the-proxy"


def test_a_bad_log_format_is_an_error_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"LOG_FORMAT='xml' is not a log format"):
        log_format("xml", debug=False)


@pytest.mark.parametrize(
    ("raw", "debug", "expected"),
    [
        ("", True, "console"),
        ("", False, "json"),
        ("JSON", True, "json"),
        ("console", False, "console"),
    ],
)
def test_log_format_defaults_to_console_in_debug_and_json_otherwise(raw, debug, expected):
    assert log_format(raw, debug=debug) == expected


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    """Run code after django.setup() in a fresh interpreter with the real settings."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings_test")
    clean.setdefault("DATA_DIR", "/tmp/broadcast-settings-test")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


LOG_A_LINE = (
    "import logging; logging.getLogger('campaigns.engine').info("
    "'campaign started', extra={'campaign_id': 'c-1'})"
)


def test_the_settings_log_json_lines_with_log_format_json():
    result = run_django(LOG_A_LINE, LOG_FORMAT="json", DEBUG="true")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    event = json.loads(line)
    assert event["message"] == "campaign started"
    assert event["campaign_id"] == "c-1"
    assert event["logger"] == "campaigns.engine"


def test_the_settings_log_key_value_lines_in_debug_by_default():
    result = run_django(LOG_A_LINE, DEBUG="true")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert "campaign started" in line
    assert "campaign_id=c-1" in line


def test_the_settings_refuse_an_unknown_log_format():
    result = run_django("", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "ImproperlyConfigured: LOG_FORMAT='xml' is not a log format" in result.stderr


def test_sql_stays_out_of_the_logs_and_log_level_sets_the_root(settings):
    assert settings.LOGGING["loggers"]["django.db.backends"]["level"] == "WARNING"
    assert settings.LOGGING["root"]["level"] == settings.LOG_LEVEL
