"""Which account a webhook is for, and its app secret: a small per-process cache.

Every POST needs the app secret of the account it names, and secrets are encrypted at rest;
a query plus a Fernet decryption per POST would cost more than the rest of the receiver. So
each process keeps every account's routing ids and decrypted secret for a while (accounts are
few). A miss or a signature mismatch reloads at once (at most once a second, so a flood of
bogus POSTs cannot turn into a flood of queries); saves and deletes in this process clear it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field

from whatsapp.models import WhatsAppAccount

TTL_SECONDS = 60.0
MIN_RELOAD_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: object
    workspace_id: object
    phone_number_id: str
    waba_id: str
    secret: bytes


@dataclass(slots=True)
class Directory:
    by_phone: dict[str, AccountRef] = field(default_factory=dict)
    by_waba: dict[str, list[AccountRef]] = field(default_factory=dict)
    by_id: dict[object, AccountRef] = field(default_factory=dict)
    loaded_at: float = 0.0


_lock = threading.Lock()
_current: Directory | None = None


def _load() -> Directory:
    directory = Directory(loaded_at=time.monotonic())
    fields = ("id", "workspace", "phone_number_id", "waba_id", "app_secret")
    for account in WhatsAppAccount.objects.only(*fields):
        if not account.app_secret:
            continue
        ref = AccountRef(
            id=account.id,
            workspace_id=account.workspace_id,
            phone_number_id=account.phone_number_id,
            waba_id=account.waba_id,
            secret=account.app_secret.encode(),
        )
        directory.by_phone[ref.phone_number_id] = ref
        directory.by_waba.setdefault(ref.waba_id, []).append(ref)
        directory.by_id[ref.id] = ref
    return directory


def get_directory() -> Directory:
    global _current
    current = _current
    if current is None or time.monotonic() - current.loaded_at > TTL_SECONDS:
        with _lock:
            current = _load()
            _current = current
    return current


def reload_directory() -> Directory | None:
    """Reload now unless the cache is under a second old; None when it was not reloaded."""
    global _current
    current = _current
    if current is not None and time.monotonic() - current.loaded_at < MIN_RELOAD_SECONDS:
        return None
    with _lock:
        current = _load()
        _current = current
    return current


def clear_directory(**_kwargs) -> None:
    """Forget the cache (connected to WhatsAppAccount saves and deletes in WebhooksConfig)."""
    global _current
    _current = None


def candidates(directory: Directory, *, phone_ids: set[str], waba_ids: set[str]) -> list:
    """The accounts a payload may be for: by phone number id when it names one (statuses,
    messages), else by WABA id (template updates; several numbers may share a WABA)."""
    if phone_ids:
        return [directory.by_phone[p] for p in sorted(phone_ids) if p in directory.by_phone]
    found: list[AccountRef] = []
    for waba_id in sorted(waba_ids):
        found.extend(directory.by_waba.get(waba_id, ()))
    return found


def all_accounts(directory: Directory) -> list[AccountRef]:
    return list(directory.by_id.values())


def signature_matches(secret: bytes, body: bytes, signature_hex: str) -> bool:
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature_hex.encode())


def first_signer(accounts: list[AccountRef], body: bytes, signature_hex: str):
    """The first account whose app secret produced `signature_hex` over `body`, or None.

    Accounts of one Meta app share a secret, so each distinct secret is hashed once.
    """
    checked: dict[bytes, bool] = {}
    for account in accounts:
        ok = checked.get(account.secret)
        if ok is None:
            ok = checked[account.secret] = signature_matches(account.secret, body, signature_hex)
        if ok:
            return account
    return None
