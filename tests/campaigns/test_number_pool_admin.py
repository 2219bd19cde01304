"""The admin of a campaign that sends from several numbers: the Campaign admin's inline of
the numbers it also sends from (checked as the services check them, editable only while the
pool may change) and the recipient admin's `number`."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.forms import inlineformset_factory
from django.urls import reverse

from campaigns.admin import CampaignNumberFormSet
from campaigns.models import Campaign, CampaignNumber
from campaigns.models_numbers import numbers_of

from ..factories import CampaignFactory, RecipientFactory
from .pool_helpers import numbers_elsewhere, other_numbers, pooled_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def siblings(template_a):
    return other_numbers(template_a)


@pytest.fixture
def elsewhere(template_a, workspace_b):
    return numbers_elsewhere(template_a, workspace_b)


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


def test_the_campaign_admin_shows_its_pool_and_edits_it_only_while_it_may_change(
    admin_client, template_a, siblings
):
    campaign = pooled_campaign(template_a, [siblings[0]], status="draft")
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    html = admin_client.get(url).content.decode()
    assert "Also sends from" in html
    assert 'name="pool-0-account"' in html  # editable, with the autocomplete widget
    assert "admin-autocomplete" in html
    assert 'name="pool-MAX_NUM_FORMS" value="9"' in html

    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    html = admin_client.get(url).content.decode()
    assert "Also sends from" in html
    assert siblings[0].name in html
    assert 'name="pool-0-account"' not in html  # read-only while it runs


def inline(campaign, *accounts):
    FormSet = inlineformset_factory(
        Campaign, CampaignNumber, formset=CampaignNumberFormSet, fields=["account"], extra=0
    )
    data = {
        "pool-TOTAL_FORMS": str(len(accounts)),
        "pool-INITIAL_FORMS": "0",
        **{f"pool-{i}-account": str(a.pk) for i, a in enumerate(accounts)},
    }
    return FormSet(data, instance=campaign, prefix="pool")


def test_the_admin_inline_checks_the_pool_as_the_services_do(template_a, siblings, elsewhere):
    campaign = CampaignFactory(template=template_a, status="draft", rate_limit=80)
    assert inline(campaign, *siblings).is_valid()
    for account, message in (
        (elsewhere["other_waba"], "is on WhatsApp Business Account"),
        (elsewhere["outsider"], "unknown WhatsApp account"),
        (template_a.account, "is the campaign's own number"),
    ):
        formset = inline(campaign, account)
        assert not formset.is_valid()
        assert message in " ".join(formset.non_form_errors())
    campaign.rate_limit = 2500
    formset = inline(campaign, siblings[0])
    assert not formset.is_valid()
    assert "at most 2,000" in " ".join(formset.non_form_errors())


def test_the_recipient_admin_shows_the_number_it_was_sent_from(admin_client, template_a, siblings):
    campaign = pooled_campaign(template_a, siblings, status="running")
    recipient = RecipientFactory(
        campaign=campaign, status="failed", number=siblings[0], send_path="messages"
    )
    change = admin_client.get(reverse("admin:campaigns_recipient_change", args=[recipient.pk]))
    assert str(recipient.number) in change.content.decode()
    changelist = admin_client.get(
        reverse("admin:campaigns_recipient_changelist") + f"?campaign={campaign.pk}"
    )
    html = changelist.content.decode()
    assert "column-number" in html
    assert recipient.number.name in html


def test_a_running_campaign_with_a_pool_still_saves_in_the_admin(
    admin_client, template_a, siblings
):
    campaign = pooled_campaign(template_a, siblings, status="running", name="Before")
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    management = dict(re.findall(r'name="(pool-[A-Z_]+)" value="(\d*)"', page))
    response = admin_client.post(
        url,
        {
            "name": "After",
            "workspace": str(campaign.workspace_id),
            "breaker": "{}",
            "created_by": "",
            **management,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert campaign.name == "After"
    assert len(numbers_of(campaign)) == 3


def test_a_draft_pool_is_saved_from_the_admin(admin_client, template_a, siblings):
    campaign = CampaignFactory(template=template_a, status="draft", name="Draft")
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    management = dict(re.findall(r'name="(pool-[A-Z_]+)" value="(\d*)"', page))
    form = {
        "name": "Draft",
        "workspace": str(campaign.workspace_id),
        "account": str(campaign.account_id),
        "template": str(campaign.template_id),
        "worker_count": "10",
        "rate_limit": "80",
        "breaker": "{}",
        "marketing_policy": campaign.marketing_policy,
        "message_activity_sharing": "on",
        **management,
        "pool-TOTAL_FORMS": "1",
        "pool-0-account": str(siblings[0].pk),
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert numbers_of(campaign) == [template_a.account, siblings[0]]
    refused = admin_client.post(url, {**form, "rate_limit": "2500"})
    assert refused.status_code == 200
    assert "at most 2,000" in refused.content.decode()
