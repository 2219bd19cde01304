"""Reading the truth from Meta: on connecting a number, and hourly (beat), its throughput,
quality rating, messaging limit and display number come from the Graph API; what the operator
typed that disagrees is corrected, with a note on the account's event log. The Graph API is
faked at the HTTP boundary (`responses`)."""

import pytest
import responses
from django.conf import settings

from whatsapp import tasks as whatsapp_tasks
from whatsapp.health import account_refresh_from_meta
from whatsapp.models import AccountEvent, WhatsAppAccount
from whatsapp.tasks import accounts_refresh_from_meta_task

from ..factories import WhatsAppAccountFactory
from .test_accounts_api import NEW, URL

pytestmark = pytest.mark.django_db


def graph(path: str) -> str:
    return f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_GRAPH_VERSION}/{path}"


NUMBER = {
    "id": "106540352242922",
    "display_phone_number": "+1 555-078-3881",
    "verified_name": "Broadcast Test",
    "quality_rating": "YELLOW",
    "throughput": {"level": "HIGH"},
    "whatsapp_business_manager_messaging_limit": "TIER_10K",
}


@responses.activate
def test_a_wrong_tier_and_throughput_are_corrected_with_a_note(workspace_a):
    account = WhatsAppAccountFactory(
        workspace=workspace_a, throughput=80, messaging_limit_tier="250"
    )
    responses.add(responses.GET, graph(account.phone_number_id), json=NUMBER)

    notes = account_refresh_from_meta(account=account)

    account.refresh_from_db()
    assert account.messaging_limit_tier == "10000"
    assert account.throughput == 1000
    assert account.quality_rating == "YELLOW"
    assert any("Messaging-limit tier: 250 → 10000" in n for n in notes), notes
    event = AccountEvent.objects.get(account=account)
    assert (event.field, event.event) == ("graph", "CORRECTED")
    assert "Messaging-limit tier: 250 → 10000" in event.summary
    request = responses.calls[0].request
    assert "whatsapp_business_manager_messaging_limit" in request.url
    assert request.headers["Authorization"] == f"Bearer {account.access_token}"

    # Meta agrees now: nothing changes, nothing is noted.
    assert account_refresh_from_meta(account=account) == []
    assert AccountEvent.objects.filter(account=account).count() == 1


@responses.activate
def test_the_hourly_refresh_reads_every_active_number_and_survives_an_error(workspace_a):
    good = WhatsAppAccountFactory(workspace=workspace_a, messaging_limit_tier="250")
    broken = WhatsAppAccountFactory(workspace=workspace_a, messaging_limit_tier="250")
    WhatsAppAccountFactory(workspace=workspace_a, state="needs_attention")  # not asked
    responses.add(responses.GET, graph(good.phone_number_id), json=NUMBER)
    responses.add(
        responses.GET,
        graph(broken.phone_number_id),
        status=500,
        json={"error": {"message": "An unknown error occurred", "code": 1}},
    )

    assert accounts_refresh_from_meta_task() == {"corrected": 1}

    assert WhatsAppAccount.objects.get(pk=good.pk).messaging_limit_tier == "10000"
    assert WhatsAppAccount.objects.get(pk=broken.pk).messaging_limit_tier == "250"
    asked = {call.request.url.split("?")[0].rsplit("/", 1)[-1] for call in responses.calls}
    assert asked == {good.phone_number_id, broken.phone_number_id}
    assert "whatsapp-refresh-numbers" in settings.CELERY_BEAT_SCHEDULE
    assert settings.CELERY_BEAT_SCHEDULE["whatsapp-refresh-numbers"]["schedule"] == 3600.0


def test_connecting_a_number_reads_it_from_meta_at_once(
    owner_api, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []  # the broker is the boundary: the task is recorded, then run here
    monkeypatch.setattr(whatsapp_tasks.account_refresh_from_meta_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(URL, NEW, format="json")
    assert response.status_code == 201
    assert queued == [response.json()["id"]]
