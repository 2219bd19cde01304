"""A campaign that sends from several numbers: choosing them (API), their checks, and what
follows them (rerun, resume, Meta blocking one of them, deleting one)."""

import uuid

import pytest
from django.db.models import ProtectedError

from campaigns.models import Campaign, CampaignNumber
from campaigns.services.lifecycle import campaigns_pause_for_account
from campaigns.services.reruns import campaign_rerun
from campaigns.services.sending import campaign_resume, sender_numbers
from config.errors import Conflict
from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory

URL = "/api/v1/campaigns/"


@pytest.fixture
def siblings(template_a):
    """Two more numbers on the template's WABA, in the same workspace."""
    own = template_a.account
    return [WhatsAppAccountFactory(workspace=own.workspace, waba_id=own.waba_id) for _ in range(2)]


def create(api, template, **body):
    return api.post(URL, {"name": "Pooled", "template_id": str(template.id), **body}, format="json")


def test_a_campaign_sends_from_the_numbers_it_is_given(owner_api, template_a, siblings):
    response = create(owner_api, template_a, numbers=[str(s.pk) for s in siblings])
    assert response.status_code == 201, response.json()
    body = response.json()
    own = str(template_a.account_id)
    assert body["account"] == own
    assert body["numbers"] == [own, *sorted(str(s.pk) for s in siblings)]
    # the same on a read, and in the list
    assert owner_api.get(f"{URL}{body['id']}/").json()["numbers"] == body["numbers"]
    listed = owner_api.get(URL).json()["results"]
    assert [c["numbers"] for c in listed] == [body["numbers"]]
    # the template's own number listed too, and repeats, change nothing
    again = create(owner_api, template_a, numbers=[own, str(siblings[0].pk), str(siblings[0].pk)])
    assert again.json()["numbers"] == [own, str(siblings[0].pk)]


def test_without_numbers_a_campaign_sends_from_its_templates_number(owner_api, template_a):
    body = create(owner_api, template_a).json()
    assert body["numbers"] == [str(template_a.account_id)]
    assert not CampaignNumber.objects.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: [str(uuid.uuid4())], "unknown WhatsApp account"),
        # another workspace's number is as unknown as a made-up one
        (lambda t: [str(WhatsAppAccountFactory(waba_id=t.account.waba_id).pk)], "unknown"),
        (
            lambda t: [str(WhatsAppAccountFactory(workspace=t.workspace, waba_id="999").pk)],
            "share its template's account",
        ),
        (lambda t: ["not-a-uuid"], "valid UUID"),
        (lambda t: "a string", "list"),
    ],
)
def test_numbers_that_cannot_be_pooled_are_a_400_naming_the_field(
    owner_api, template_a, make, message
):
    response = create(owner_api, template_a, numbers=make(template_a))
    assert response.status_code == 400
    assert message in str(response.json()["numbers"])
    assert not Campaign.objects.exists()


def test_at_most_ten_numbers(owner_api, template_a):
    own = template_a.account
    more = [
        str(WhatsAppAccountFactory(workspace=own.workspace, waba_id=own.waba_id).pk)
        for _ in range(10)
    ]
    response = create(owner_api, template_a, numbers=more)
    assert response.status_code == 400
    assert "at most 10 numbers" in str(response.json()["numbers"])
    assert create(owner_api, template_a, numbers=more[:9]).status_code == 201


