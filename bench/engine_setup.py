"""The engine benchmarks' data: the bench database and Redis database emptied before and after
(`clean_slate`), the engine bench's two draft campaigns (N_MAIN and N_MEMORY recipients), and
the pool bench's campaign sending from several numbers of one WABA."""

import contextlib
import tempfile

from bench.engine_params import N_MAIN, N_MEMORY, VALUES


def reset_database(suffix: str = "bench_engine") -> None:
    from django.core.management import call_command
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not str(name).endswith(suffix):
        raise RuntimeError(f"refusing to empty {name!r}: not a *{suffix} PostgreSQL database")
    call_command("flush", interactive=False, verbosity=0)


@contextlib.contextmanager
def clean_slate(suffix: str):
    """The bench database (its name ends with `suffix`) migrated and emptied, and the bench's
    Redis database (REDIS_URL's) flushed; both emptied again on the way out."""
    import redis as redis_lib
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    reset_database(suffix)
    redis = redis_lib.Redis.from_url(settings.REDIS_URL)
    redis.flushdb()
    try:
        yield
    finally:
        redis.flushdb()
        redis.close()
        reset_database(suffix)


def measured_on_a_clean_slate(suffix: str, measure, figures) -> list[dict]:
    """The child's whole run: on a clean slate (`clean_slate`), `figures(**measure(sandbox_log,
    worker_log))`, the two logs temporary files the sandbox and the worker write to."""
    import django

    django.setup()
    with (
        clean_slate(suffix),
        tempfile.TemporaryFile() as sandbox_log,
        tempfile.TemporaryFile() as worker_log,
    ):
        return figures(**measure(sandbox_log, worker_log))


def _delivery_window_shape() -> dict:
    from whatsapp.sandbox.builtin_templates import TEMPLATES

    # As a template sync from the sandbox stores it: 4 positional body parameters.
    return next(t for t in TEMPLATES if (t["name"], t["language"]) == ("delivery_window", "en_US"))


def _bench_user(name: str):
    """A user who owns a new workspace, both named `name`."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Workspace

    user = get_user_model().objects.create(username=name)
    workspace = Workspace.objects.create(name=name)
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    return user, workspace


def _account(workspace, *, name: str, waba_id: str, phone_number_id: str, throughput: int):
    from whatsapp.models import WhatsAppAccount

    return WhatsAppAccount.objects.create(
        workspace=workspace,
        name=name,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        access_token="bench-token",
        app_secret="bench-secret",
        throughput=throughput,
        messaging_limit_tier="unlimited",
    )


def _template(workspace, account, shape: dict):
    from templates_app.models import MessageTemplate

    return MessageTemplate.objects.create(
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


def create_campaigns():
    shape = _delivery_window_shape()
    user, workspace = _bench_user("bench-engine")
    campaigns = []
    for n, size in enumerate((N_MAIN, N_MEMORY)):
        account = _account(
            workspace,
            name=f"bench {n}",
            waba_id=f"70000000000000{n}",
            phone_number_id=f"80000000000000{n}",
            throughput=1000,
        )
        template = _template(workspace, account, shape)
        campaigns.append(_campaign(workspace, account, template, size, prefix=f"+1{5 + n}55"))
    return user, campaigns


def create_pool_campaign(size: int, *, numbers: int, throughput: int):
    """A draft campaign of `size` recipients sending from `numbers` numbers of one workspace
    and WABA, each with `throughput`: its template's (its own) and the rest as its pool, set
    as the API sets it (campaign_pool_check, campaign_pool_store). Returns the user, the
    campaign and its numbers in the engine's order (models_numbers.numbers_of)."""
    from django.db import transaction

    from campaigns.models_numbers import numbers_of
    from campaigns.services.numbers import campaign_pool_check, campaign_pool_store

    user, workspace = _bench_user("bench-pool")
    accounts = [
        _account(
            workspace,
            name=f"bench pool {i}",
            waba_id="710000000000000",
            phone_number_id=f"81000000000000{i}",
            throughput=throughput,
        )
        for i in range(numbers)
    ]
    template = _template(workspace, accounts[0], _delivery_window_shape())
    campaign = _campaign(workspace, accounts[0], template, size, prefix="+1575")
    with transaction.atomic():
        pool = campaign_pool_check(campaign=campaign, numbers=[a.pk for a in accounts[1:]])
        campaign_pool_store(campaign=campaign, pool=pool)
    return user, campaign, numbers_of(campaign)


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
