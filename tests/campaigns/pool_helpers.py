"""Numbers to pool a campaign's with, for the dashboard's and the admin's tests."""

from campaigns.models import Campaign, CampaignNumber

from ..factories import CampaignFactory, WhatsAppAccountFactory


def other_numbers(template) -> list:
    """Two more numbers of the template's workspace on its WABA, one upgraded to 1,000 msg/s."""
    own = template.account
    return [
        WhatsAppAccountFactory(
            workspace=own.workspace, waba_id=own.waba_id, name=name, throughput=throughput
        )
        for name, throughput in (("Sales line", 1000), ("Support line", 80))
    ]


def numbers_elsewhere(template, other_workspace) -> dict:
    """Numbers that must not be pooled with the template's: the workspace's own on another
    WABA, and another workspace's on the very same WABA."""
    return {
        "other_waba": WhatsAppAccountFactory(workspace=template.workspace, name="Other WABA"),
        "outsider": WhatsAppAccountFactory(
            workspace=other_workspace, waba_id=template.account.waba_id, name="Outsider line"
        ),
    }


def pooled_campaign(template, pool, **fields) -> Campaign:
    campaign = CampaignFactory(template=template, **fields)
    for account in pool:
        CampaignNumber.objects.create(campaign=campaign, account=account)
    return campaign
