"""Meta's template webhooks besides the status (docs/whatsapp.md §11.4), in Meta's documented
shapes (pywa's tests/data/updates/template_*_update.json), through the signed receiver and the
drain: quality with its history, recategorisation (now and impending), edited text; in any
order, idempotent; and what the campaign's pre-flight then tells the operator."""

import time
from datetime import timedelta

import pytest

from campaigns.models import Campaign
from campaigns.preflight import campaign_preflight
from templates_app import tasks as template_tasks
from templates_app.models import TemplateQualityChange

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db

NOW = int(time.time())


def template_change(waba_id: str, field: str, value: dict, *, at: int = NOW) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": at, "changes": [{"value": value, "field": field}]}],
    }


def quality(template, previous: str, new: str, *, at: int = NOW) -> dict:
    value = {
        "previous_quality_score": previous,
        "new_quality_score": new,
        "message_template_id": int(template.meta_id),  # an integer in Meta's payload
        "message_template_name": template.name,
        "message_template_language": template.language,
    }
    return template_change(
        template.account.waba_id, "message_template_quality_update", value, at=at
    )


def category(template, value: dict, *, at: int = NOW) -> dict:
    value = {
        "message_template_id": int(template.meta_id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        **value,
    }
    return template_change(template.account.waba_id, "template_category_update", value, at=at)


def test_quality_changes_are_kept_with_their_history_in_meta_s_order(receive, account, campaign):
    template = campaign.template
    receive(
        account,
        quality(template, "YELLOW", "RED", at=NOW + 60),
        quality(template, "GREEN", "YELLOW", at=NOW),  # older, arrives later
        quality(template, "YELLOW", "RED", at=NOW + 60),  # a duplicate
    )
    template.refresh_from_db()
    assert template.quality_score == "RED"
    assert template.quality_changed_at.timestamp() == NOW + 60
    history = list(TemplateQualityChange.objects.filter(template=template).order_by("at"))
    assert [(h.previous, h.new) for h in history] == [("GREEN", "YELLOW"), ("YELLOW", "RED")]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING  # RED warns; PAUSED pauses (status)
    RecipientFactory(campaign=campaign)
    warnings = campaign_preflight(campaign)["warnings"]
    assert any("quality RED" in w for w in warnings), warnings


def test_a_recategorisation_changes_the_price_and_is_told_not_enforced(
    receive, account, campaign, settings
):
    settings.PRICE_TABLE = {"UTILITY": {"default": 0.01}, "MARKETING": {"default": 0.05}}
    template = campaign.template
    RecipientFactory.create_batch(4, campaign=campaign)
    assert campaign_preflight(campaign)["cost"]["total"] == pytest.approx(0.04)

    receive(account, category(template, {"new_category": "MARKETING"}))

    template.refresh_from_db()
    assert (template.category, template.category_changed_from) == ("MARKETING", "UTILITY")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    preflight = campaign_preflight(campaign)
    assert preflight["cost"]["total"] == pytest.approx(0.20)
    assert any("from UTILITY to MARKETING" in w and "131049" in w for w in preflight["warnings"])


def test_an_impending_recategorisation_is_announced_with_its_date(receive, account, campaign):
    template = campaign.template
    value = {"correct_category": "MARKETING", "category_update_timestamp": NOW + 7 * 86_400}
    receive(account, category(template, value))
    template.refresh_from_db()
    assert template.category == "UTILITY"  # not yet
    assert template.pending_category == "MARKETING"
    assert template.pending_category_from.timestamp() == NOW + 7 * 86_400
    RecipientFactory(campaign=campaign)
    warnings = campaign_preflight(campaign)["warnings"]
    assert any("will recategorise this template as MARKETING from" in w for w in warnings)


def test_edited_text_resyncs_the_catalogue_and_drafts_that_no_longer_fit_say_so(
    receive, account, workspace_a, monkeypatch, django_capture_on_commit_callbacks
):
    synced = []  # the broker is the boundary: the sync task is recorded, not run
    monkeypatch.setattr(template_tasks.templates_sync_account, "delay", synced.append)
    draft = CampaignFactory(template__account=account)
    template = draft.template
    RecipientFactory(
        campaign=draft, values={"body_param_1": "Ana", "body_param_2": "P", "body_param_3": "t"}
    )
    assert not [w for w in campaign_preflight(draft)["warnings"] if "lacks" in w]
    value = {
        "message_template_id": int(template.meta_id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "message_template_element": "Hi {{1}}, {{2}} arrives {{3}} at {{4}}.",
    }
    payload = template_change(account.waba_id, "message_template_components_update", value)
    with django_capture_on_commit_callbacks(execute=True):
        receive(account, payload, payload)
    assert synced == [str(account.pk)]
    template.refresh_from_db()
    assert template.components_changed_at.timestamp() == NOW

    # What the sync then brings: the edited template, with a fourth variable.
    template.components = [{"type": "BODY", "text": value["message_template_element"]}]
    template.save(update_fields=["components"])
    warnings = campaign_preflight(draft)["warnings"]
    assert any("body_param_4" in w and "edited on WhatsApp" in w for w in warnings), warnings


def test_the_template_page_shows_the_quality_history_and_the_recategorisation(
    receive, account, campaign, client, owner
):
    template = campaign.template
    receive(
        account,
        quality(template, "GREEN", "YELLOW", at=NOW),
        quality(template, "YELLOW", "RED", at=NOW + 60),
        category(template, {"new_category": "MARKETING"}),
    )
    client.force_login(owner)
    page = client.get(f"/templates/{template.pk}/").content.decode()
    assert "green → yellow" in page
    assert "yellow → red" in page
    assert "from utility on" in page


def test_the_campaign_page_shows_its_template_s_quality(receive, account, campaign, client, owner):
    receive(account, quality(campaign.template, "YELLOW", "RED"))
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-field="template_quality"' in page
    assert "q-red" in page


def test_a_running_campaign_is_told_of_its_template_s_recategorisation(
    receive, account, campaign, client, owner
):
    started = campaign.created_at - timedelta(hours=1)
    Campaign.objects.filter(pk=campaign.pk).update(started_at=started)
    receive(account, category(campaign.template, {"new_category": "MARKETING"}))
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign.pk}/live/").content.decode()
    assert "recategorised this campaign" in page
    assert "from utility to marketing" in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