def test_the_rate_is_bounded_by_how_many_numbers_send(owner_api, template_a, siblings):
    refused = create(owner_api, template_a, rate_limit=1500)
    assert refused.status_code == 400
    assert "more than its number can send" in refused.json()["rate_limit"][0]
    body = create(
        owner_api, template_a, rate_limit=3000, numbers=[str(s.pk) for s in siblings]
    ).json()
    assert body["rate_limit"] == 3000
    # taking a number out would leave the rate over what the rest can send
    response = owner_api.patch(
        f"{URL}{body['id']}/", {"numbers": [str(siblings[0].pk)]}, format="json"
    )
    assert response.status_code == 400
    assert "at most 2,000" in response.json()["rate_limit"][0]
    assert CampaignNumber.objects.filter(campaign_id=body["id"]).count() == 2
    ok = owner_api.patch(
        f"{URL}{body['id']}/", {"numbers": [str(siblings[0].pk)], "rate_limit": 2000}, format="json"
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["numbers"] == [str(template_a.account_id), str(siblings[0].pk)]


def test_numbers_change_while_paused_but_not_while_running(owner_api, template_a, siblings):
    campaign = CampaignFactory(template=template_a, status=Campaign.Status.RUNNING)
    url = f"{URL}{campaign.pk}/"
    running = owner_api.patch(url, {"numbers": [str(siblings[0].pk)]}, format="json")
    assert running.status_code == 409
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    paused = owner_api.patch(url, {"numbers": [str(siblings[0].pk)]}, format="json")
    assert paused.status_code == 200
    assert paused.json()["numbers"][1:] == [str(siblings[0].pk)]
    cleared = owner_api.patch(url, {"numbers": []}, format="json")
    assert cleared.json()["numbers"] == [str(template_a.account_id)]


def test_an_outsider_cannot_see_or_pool_into_a_campaign(outsider_api, template_a, siblings):
    campaign = CampaignFactory(template=template_a)
    response = outsider_api.patch(
        f"{URL}{campaign.pk}/", {"numbers": [str(siblings[0].pk)]}, format="json"
    )
    assert response.status_code == 404
    assert not CampaignNumber.objects.exists()


def test_a_rerun_sends_from_the_same_numbers(owner, template_a, siblings):
    campaign = CampaignFactory(template=template_a, status=Campaign.Status.COMPLETED)
    CampaignNumber.objects.create(campaign=campaign, account=siblings[1])
    RecipientFactory(campaign=campaign, status="failed")
    rerun = campaign_rerun(user=owner, campaign=campaign, segment="failed")
    assert list(rerun.pool.values_list("account_id", flat=True)) == [siblings[1].pk]


def test_each_number_gets_its_own_senders(template_a, siblings, settings):
    settings.ENGINE_SENDERS_PER_CAMPAIGN = 2
    campaign = CampaignFactory(template=template_a)
    assert sender_numbers(campaign.pk) == range(2)
    for sibling in siblings:
        CampaignNumber.objects.create(campaign=campaign, account=sibling)
    assert sender_numbers(campaign.pk) == range(6)


def test_meta_blocking_one_of_the_numbers_pauses_the_campaign(owner, template_a, siblings):
    campaign = CampaignFactory(template=template_a, status=Campaign.Status.RUNNING)
    CampaignNumber.objects.create(campaign=campaign, account=siblings[0])
    other = CampaignFactory(template=template_a, status=Campaign.Status.RUNNING)

    moved = campaigns_pause_for_account(account=siblings[0], reason="Meta restricted it")

    assert moved == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == ("paused", "Meta restricted it")
    other.refresh_from_db()
    assert other.status == "running"  # it does not send from that number
    # resuming is refused while the number is blocked, naming it
    WhatsAppAccount.objects.filter(pk=siblings[0].pk).update(
        restriction=WhatsAppAccount.Restriction.BUSINESS_INITIATED,
        restriction_reason="Restricted by Meta",
    )
    RecipientFactory(campaign=campaign)
    with pytest.raises(Conflict, match=f"cannot resume: .*\\({siblings[0].name}"):
        campaign_resume(user=owner, campaign=campaign)
    # taken out of the pool, the campaign resumes on the others
    CampaignNumber.objects.filter(campaign=campaign).delete()
    assert campaign_resume(user=owner, campaign=campaign).status == "running"


def test_a_pooled_number_cannot_be_deleted_under_its_campaign(template_a, siblings):
    campaign = CampaignFactory(template=template_a)
    CampaignNumber.objects.create(campaign=campaign, account=siblings[0])
    with pytest.raises(ProtectedError):
        siblings[0].delete()
    siblings[1].delete()  # one no campaign sends from can go


def test_the_preflight_counts_every_number(owner_api, template_a, siblings):
    WhatsAppAccount.objects.filter(pk__in=[s.pk for s in siblings]).update(throughput=1000)
    WhatsAppAccount.objects.filter(pk=siblings[1].pk).update(quality_flagged=True)
    body = create(
        owner_api, template_a, rate_limit=3000, numbers=[str(s.pk) for s in siblings]
    ).json()
    preflight = owner_api.get(f"{URL}{body['id']}/preflight/").json()
    assert preflight["effective_rate"] == 80 + 1000 + 1000
    assert [n["id"] for n in preflight["numbers"]] == body["numbers"]
    assert any("3 numbers send at most 2080 msg/s" in w for w in preflight["warnings"])
    assert any(siblings[1].name in w and "low quality" in w for w in preflight["warnings"])


def test_send_bulk_sends_from_the_numbers_it_is_given(owner_api, template_a, siblings, sandbox):
    response = owner_api.post(
        "/api/v1/send-bulk/",
        {
            "name": "Bulk",
            "template_id": str(template_a.id),
            "numbers": [str(siblings[0].pk)],
            "rate_limit": 1500,
            "recipients": [
                {
                    "phone_number": "+14155550100",
                    "body_param_1": "Ana",
                    "body_param_2": "PK-1",
                    "body_param_3": "today",
                    "body_param_4": "9-12",
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["numbers"] == [str(template_a.account_id), str(siblings[0].pk)]
    assert response.json()["status"] == "running"


def test_the_list_filtered_by_a_number_includes_the_campaigns_that_pool_it(
    owner_api, template_a, siblings
):
    own = CampaignFactory(template=template_a)
    pooling = CampaignFactory(template=template_a)
    CampaignNumber.objects.create(campaign=pooling, account=siblings[0])

    def listed(account):
        return {c["id"] for c in owner_api.get(URL, {"account": str(account.pk)}).json()["results"]}

    assert listed(template_a.account) == {str(own.pk), str(pooling.pk)}
    assert listed(siblings[0]) == {str(pooling.pk)}
    assert listed(siblings[1]) == set()
