"""Clicks on campaign messages (docs/clicks.md): Broadcast's tracked link and Meta's events.

- `click_token` / `click_target`: the opaque suffix of a tracked URL button
  (`<PUBLIC_URL>/r/{{1}}`), one per recipient and button. The send path calls `click_token`
  for every message, so it is pure computation: no database, no Redis.
- `redirect_click`: `GET /r/<token>` records the click once per recipient and button and
  gives the row's `button_<i>_destination_url` (http or https only).
- `meta_clicks_apply`: Meta's `user_actions` webhook items, each stored once (by account,
  action type and click id), attributed to a recipient only when its tracking token is ours.

Either source sets `Recipient.clicked_at` (the earliest click seen), and the first one moves
`Campaign.clicked_count` in the same transaction: a recipient counts once whatever it clicked,
how often, in which order with its status webhooks. Clicks never change a recipient's
`status`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from whatsapp import callback
from whatsapp.webhook_payload import UserActionItem, clean_json

from ..models import Click, Recipient
from ..models_numbers import sent_from
from .counters import counters_apply

if TYPE_CHECKING:
    from .statuses import CounterDeltas

logger = logging.getLogger(__name__)

# --- tokens ---------------------------------------------------------------------------------
# 20 bytes, base64url without padding: 27 characters. A version byte, then the recipient id
# (8 bytes) and button index (1 byte) XORed with a keystream derived from the tag, then the
# tag (HMAC-SHA256 of version, id and button, truncated to 80 bits). Deterministic (the same
# recipient and button always give the same token), unforgeable without SECRET_KEY, and the
# recipient id is not readable in it. An 80-bit tag is ample when every guess is a request.
VERSION = 1
TAG_BYTES = 10
TOKEN_LENGTH = 27
_TOKEN = re.compile(r"[A-Za-z0-9_-]{27}")
_MAX_ID = 2**63  # a bigint key
LINK_CLICK = "marketing_messages_link_click"  # the action that counts as a click
REDIRECT = "redirect"  # Click.action_type of Broadcast's own link
SCHEMES = ("http", "https")
DESTINATION_MAX = 2000


@lru_cache(maxsize=8)
def _keys(secret: str) -> tuple[bytes, bytes]:
    """(tag key, mask key) derived from one SECRET_KEY (cached: the send path is hot)."""
    base = hashlib.sha256(b"broadcast.clicks.v1\x00" + secret.encode()).digest()
    return (
        hmac.digest(base, b"tag", hashlib.sha256),
        hmac.digest(base, b"mask", hashlib.sha256),
    )


def _seal(secret: str, plain: bytes) -> tuple[bytes, bytes]:
    tag_key, mask_key = _keys(secret)
    tag = hmac.digest(tag_key, plain, hashlib.sha256)[:TAG_BYTES]
    mask = hmac.digest(mask_key, tag, hashlib.sha256)
    return bytes(a ^ b for a, b in zip(plain[1:], mask, strict=False)), tag


def click_token(recipient_id: int, button_index: int) -> str:
    """The opaque, URL-safe token (27 characters) of one recipient's URL button."""
    if not 0 <= recipient_id < _MAX_ID or not 0 <= button_index <= 255:
        raise ValueError("recipient_id must be a bigint key and button_index 0..255")
    plain = bytes((VERSION,)) + recipient_id.to_bytes(8, "big") + bytes((button_index,))
    masked, tag = _seal(settings.SECRET_KEY, plain)
    raw = bytes((VERSION,)) + masked + tag
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def click_target(token: str) -> tuple[int, int] | None:
    """(recipient_id, button_index) of a token `click_token` made, with this SECRET_KEY or
    one of SECRET_KEY_FALLBACKS; None for anything else. Never raises."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 20 or raw[0] != VERSION:
        return None
    masked, tag = raw[1:10], raw[10:]
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        _, mask_key = _keys(secret)
        mask = hmac.digest(mask_key, tag, hashlib.sha256)
        plain = bytes((VERSION,)) + bytes(a ^ b for a, b in zip(masked, mask, strict=False))
        tag_key, _ = _keys(secret)
        if hmac.compare_digest(hmac.digest(tag_key, plain, hashlib.sha256)[:TAG_BYTES], tag):
            recipient_id = int.from_bytes(plain[1:9], "big")
            if recipient_id >= _MAX_ID:
                return None
            return recipient_id, plain[9]
    return None


# --- the redirect ---------------------------------------------------------------------------


def destination_url(values, button_index: int) -> str | None:
    """The row's `button_<i>_destination_url` when it is an absolute http(s) URL (never
    javascript:, data:, a relative path or anything with control characters)."""
    url = values.get(f"button_{button_index}_destination_url") if isinstance(values, dict) else None
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > DESTINATION_MAX or any(c < " " or c == "\x7f" for c in url):
        return None
    if "\\" in url:  # browsers read a backslash as a slash: https:\\evil.example
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in SCHEMES or not parts.netloc or not host:
        return None
    return url


def redirect_click(token: str, *, now: datetime | None = None, record: bool = True) -> str | None:
    """Where `GET /r/<token>` sends the person, recording the click (once per recipient and
    button; the recipient's first click sets `clicked_at` and counts it). None → 404: a token
    that is not ours, a recipient or campaign that is gone, no usable destination."""
    target = click_target(token)
    if target is None:
        return None
    recipient_id, button_index = target
    row = (
        Recipient.objects.filter(pk=recipient_id)
        .values_list("campaign_id", Coalesce("number_id", "campaign__account_id"), "values")
        .first()
    )
    if row is None:
        return None
    campaign_id, account_id, values = row
    url = destination_url(values, button_index)
    if url is None:
        logger.info(
            "tracked link without a usable destination",
            extra={"recipient_id": recipient_id, "button_index": button_index},
        )
        return None
    if record:
        try:
            _record_redirect(
                account_id=account_id,
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                button_index=button_index,
                now=now or timezone.now(),
            )
        except IntegrityError:  # the campaign was deleted meanwhile (its key, at commit)
            return None
    return url


def _record_redirect(*, account_id, campaign_id, recipient_id, button_index, now) -> None:
    with transaction.atomic():
        try:
            # Alone in a savepoint: a concurrent GET of the same link waits on the unique
            # index (click_redirect_once) and fails here, so the click counts once.
            with transaction.atomic():
                Click.objects.create(
                    account_id=account_id,
                    campaign_id=campaign_id,
                    recipient_id=recipient_id,
                    source=Click.Source.REDIRECT,
                    action_type=REDIRECT,
                    button_index=button_index,
                    occurred_at=now,
                )
        except IntegrityError:
            return  # this recipient's click on this button is recorded already
        recipients_mark_clicked([(recipient_id, campaign_id, now)])


# --- Meta's click events --------------------------------------------------------------------


def token_recipient(token: str) -> int | None:
    """The recipient a tracking token names, if it is ours: one of our click tokens, or the
    `biz_opaque_callback_data` we sent (whatsapp.callback)."""
    target = click_target(token)
    if target is not None:
        return target[0]
    return callback.decode(token)


def meta_clicks_apply(
    *, account_id, items: list[UserActionItem], counters: CounterDeltas | None = None
) -> int:
    """Store Meta's `user_actions` items for the account the webhook came for, once each
    (Meta redelivers), and count the recipients whose first click they are. Call inside a
    transaction; the campaign counters move through `counters` when given (the drain
    applies them last), else at once. Returns how many recipients were counted."""
    if not items:
        return 0
    named = {i.tracking_token: token_recipient(i.tracking_token) for i in items}
    wanted = {rid for rid in named.values() if rid is not None}
    # Only a recipient of this account's campaigns: a token naming another account's
    # recipient (or a guessed callback value) attributes nothing.
    campaigns = dict(
        Recipient.objects.filter(sent_from(account_id), id__in=wanted).values_list(
            "id", "campaign_id"
        )
        if wanted
        else ()
    )
    rows: list[Click] = []
    firsts: dict[int, tuple[object, datetime]] = {}
    for item in items:
        recipient_id = named[item.tracking_token]
        campaign_id = campaigns.get(recipient_id) if recipient_id is not None else None
        if campaign_id is None:  # not ours, or not this account's
            recipient_id = None
        rows.append(
            Click(
                account_id=account_id,
                campaign_id=campaign_id,
                recipient_id=recipient_id,
                source=Click.Source.META,
                action_type=item.action_type,
                click_id=item.click_id,
                tracking_token=item.tracking_token,
                click_component=item.click_component,
                product_id=item.product_id,
                occurred_at=item.timestamp,
                payload=clean_json(item.raw),
            )
        )
        if recipient_id is not None and item.action_type == LINK_CLICK:
            earlier = firsts.get(recipient_id)
            if earlier is None or item.timestamp < earlier[1]:
                firsts[recipient_id] = (campaign_id, item.timestamp)
    # ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite): a redelivered click is a no-op.
    Click.objects.bulk_create(rows, ignore_conflicts=True)
    marks = [(rid, campaign_id, at) for rid, (campaign_id, at) in firsts.items()]
    counted = recipients_mark_clicked(marks, counters=counters)
    unattributed = sum(1 for r in rows if r.campaign_id is None)
    if unattributed:
        logger.info(
            "click events not attributed",
            extra={"account_id": str(account_id), "count": unattributed},
        )
    return counted


def recipients_mark_clicked(
    marks: Iterable[tuple[int, object, datetime]], *, counters: CounterDeltas | None = None
) -> int:
    """Set `clicked_at` on the recipients (id, campaign id, when) that have none yet, and
    count them in their campaigns. Conditional, so that two sources or two drains racing
    count a recipient once; in id order, the order every writer locks recipients in. A
    click older than the one recorded (Meta's events come late, in any order) moves
    `clicked_at` back to it without counting again: it is the earliest click seen."""
    by_campaign: Counter = Counter()
    for recipient_id, campaign_id, at in sorted(marks, key=lambda m: m[0]):
        row = Recipient.objects.filter(id=recipient_id)
        if row.filter(clicked_at__isnull=True).update(clicked_at=at):
            by_campaign[campaign_id] += 1
        else:
            row.filter(clicked_at__gt=at).update(clicked_at=at)
    for campaign_id, n in sorted(by_campaign.items(), key=lambda c: str(c[0])):
        if counters is not None:
            counters.clicked[campaign_id] += n
        else:
            counters_apply(campaign_id=campaign_id, deltas={}, clicked=n)
    return sum(by_campaign.values())
