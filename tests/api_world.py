"""One object of each kind in workspace A, for the tests that walk the whole API (the access
matrix, the Schemathesis run): a WhatsApp account, an approved template, a draft campaign
with a recipient, an import report with a rejection, and an opt-out."""

from dataclasses import dataclass

from campaigns.models import (
    Campaign,
    Contact,
    ContactImport,
    ContactList,
    ContactListMember,
    ImportRejection,
    ImportReport,
    OptOut,
    Recipient,
    Segment,
)
from templates_app.models import MessageTemplate
from whatsapp.models import WhatsAppAccount

from .factories import (
    CampaignFactory,
    MessageTemplateFactory,
    OptOutFactory,
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
    opt_out: OptOut
    contact: Contact
    contact_list: ContactList
    segment: Segment
    contact_import: ContactImport

    def ids(self) -> list[str]:
        objects = (
            self.account,
            self.template,
            self.campaign,
            self.report,
            self.contact_list,
            self.segment,
            self.contact_import,
        )
        return [
            *(str(o.pk) for o in objects),
            self.opt_out.phone,
            self.recipient.phone,
            self.contact.phone,
        ]


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
    opt_out = OptOutFactory(workspace=workspace, phone="+447700900123")
    contact = Contact.objects.create(
        workspace=workspace, phone="+447700900456", name="Priya", tags=["vip"]
    )
    contact_list = ContactList.objects.create(workspace=workspace, name="VIPs")
    ContactListMember.objects.create(contact_list=contact_list, contact=contact)
    segment = Segment.objects.create(
        workspace=workspace,
        name="VIP",
        rules={"all": [{"field": "tag", "op": "has", "value": "vip"}]},
    )
    contact_import = ContactImport.objects.create(
        workspace=workspace,
        source="csv",
        file_name="contacts.csv",
        status=ContactImport.Status.COMPLETED,
        rows_read=1,
        created=1,
    )
    return World(
        account,
        template,
        campaign,
        recipient,
        report,
        opt_out,
        contact,
        contact_list,
        segment,
        contact_import,
    )


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
