"""The engine benchmark's data: the bench database emptied, the two draft campaigns
(N_MAIN and N_MEMORY recipients) created."""

from bench.engine_params import N_MAIN, N_MEMORY, VALUES


def reset_database() -> None:
    from django.core.management import call_command
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not str(name).endswith("bench_engine"):
        raise RuntimeError(f"refusing to empty {name!r}: not a *bench_engine PostgreSQL database")
    call_command("flush", interactive=False, verbosity=0)


def create_campaigns():
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Workspace
    from templates_app.models import MessageTemplate
    from whatsapp.models import WhatsAppAccount
    from whatsapp.sandbox.builtin_templates import TEMPLATES

    # As a template sync from the sandbox stores it: 4 positional body parameters.
    shape = next(t for t in TEMPLATES if (t["name"], t["language"]) == ("delivery_window", "en_US"))
    user = get_user_model().objects.create(username="bench-engine")
    workspace = Workspace.objects.create(name="bench-engine")
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    campaigns = []
    for n, size in enumerate((N_MAIN, N_MEMORY)):
        account = WhatsAppAccount.objects.create(
            workspace=workspace,
            name=f"bench {n}",
            waba_id=f"70000000000000{n}",
            phone_number_id=f"80000000000000{n}",
            access_token="bench-token",
            app_secret="bench-secret",
            throughput=1000,
            messaging_limit_tier="unlimited",
        )
        template = MessageTemplate.objects.create(
            workspace=workspace,
            account=account,
            meta_id=shape["id"],
            name=shape["name"],
            language=shape["language"],
            status="APPROVED",
            category=shape["category"],
            parameter_format=shape["parameter_format"],
            components=shape["components"],
        )
        campaigns.append(_campaign(workspace, account, template, size, prefix=f"+1{5 + n}55"))
    return user, campaigns


def _campaign(workspace, account, template, n: int, *, prefix: str):
    """A draft campaign with n recipients, inserted by one INSERT … SELECT."""
    from django.db import connection

    from campaigns.models import Campaign, Recipient

    campaign = Campaign.objects.create(
        workspace=workspace, account=account, template=template, name=f"bench {n:,}"
    )
    with connection.cursor() as c:
        c.execute(
            f"""INSERT INTO {Recipient._meta.db_table} (campaign_id, phone, "values", status,
                    skip_reason, attempts, claimed_by, message_status, error_title,
                    error_details, pricing_category)
                SELECT %s, %s || lpad(g::text, 7, '0'),
                    jsonb_build_object('body_param_1', %s, 'body_param_2', 'PK-' || g,
                        'body_param_3', %s, 'body_param_4', %s),
                    'pending', '', 0, '', '', '', '', ''
                FROM generate_series(1, %s) AS g""",
            [
                campaign.pk,
                prefix,
                VALUES["body_param_1"],
                VALUES["body_param_3"],
                VALUES["body_param_4"],
                n,
            ],
        )
        c.execute(f"ANALYZE {Recipient._meta.db_table}")
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, pending_count=n)
    campaign.refresh_from_db()
    return campaign
