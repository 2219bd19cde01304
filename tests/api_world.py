"""One object of each kind in workspace A, for the tests that walk the whole API (the access
matrix, the Schemathesis run): a WhatsApp account, an approved template, a draft campaign
with a recipient and an import report with a rejection."""

from dataclasses import dataclass

from campaigns.models import Campaign, ImportRejection, ImportReport, Recipient
from templates_app.models import MessageTemplate
from whatsapp.models import WhatsAppAccount

from .factories import (
    CampaignFactory,
    MessageTemplateFactory,
    RecipientFactory,
    WhatsAppAccountFactory,
)


@dataclass
class World:
    account: WhatsAppAccount
    template: MessageTemplate
    campaign: Campaign
    recipient: Recipient
    report: ImportReport

    def ids(self) -> list[str]:
        return [str(o.pk) for o in (self.account, self.template, self.campaign, self.report)]


def build_world(workspace) -> World:
    account = WhatsAppAccountFactory(workspace=workspace)
    template = MessageTemplateFactory(account=account)
    campaign = CampaignFactory(template=template)
    recipient = RecipientFactory(
        campaign=campaign,
        phone="+14155550100",
        values={"body_param_1": "Ana", "body_param_2": "PK-1", "body_param_3": "today"},
    )
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1, pending_count=1)
    campaign.refresh_from_db()
    report = ImportReport.objects.create(
        campaign=campaign,
        source="csv",
        file_name="list.csv",
        status=ImportReport.Status.COMPLETED,
        rows_read=2,
        imported=1,
        rejected=1,
    )
    ImportRejection.objects.create(
        report=report, line=3, column="phone_number", reason="not a phone number", value="12"
    )
    return World(account, template, campaign, recipient, report)


def recipient_rows(n: int = 1, start: int = 200) -> list[dict]:
    return [
        {
            "phone_number": f"+1415555{start + i:04d}",
            "body_param_1": "Ana",
            "body_param_2": "PK-88213",
            "body_param_3": "tomorrow",
        }
        for i in range(n)
    ]
