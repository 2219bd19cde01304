"""The state of one sandbox process, shared by every handler: `Sandbox` and its app key.

It owns the catalogue, the ledger of sends, the webhook dispatcher and the id counters, and
the few rules every Graph API handler shares (bearer token, error responses, latency, the
synchronous failures of the failing-number table).
"""

import asyncio
import itertools
import os
import random
import time

from aiohttp import web

from . import numbers
from .catalogue import Catalogue
from .config import DEFAULT_WABA_ID, SandboxConfig
from .graph_errors import DEFAULT_DETAILS, GraphError
from .state import Ledger
from .webhooks import WebhookDispatcher

JSON = "application/json"


class Sandbox:
    def __init__(self, config: SandboxConfig):
        config.validate()
        self.config = config
        self.rng = random.Random(config.seed)
        self.catalogue = Catalogue()
        self.ledger = Ledger(config.mps)
        # WABA ids that listed templates, most recent last (kept across resets: they are the
        # installation's accounts, not test state).
        self.known_wabas: dict[str, None] = {}
        self.last_phone_number_id: str | None = None
        # What GET /{phone-number-id} reports beyond its defaults (POST /__sandbox/number).
        self.number: dict = {}
        # Whether the number may send through the Marketing Messages API (its business accepted
        # the terms): POST /__sandbox/number {"marketing_messages_onboarded": false} turns it off.
        self.marketing_onboarded = True
        # Template pacing (POST /__sandbox/templates/{name}/pace): how many more sends of each
        # template are held, and the held ones (their webhooks wait for a release).
        self.pacing: dict[str, int] = {}
        self.held: dict[str, list[tuple]] = {}
        self.dispatcher = (
            WebhookDispatcher(config, self.rng, self.status_waba_id)
            if config.webhooks_enabled
            else None
        )
        # wamids must stay unique across restarts (the app has a unique index on them), so
        # this prefix is random even when --seed makes everything else deterministic.
        self._run = os.urandom(5).hex().upper()
        self._wamids = itertools.count(1)
        self._traces = itertools.count(1)
        self.started = time.time()

    # --- identities -------------------------------------------------------------------------

    def new_wamid(self) -> str:
        return f"wamid.HBgL{self._run}{next(self._wamids):014X}"

    def status_waba_id(self) -> str:
        """entry[].id of status webhooks: --waba-id, else the last WABA that listed templates."""
        if self.config.waba_id:
            return self.config.waba_id
        return next(reversed(self.known_wabas), DEFAULT_WABA_ID)

    def template_waba_ids(self) -> list[str]:
        """Every WABA a template status webhook goes to (the catalogue is shared)."""
        if self.config.waba_id:
            return [self.config.waba_id]
        return list(self.known_wabas) or [DEFAULT_WABA_ID]

    def remember_waba(self, waba_id: str) -> None:
        self.known_wabas.pop(waba_id, None)
        self.known_wabas[waba_id] = None

    # --- shared pieces of the Graph API handlers --------------------------------------------

    def check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        else:
            token = request.query.get("access_token", "")
        if not token:
            raise GraphError(190, "An access token is required to request this resource.")
        if self.config.token is not None and token != self.config.token:
            raise GraphError(190, "Error validating access token: the token is not valid.")

    def error_response(self, exc: GraphError) -> web.Response:
        self.ledger.reject(exc.code)
        headers = None
        if exc.code == 190:
            headers = {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'}
        return web.Response(
            status=exc.http_status,
            body=exc.body(f"Sbx{self._run}{next(self._traces):08X}"),
            content_type=JSON,
            headers=headers,
        )

    async def latency(self) -> None:
        low, high = self.config.latency
        if high > 0:
            await asyncio.sleep(low if low == high else self.rng.uniform(low, high))

    def forced_failure(self, template_name: str) -> None:
        """Raise the error a failure mode switched on through /__sandbox/ calls for."""
        failing = self.ledger.template_failures.get(template_name)
        if failing is not None:
            raise GraphError(*failing)
        burst = self.ledger.burst
        if burst:
            code = burst[0]
            burst[1] -= 1
            if burst[1] <= 0:
                self.ledger.burst = []
            raise GraphError(code, DEFAULT_DETAILS.get(code, "Burst of errors from the sandbox."))

    def sync_failure(self, behaviour: str, to: str, digits: str) -> None:
        """Raise the synchronous error a failing number gets, if it gets one."""
        if behaviour == numbers.SYNC_INVALID_TO:
            raise GraphError(
                131009, f"The recipient phone number {to} is not a valid WhatsApp phone number."
            )
        if behaviour == numbers.SYNC_STOPPED_MARKETING:
            raise GraphError(
                131050,
                f"The recipient {to} has chosen to stop receiving marketing messages on "
                "WhatsApp from your business.",
            )
        if behaviour == numbers.PERSISTENT_ERROR:
            raise GraphError(1, "Invalid request or possible server error.")
        if behaviour == numbers.SYNC_BAD_PARAMETER:
            raise GraphError(131009, "Parameter 'text' of body component is not valid.")
        if behaviour in (numbers.TRANSIENT_UNKNOWN, numbers.TRANSIENT_UNAVAILABLE):
            if digits in self.ledger.transient_seen:
                return
            self.ledger.transient_seen.add(digits)
            if behaviour == numbers.TRANSIENT_UNKNOWN:
                raise GraphError(131000, "An unknown error occurred. Please retry the request.")
            raise GraphError(131016, "A service is temporarily unavailable. Please retry.")

    def reset(self) -> None:
        self.ledger.reset()
        self.catalogue.reset()
        self.last_phone_number_id = None
        self.number = {}
        self.marketing_onboarded = True
        self.pacing, self.held = {}, {}
        if self.dispatcher is not None:
            self.dispatcher.reset()


SANDBOX = web.AppKey("sandbox", Sandbox)
