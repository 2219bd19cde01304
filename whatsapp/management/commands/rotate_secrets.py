"""`manage.py rotate_secrets`: re-encrypt stored WhatsApp secrets with the newest key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY (`NEW,OLD`), run this command, then
drop the old key.
"""

from django.core.management.base import BaseCommand

from whatsapp.services import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt every WhatsApp account's secrets with the first FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        count = secrets_rotate()
        self.stdout.write(f"Re-encrypted the secrets of {count} WhatsApp account(s).")
