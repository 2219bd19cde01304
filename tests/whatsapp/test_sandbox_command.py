"""`manage.py whatsapp_sandbox`: flag parsing, config checks, and one real subprocess run."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError

from whatsapp.management.commands.whatsapp_sandbox import Command, config_from_options
from whatsapp.sandbox import SandboxConfig, make_app, parse_range_ms
from whatsapp.sandbox import numbers as sandbox_numbers
from whatsapp.sandbox.catalogue import Catalogue
from whatsapp.sandbox.validation import phone_digits

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> SandboxConfig:
    parser = Command().create_parser("manage.py", "whatsapp_sandbox")
    options = vars(parser.parse_args(list(argv)))
    return config_from_options(options), options


def test_defaults():
    config, options = parse()
    assert options["host"] == "127.0.0.1"
    assert options["port"] == 8025
    assert config.mps == 80
    assert config.latency == (0.0, 0.0)
    assert config.token is None
    assert config.webhook_url is None
    assert not config.webhooks_enabled
    assert config.failing_numbers is True
    assert 0.0 < config.sent_delay[1] <= 1.5


def test_every_flag_is_parsed():
    config, options = parse(
        "--host", "127.0.0.1", "--port", "9001", "--webhook-url", "http://127.0.0.1:8000/w/",
        "--app-secret", "S", "--mps", "1000", "--latency-ms", "20-40", "--seed", "3",
        "--token", "T", "--waba-id", "42", "--read-share", "0.5", "--sent-delay-ms", "10",
        "--delivered-delay-ms", "20-30", "--read-delay-ms", "100-200", "--failed-delay-ms", "5",
        "--batch-max", "7", "--batch-window-ms", "15", "--duplicate-rate", "0.1",
        "--reorder-rate", "0.2", "--retry-base-ms", "100", "--retry-max-ms", "5000",
        "--retry-max-age-s", "60", "--webhook-concurrency", "4", "--webhook-timeout-s", "2",
        "--display-phone-number", "15550001111", "--no-failing-numbers",
    )  # fmt: skip
    assert options["port"] == 9001
    assert config.webhooks_enabled
    assert config.webhook_url == "http://127.0.0.1:8000/w/"
    assert config.app_secret == "S"
    assert config.mps == 1000
    assert config.latency == (0.02, 0.04)
    assert config.seed == 3
    assert config.token == "T"
    assert config.waba_id == "42"
    assert config.read_share == 0.5
    assert config.sent_delay == (0.01, 0.01)
    assert config.delivered_delay == (0.02, 0.03)
    assert config.read_delay == (0.1, 0.2)
    assert config.failed_delay == (0.005, 0.005)
    assert config.batch_max == 7
    assert config.batch_window == 0.015
    assert config.duplicate_rate == 0.1
    assert config.reorder_rate == 0.2
    assert config.retry_base == 0.1
    assert config.retry_max == 5.0
    assert config.retry_max_age == 60
    assert config.webhook_concurrency == 4
    assert config.webhook_timeout == 2
    assert config.display_phone_number == "15550001111"
    assert config.failing_numbers is False
    make_app(config)  # a usable configuration


def test_no_webhooks_wins_over_a_url():
    config, _ = parse("--webhook-url", "http://127.0.0.1:1/", "--no-webhooks")
    assert not config.webhooks_enabled


@pytest.mark.parametrize(
    "argv",
    [
        ["--read-share", "1.5"],
        ["--duplicate-rate", "-0.1"],
        ["--mps", "0"],
        ["--latency-ms", "50-10"],
        ["--sent-delay-ms", "soon"],
        ["--batch-max", "0"],
    ],
)
def test_bad_flags_are_refused(argv):
    with pytest.raises(CommandError):
        parse(*argv)


def test_webhooks_without_a_secret_are_refused():
    with pytest.raises(CommandError, match="app secret"):
        Command().handle(**parse("--webhook-url", "http://127.0.0.1:1/")[1])


def test_parse_range_ms():
    assert parse_range_ms("250") == (0.25, 0.25)
    assert parse_range_ms("100-1500") == (0.1, 1.5)
    with pytest.raises(ValueError, match="MIN-MAX"):
        parse_range_ms("a-b")


def test_phone_digits():
    assert phone_digits("+44 7700-900123") == "447700900123"
    assert phone_digits("(555) 010.9901") == "5550109901"
    assert phone_digits("+1") is None
    assert phone_digits("+1555abc1234") is None
    assert phone_digits("1+5550109901") is None
    assert phone_digits("+１５５５０１０９９０１") is None  # full-width digits


def test_failing_number_table_is_documented():
    import whatsapp.sandbox as package

    for pattern in sandbox_numbers.PATTERNS:
        assert f"`…{pattern.suffix}`" in package.__doc__
    assert sandbox_numbers.behaviour_for("15550109905") == sandbox_numbers.TRANSIENT_UNKNOWN
    assert sandbox_numbers.behaviour_for("15550000001") == sandbox_numbers.OK
    assert sandbox_numbers.behaviour_for("15550109905", enabled=False) == sandbox_numbers.OK
    assert sandbox_numbers.markdown_table().count("\n") == len(sandbox_numbers.PATTERNS) + 1


def test_specs_are_compiled_once():
    catalogue = Catalogue()
    spec = catalogue.get("autumn_sale_2026", "en_GB")
    assert spec.named
    assert spec.header_format == "IMAGE"
    assert spec.body_params == ("first_name", "discount", "end_date")
    assert spec.required_buttons == (0, 3)
    assert catalogue.get("cart_reminder_v2", "en").header_params == ("1",)
    assert catalogue.get("order_shipped", "en_US").required_buttons == (0,)
    assert catalogue.get("store_opening_hours", "en_US").body_params == ()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_serves_over_http():
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "whatsapp_sandbox", "--port", str(port), "--no-webhooks",
         "--token", "tok", "--mps", "5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/__sandbox/health", timeout=1) as resp:
                    health = json.load(resp)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert health["mps"] == 5
        assert health["webhooks"] is False
        request = urllib.request.Request(
            f"{base}/v25.0/123/message_templates?limit=2",
            headers={"Authorization": "Bearer tok"},
        )
        with urllib.request.urlopen(request, timeout=2) as resp:
            body = json.load(resp)
        assert len(body["data"]) == 2
        assert body["paging"]["next"].startswith(f"{base}/v25.0/123/message_templates?")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
