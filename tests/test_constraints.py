"""Invariants enforced by the database itself, not just by forms or serializers."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaigns.models import Campaign, Recipient

from .factories import (
    CampaignFactory,
    MembershipFactory,
    MessageTemplateFactory,
    OptOutFactory,
    RecipientFactory,
    WhatsAppAccountFactory,
)

pytestmark = pytest.mark.django_db


def assert_refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_a_wamid_belongs_to_one_recipient_only():
    RecipientFactory(wamid="wamid.ABC")
    assert_refused(lambda: RecipientFactory(wamid="wamid.ABC"))


def test_many_recipients_may_have_no_wamid_yet():
    campaign = CampaignFactory()
    RecipientFactory(campaign=campaign, wamid=None)
    RecipientFactory(campaign=campaign, wamid=None)
    assert Recipient.objects.filter(wamid__isnull=True).count() == 2


def test_a_phone_number_appears_once_per_campaign():
    campaign = CampaignFactory()
    RecipientFactory(campaign=campaign, phone="+14155550100")
    assert_refused(lambda: RecipientFactory(campaign=campaign, phone="+14155550100"))
    # …but the same number may be in another campaign
    RecipientFactory(phone="+14155550100")


# Just outside the ranges the model declares (Campaign.RATE_LIMIT_RANGE, WORKER_COUNT_RANGE).
OUT_OF_RANGE = [
    ("rate_limit", 0),
    ("rate_limit", 10_001),
    ("worker_count", 0),
    ("worker_count", 101),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_rates_and_worker_counts_stay_in_range(field, value):
    campaign = CampaignFactory()
    assert_refused(lambda: Campaign.objects.filter(pk=campaign.pk).update(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_limit", 1),
        ("rate_limit", 10_000),
        ("worker_count", 1),
        ("worker_count", 100),
    ],
)
def test_range_bounds_are_allowed(field, value):
    campaign = CampaignFactory()
    Campaign.objects.filter(pk=campaign.pk).update(**{field: value})
    campaign.refresh_from_db()
    assert getattr(campaign, field) == value


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_the_model_validates_the_ranges_its_constraints_enforce(field, value):
    # what a model form (the admin's) checks before the database would refuse it
    campaign = CampaignFactory()
    setattr(campaign, field, value)
    with pytest.raises(ValidationError) as refused:
        campaign.full_clean()
    assert list(refused.value.message_dict) == [field]


def test_an_unknown_status_is_refused():
    campaign = CampaignFactory()
    assert_refused(lambda: Campaign.objects.filter(pk=campaign.pk).update(status="exploded"))
    recipient = RecipientFactory()
    assert_refused(lambda: Recipient.objects.filter(pk=recipient.pk).update(status="lost"))


def test_a_scheduled_campaign_needs_a_send_time():
    campaign = CampaignFactory()
    assert_refused(lambda: Campaign.objects.filter(pk=campaign.pk).update(status="scheduled"))


def test_phone_number_id_is_unique_across_the_installation():
    WhatsAppAccountFactory(phone_number_id="106540352242922")
    assert_refused(lambda: WhatsAppAccountFactory(phone_number_id="106540352242922"))


def test_a_template_is_stored_once_per_meta_id_and_account():
    template = MessageTemplateFactory(meta_id="1402938475610021")
    assert_refused(
        lambda: MessageTemplateFactory(account=template.account, meta_id="1402938475610021")
    )


def test_an_opt_out_is_stored_once_per_workspace():
    opt_out = OptOutFactory(phone="+447700900123")
    assert_refused(lambda: OptOutFactory(workspace=opt_out.workspace, phone="+447700900123"))


def test_a_user_is_a_member_of_a_workspace_once():
    membership = MembershipFactory()
    assert_refused(lambda: MembershipFactory(user=membership.user, workspace=membership.workspace))


def test_public_ids_are_uuids():
    campaign = CampaignFactory()
    assert len(str(campaign.pk)) == 36
    assert len(str(campaign.template.pk)) == 36
    assert len(str(campaign.account.pk)) == 36
    assert len(str(campaign.workspace.pk)) == 36
