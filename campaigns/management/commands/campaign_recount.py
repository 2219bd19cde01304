"""`manage.py campaign_recount [CAMPAIGN_ID ...] [--all] [--dry-run]`."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.tracking import campaign_recount


class Command(BaseCommand):
    help = (
        "Rebuild campaigns' counters from their recipients (the repair tool), printing each "
        "counter that was wrong with its stored and recounted values."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "campaign_ids", nargs="*", metavar="CAMPAIGN_ID", help="a campaign's id"
        )
        parser.add_argument("--all", action="store_true", dest="every", help="every campaign")
        parser.add_argument(
            "--dry-run", action="store_true", help="only print what is wrong; change nothing"
        )

    def handle(self, *args, campaign_ids, every, dry_run, verbosity, **options):
        if every and campaign_ids:
            raise CommandError("Name the campaigns to recount or give --all, not both.")
        if not every and not campaign_ids:
            raise CommandError("Name the campaigns to recount (CAMPAIGN_ID ...), or give --all.")
        if every:
            campaigns = list(Campaign.objects.order_by("created_at").values_list("pk", "name"))
        else:
            campaigns = self._named(campaign_ids)
        wrong_campaigns = 0
        for pk, name in campaigns:
            try:
                wrong = campaign_recount(campaign_id=pk, dry_run=dry_run)
            except Campaign.DoesNotExist:
                self.stderr.write(f"{name} ({pk}): deleted meanwhile, skipped.")
                continue
            if wrong:
                wrong_campaigns += 1
                changes = ", ".join(f"{col} {old} -> {new}" for col, (old, new) in wrong.items())
                self.stdout.write(f"{name} ({pk}): {changes}")
            elif verbosity >= 2:
                self.stdout.write(f"{name} ({pk}): counters match the recipients.")
        summary = f"Recounted {len(campaigns)} campaign(s): {wrong_campaigns} had wrong counters"
        if not wrong_campaigns:
            summary += "."
        elif dry_run:
            summary += " (dry run: nothing changed)."
        else:
            summary += ", now fixed."
        self.stdout.write(summary)

    def _named(self, values: list[str]) -> list[tuple]:
        ids = []
        for value in values:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise CommandError(f"{value!r} is not a campaign id (a UUID).") from None
        names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
        unknown = [str(i) for i in ids if i not in names]
        if unknown:
            raise CommandError(f"No campaign with id {', '.join(unknown)}.")
        return [(i, names[i]) for i in dict.fromkeys(ids)]
