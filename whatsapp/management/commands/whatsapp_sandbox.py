"""`manage.py whatsapp_sandbox`: run the local stand-in for Meta's Cloud API.

`python manage.py whatsapp_sandbox --port 8025 --webhook-url URL --app-secret S --mps 80`.
The behaviour lives in whatsapp/sandbox/ (see its package docstring for the endpoints and
the failing-number table); this command only parses flags and runs the aiohttp app.
"""

import argparse
import logging

from aiohttp import web
from django.core.management.base import BaseCommand, CommandError

from whatsapp.sandbox import SandboxConfig, make_app, parse_range_ms


def _ms_range(text: str):
    try:
        return parse_range_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def config_from_options(options: dict) -> SandboxConfig:
    return SandboxConfig(
        mps=options["mps"],
        latency=options["latency_ms"],
        token=options["token"] or None,
        seed=options["seed"],
        failing_numbers=not options["no_failing_numbers"],
        webhook_url=options["webhook_url"] or None,
        app_secret=options["app_secret"] or "",
        webhooks=not options["no_webhooks"],
        waba_id=options["waba_id"] or None,
        display_phone_number=options["display_phone_number"],
        read_share=options["read_share"],
        sent_delay=options["sent_delay_ms"],
        delivered_delay=options["delivered_delay_ms"],
        read_delay=options["read_delay_ms"],
        failed_delay=options["failed_delay_ms"],
        batch_max=options["batch_max"],
        batch_window=options["batch_window_ms"] / 1000.0,
        duplicate_rate=options["duplicate_rate"],
        reorder_rate=options["reorder_rate"],
        retry_base=options["retry_base_ms"] / 1000.0,
        retry_max=options["retry_max_ms"] / 1000.0,
        retry_max_age=options["retry_max_age_s"],
        webhook_concurrency=options["webhook_concurrency"],
        webhook_timeout=options["webhook_timeout_s"],
    )


class Command(BaseCommand):
    help = "Run the WhatsApp sandbox: a local stand-in for Meta's Cloud API."

    def add_arguments(self, parser):
        d = SandboxConfig()
        server = parser.add_argument_group("server")
        server.add_argument("--host", default="127.0.0.1")
        server.add_argument("--port", type=int, default=8025)
        server.add_argument(
            "--mps",
            type=_positive_int,
            default=d.mps,
            help="accepted sends per second per phone number id (sliding window); "
            "more get error 130429",
        )
        server.add_argument(
            "--latency-ms",
            type=_ms_range,
            default=(0.0, 0.0),
            help="latency added to Graph API responses: N or MIN-MAX milliseconds",
        )
        server.add_argument("--seed", type=int, default=None, help="seed for all randomness")
        server.add_argument(
            "--token", default=None, help="accept only this bearer token (default: any)"
        )
        server.add_argument(
            "--no-failing-numbers",
            action="store_true",
            help="treat numbers ending in 9901-9910 like any other number",
        )
        server.add_argument(
            "--access-log", action="store_true", help="log every request (slows it down)"
        )

        hooks = parser.add_argument_group("webhooks")
        hooks.add_argument("--webhook-url", default=None)
        hooks.add_argument("--app-secret", default=None, help="key of X-Hub-Signature-256")
        hooks.add_argument("--no-webhooks", action="store_true", help="post no webhooks at all")
        hooks.add_argument(
            "--waba-id",
            default=None,
            help="entry[].id of webhooks (default: the WABA ids that listed templates)",
        )
        hooks.add_argument("--display-phone-number", default=d.display_phone_number)
        hooks.add_argument(
            "--read-share",
            type=_fraction,
            default=d.read_share,
            help="fraction of delivered messages that get read",
        )
        for name, value, what in (
            ("sent", d.sent_delay, "after acceptance"),
            ("delivered", d.delivered_delay, "after sent"),
            ("read", d.read_delay, "after delivered"),
            ("failed", d.failed_delay, "after acceptance"),
        ):
            hooks.add_argument(
                f"--{name}-delay-ms",
                type=_ms_range,
                default=value,
                help=f"delay of '{name}' {what}: N or MIN-MAX milliseconds "
                f"(default {value[0] * 1000:g}-{value[1] * 1000:g})",
            )
        hooks.add_argument(
            "--batch-max", type=_positive_int, default=d.batch_max, help="statuses per POST"
        )
        hooks.add_argument(
            "--batch-window-ms",
            type=float,
            default=d.batch_window * 1000,
            help="statuses due within this window go into the same POST",
        )
        hooks.add_argument(
            "--duplicate-rate",
            type=_fraction,
            default=d.duplicate_rate,
            help="share of messages with a status posted twice, and of POSTs posted twice",
        )
        hooks.add_argument(
            "--reorder-rate",
            type=_fraction,
            default=d.reorder_rate,
            help="share of messages whose last two statuses are posted in reverse order",
        )
        hooks.add_argument("--retry-base-ms", type=float, default=d.retry_base * 1000)
        hooks.add_argument("--retry-max-ms", type=float, default=d.retry_max * 1000)
        hooks.add_argument(
            "--retry-max-age-s",
            type=float,
            default=d.retry_max_age,
            help="a POST still unanswered after this long is dropped",
        )
        hooks.add_argument(
            "--webhook-concurrency",
            type=_positive_int,
            default=d.webhook_concurrency,
            help="POSTs in flight (connection limit)",
        )
        hooks.add_argument("--webhook-timeout-s", type=float, default=d.webhook_timeout)

    def handle(self, *args, **options):
        try:
            config = config_from_options(options)
            app = make_app(config)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        host, port = options["host"], options["port"]
        hooks = f"webhooks -> {config.webhook_url}" if config.webhooks_enabled else "webhooks off"
        failing = (
            "numbers ending in 9901-9910 fail on purpose (docs/sandbox.md)"
            if config.failing_numbers
            else "no failing numbers"
        )
        self.stdout.write(
            f"WhatsApp sandbox on http://{host}:{port} (mps={config.mps}, {hooks}, {failing})"
        )
        access_log = logging.getLogger("aiohttp.access") if options["access_log"] else None
        web.run_app(
            app, host=host, port=port, access_log=access_log, print=None, shutdown_timeout=5
        )
