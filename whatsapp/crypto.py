"""Encryption at rest for WhatsApp secrets (Fernet, keys from FIELD_ENCRYPTION_KEY).

FIELD_ENCRYPTION_KEY holds one or more comma-separated Fernet keys, newest first: values are
encrypted with the first and decrypted with any, so keys can be rotated (`manage.py
rotate_secrets` re-encrypts every row with the newest key). In DEBUG, with no key set, a key is
derived from SECRET_KEY so that `make run` works with nothing configured; settings refuse to
start without a key in production.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _keys() -> tuple[str, ...]:
    raw = settings.FIELD_ENCRYPTION_KEY
    if raw:
        return tuple(k.strip() for k in raw.split(",") if k.strip())
    if not settings.DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is required when DEBUG is off.")
    digest = hashlib.sha256(("field-encryption:" + settings.SECRET_KEY).encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be url-safe base64-encoded 32-byte Fernet keys."
        ) from exc


def encrypt(value: str) -> str:
    return _fernet(_keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY (wrong or rotated key?)."
        ) from exc


def rotate(token: str) -> str:
    return _fernet(_keys()).rotate(token.encode()).decode()


def mask(value: str) -> str:
    """How a secret reads back: its last four characters only."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"


class EncryptedTextField(models.TextField):
    """A text column whose database value is a Fernet token, never the plain secret."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
