"""WhatsApp secrets are encrypted at rest."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from whatsapp.crypto import mask
from whatsapp.models import WhatsAppAccount

from ..factories import WhatsAppAccountFactory

pytestmark = pytest.mark.django_db


def raw_row(account_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, app_secret, verify_token FROM whatsapp_whatsappaccount "
            "WHERE id = %s",
            [account_id.hex if connection.vendor == "sqlite" else account_id],
        )
        return cursor.fetchone()


def test_the_database_never_holds_the_plain_secret():
    account = WhatsAppAccountFactory(
        access_token="EAAG-very-secret-token", app_secret="app-secret-xyz", verify_token="vt-123"
    )
    stored = raw_row(account.id)
    assert stored is not None
    for plain, raw in zip(
        ("EAAG-very-secret-token", "app-secret-xyz", "vt-123"), stored, strict=True
    ):
        assert plain not in raw
        assert raw.startswith("gAAAA")  # a Fernet token
    fresh = WhatsAppAccount.objects.get(pk=account.pk)
    assert fresh.access_token == "EAAG-very-secret-token"
    assert fresh.app_secret == "app-secret-xyz"


def test_keys_can_be_rotated(settings):
    account = WhatsAppAccountFactory(access_token="old-key-token")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{settings.FIELD_ENCRYPTION_KEY}"
    # still readable with the old key second in line
    assert WhatsAppAccount.objects.get(pk=account.pk).access_token == "old-key-token"


def test_mask_shows_only_the_last_four_characters():
    assert mask("EAAG-very-secret-1a2b") == "••••1a2b"
    assert mask("short") == "••••"
    assert mask("") == ""
