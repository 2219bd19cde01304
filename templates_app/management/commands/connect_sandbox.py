"""`manage.py connect_sandbox --workspace NAME`: connect a workspace to the local WhatsApp
sandbox (idempotent) and queue a template sync, so a new user can send in the first minute."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from templates_app.tasks import templates_sync_account
from whatsapp.models import WhatsAppAccount

SANDBOX_PHONE_NUMBER_ID = "100000000000001"
SANDBOX_WABA_ID = "102290129340398"


class Command(BaseCommand):
    help = "Connect a workspace to the WhatsApp sandbox and queue a template sync."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--app-secret", default="sandbox-app-secret")
        parser.add_argument("--verify-token", default="sandbox-verify-token")
        parser.add_argument("--mps", type=int, default=80, choices=[20, 80, 1000])
        parser.add_argument("--no-sync", action="store_true")

    def handle(self, *args, workspace, app_secret, verify_token, mps, no_sync, **options):
        ws = Workspace.objects.filter(name=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace named {workspace!r}; run bootstrap_workspace first.")
        account, created = WhatsAppAccount.objects.get_or_create(
            phone_number_id=SANDBOX_PHONE_NUMBER_ID,
            defaults={
                "workspace": ws,
                "name": "Sandbox number",
                "waba_id": SANDBOX_WABA_ID,
                "display_phone_number": "15550783881",
                "access_token": "sandbox-access-token",
                "app_secret": app_secret,
                "verify_token": verify_token,
                "throughput": mps,
                "messaging_limit_tier": WhatsAppAccount.Tier.TIER_100K,
            },
        )
        if account.workspace_id != ws.pk:
            raise CommandError("The sandbox number is connected to another workspace.")
        if not created and account.app_secret != app_secret:
            account.app_secret = app_secret
            account.save(update_fields=["app_secret", "updated_at"])
        self.stdout.write(
            ("Connected" if created else "Already connected")
            + f": {account.name} ({account.phone_number_id})"
        )
        if not no_sync:
            # The sandbox starts with the other processes; the task retries until it answers.
            templates_sync_account.apply_async((str(account.pk), True), countdown=3)
