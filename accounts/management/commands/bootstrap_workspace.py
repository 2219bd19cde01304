"""`manage.py bootstrap_workspace --workspace NAME --username U --password P`."""

from django.core.management.base import BaseCommand, CommandError

from accounts.services import BootstrapClash, workspace_bootstrap


class Command(BaseCommand):
    help = "Idempotently create a user, a workspace and the user's owner membership."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--superuser", action="store_true", help="also give the user access to /admin/"
        )

    def handle(self, *args, workspace, username, password, superuser, **options):
        if not workspace.strip() or not username.strip():
            raise CommandError("--workspace and --username must not be empty.")
        try:
            result = workspace_bootstrap(
                workspace_name=workspace.strip(),
                username=username.strip(),
                password=password,
                superuser=superuser,
            )
        except BootstrapClash as exc:
            raise CommandError(str(exc)) from exc
        if result.changed:
            self.stdout.write(
                f"Created: user={result.created_user} "
                f"workspace={result.created_workspace} "
                f"membership={result.created_membership}"
            )
        else:
            self.stdout.write("Nothing to do: user, workspace and membership already exist.")
