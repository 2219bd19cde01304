"""The receiving end of Meta's webhooks: the verification handshake, and the POST, which is
checked, stored and answered at once (docs/whatsapp.md §5.1, §5.2, §5.7).

A POST is stored only when its `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body under
the app secret of an account it names (by phone number id, or by WABA id for template
updates). A body that is not a webhook payload but is signed by one of our accounts is stored
as REJECTED and still answered 200: Meta would otherwise retry it for days. Processing happens
later, in the drain (`drain.py`), triggered after the commit (`store.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from whatsapp import webhook_payload as payload
from whatsapp.models import WhatsAppAccount

from ..models import WebhookEvent
from .directory import (
    all_accounts,
    candidates,
    first_signer,
    get_directory,
    reload_directory,
)
from .store import NewEvent, event_store

logger = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True, slots=True)
class Receipt:
    status_code: int
    event_id: int | None = None
    reason: str = ""


def webhook_verify(*, mode: str | None, token: str | None, challenge: str | None) -> str | None:
    """The challenge to echo when `token` is some account's verify token, else None.

    Tokens are encrypted at rest, so each is decrypted and compared in constant time; every
    account is compared (no early exit), there are few.
    """
    if mode != "subscribe" or not token or challenge is None:
        return None
    given = token.encode()
    matched = False
    for stored in WhatsAppAccount.objects.exclude(verify_token="").values_list(
        "verify_token", flat=True
    ):
        matched |= hmac.compare_digest(given, stored.encode())
    return challenge if matched else None


def webhook_receive(*, body: bytes, signature: str | None) -> Receipt:
    """Check and store one POST; the status code is what to answer Meta."""
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return Receipt(413, reason="body too large")
    if not signature:
        return Receipt(401, reason="missing X-Hub-Signature-256")
    signature = signature.strip()
    hex_digest = signature[len(SIGNATURE_PREFIX) :].lower()
    if not signature.startswith(SIGNATURE_PREFIX) or len(hex_digest) != 64:
        return Receipt(403, reason="malformed X-Hub-Signature-256")

    problem = ""
    phone_ids: set[str] = set()
    waba_ids: set[str] = set()
    try:
        phone_ids, waba_ids = payload.identify(payload.load(body))
        if not phone_ids and not waba_ids:
            problem = "the payload names no phone number id and no WABA id"
    except payload.MalformedPayload as exc:
        problem = str(exc)[:500]

    signer = _signer(body, hex_digest, phone_ids, waba_ids)
    if signer is None:
        logger.warning(
            "webhook refused: no account's app secret matches the signature",
            extra={"phone_number_ids": sorted(phone_ids), "waba_ids": sorted(waba_ids)},
        )
        return Receipt(403, reason="signature does not match a known account")

    event_id = event_store(
        NewEvent(
            account_id=signer.id,
            body=body,
            body_sha256=hashlib.sha256(body).hexdigest(),
            received_at=timezone.now(),
            status=WebhookEvent.Status.REJECTED if problem else WebhookEvent.Status.PENDING,
            error=problem,
        )
    )
    if problem:
        logger.warning(
            "malformed webhook stored as rejected",
            extra={"event_id": event_id, "account_id": str(signer.id), "reason": problem},
        )
    return Receipt(200, event_id, problem)


def _signer(body: bytes, hex_digest: str, phone_ids: set[str], waba_ids: set[str]):
    """The account whose secret signed the body; the cache is reloaded once on a miss (a new
    account, a rotated secret)."""
    directory = get_directory()
    for _ in range(2):
        if phone_ids or waba_ids:
            accounts = candidates(directory, phone_ids=phone_ids, waba_ids=waba_ids)
        else:
            # A body that names nobody: any of our secrets may have signed it.
            accounts = all_accounts(directory)
        signer = first_signer(accounts, body, hex_digest)
        if signer is not None:
            return signer
        reloaded = reload_directory()
        if reloaded is None:
            return None
        directory = reloaded
    return None
