"""The dashboard of a campaign that sends from several numbers: "Also send from" on the
new-campaign page and the campaign page, the campaign page's Numbers card and per-number
breakdown, the recipients' "From" column and the export's `number` column. The admin:
test_number_pool_admin.py."""

import csv
import io
import re

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignNumber
from campaigns.models_numbers import numbers_of
from campaigns.selectors import campaign_number_breakdown
from campaigns.tracking import campaign_recount

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory
from .conftest import make_template
from .pool_helpers import numbers_elsewhere, other_numbers, pooled_campaign
from .test_dashboard_controls import VALUES, control, messages_of

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def siblings(template_a):
    return other_numbers(template_a)


@pytest.fixture
def elsewhere(template_a, workspace_b):
    return numbers_elsewhere(template_a, workspace_b)


def new_campaign(client, template, **data):
    return client.post(
        "/campaigns/new/",
        {
            "name": "Black Friday",
            "template": str(template.pk),
            "marketing_policy": "CLOUD_API_FALLBACK",
            **data,
        },
    )


def numbers_offered(html: str) -> set[str]:
    return set(re.findall(r'name="numbers" value="([^"]+)"', html))


# The new-campaign page


def test_the_new_campaign_page_offers_only_the_workspaces_numbers_on_the_templates_waba(
    client, owner, template_a, siblings, elsewhere
):
    client.force_login(owner)
    html = client.get("/campaigns/new/").content.decode()
    assert numbers_offered(html) == {str(s.pk) for s in siblings}  # not its own, nor the others
    assert 'id="numbers-choice"' in html
    for s in siblings:
        assert s.name in html
        assert s.display_phone_number in html
    assert "Sales line" in html
    assert "1,000 msg/s" in html
    # pool.js shows the chosen template's: the template and the boxes share their data-pool
    pool = f"{template_a.workspace_id}:{template_a.account.waba_id}"
    assert f'data-template="{template_a.pk}" data-pool="{pool}"' in html
    assert html.count(f'data-pool="{pool}"') == 3  # the template's preview, its two numbers
    assert "/static/js/pool.js" in html
    assert "up to 1,000 msg/s per number" in html


def test_a_workspace_with_one_number_on_the_waba_gets_no_choice(
    client, owner, template_a, elsewhere
):
    client.force_login(owner)
    html = client.get("/campaigns/new/").content.decode()
    assert 'id="numbers-choice"' not in html
    assert numbers_offered(html) == set()


def test_each_templates_numbers_are_offered_its_own_included_for_the_other_template(
    client, owner, template_a, siblings
):
    other = make_template(template_a.workspace, name="second_template", meta_id="98765")
    other.account = siblings[0]  # a template of the second number, on the same WABA
    other.save()
    client.force_login(owner)
    html = client.get("/campaigns/new/").content.decode()
    # the first template's number can send with the second's (pool.js hides it for its own)
    assert numbers_offered(html) == {str(template_a.account_id), *(str(s.pk) for s in siblings)}


def test_creating_with_two_more_numbers_stores_the_pool(client, owner, template_a, siblings):
    client.force_login(owner)
    response = new_campaign(client, template_a, numbers=[str(s.pk) for s in siblings])
    campaign = Campaign.objects.get(name="Black Friday")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert numbers_of(campaign) == [template_a.account, *sorted(siblings, key=lambda a: a.pk)]


def test_creating_without_ticking_any_sends_from_the_templates_number(
    client, owner, template_a, siblings
):
    client.force_login(owner)
    assert new_campaign(client, template_a).status_code == 302
    assert numbers_of(Campaign.objects.get(name="Black Friday")) == [template_a.account]


def test_the_services_refusal_is_shown_beside_the_field(client, owner, template_a, siblings):
    # A second WABA of the workspace with two numbers and a template: its numbers are on the
    # page (for that template), and posted with the first template the service refuses them.
    other = make_template(template_a.workspace, name="other_waba_template", meta_id="98766")
    far = WhatsAppAccountFactory(workspace=template_a.workspace, waba_id=other.account.waba_id)
    client.force_login(owner)
    response = new_campaign(client, template_a, numbers=[str(siblings[0].pk), str(far.pk)])
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(r'<p class="error" id="numbers-error">(.*?)</p>', html, re.DOTALL)
    assert error, "the refusal is beside the numbers"
    assert f"is on WhatsApp Business Account {far.waba_id}" in error.group(1)
    assert not Campaign.objects.filter(name="Black Friday").exists()
    # what was ticked is still ticked
    assert re.search(rf'value="{siblings[0].pk}" id="id_numbers_\d+" checked', html)


def test_an_outsiders_number_posted_by_hand_is_refused(
    client, owner, template_a, siblings, elsewhere
):
    client.force_login(owner)
    outsider = elsewhere["outsider"]
    response = new_campaign(client, template_a, numbers=[str(outsider.pk)])
    assert response.status_code == 200
    error = re.search(r'id="numbers-error">(.*?)</p>', response.content.decode(), re.DOTALL)
    assert error
    assert "not one of the available choices" in error.group(1)
    assert not Campaign.objects.filter(name="Black Friday").exists()
    assert not CampaignNumber.objects.filter(account=outsider).exists()


# The campaign page


def number_rows(html: str) -> dict[str, dict[str, int]]:
    """The breakdown table's rows: {account id: {sent, delivered, read, failed}}."""
    table = re.search(r'data-table="numbers"[^>]*>(.*?)</table>', html, re.DOTALL)
    assert table, "no per-number table"
    rows = {}
    for pk, row in re.findall(r'<tr data-number="([^"]*)">(.*?)</tr>', table.group(1), re.DOTALL):
        cells = re.findall(r'data-field="(\w+)">(\d+)<', row)
        rows[pk] = {key: int(value) for key, value in cells}
    return rows


@pytest.fixture
def sent_from_two(template_a, siblings):
    """A running campaign on its own number and one more, some of it sent from each."""
    own, second = template_a.account, siblings[0]
    campaign = pooled_campaign(template_a, [second], status="running", started_at=timezone.now())
    rows = [
        ("sent", own, "messages"),
        ("read", own, "messages"),
        ("delivered", None, ""),  # sent before numbers were recorded: the campaign's own
        ("read", second, "messages"),
        ("delivered", second, "messages"),
        ("failed", second, "messages"),
        ("pending", None, ""),
        ("sending", second, ""),
        ("pending", second, ""),  # claimed from it, released: not sent from it yet
    ]
    for i, (state, number, path) in enumerate(rows):
        RecipientFactory(
            campaign=campaign,
            phone=f"+1415555{i:04d}",
            values=VALUES,
            status=state,
            number=number,
            send_path=path,
            sent_at=timezone.now() if state not in ("pending", "sending") else None,
        )
    campaign_recount(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_the_campaign_page_shows_its_numbers_and_what_each_sent(
    client, owner, template_a, siblings, sent_from_two
):
    own, second = template_a.account, siblings[0]
    client.force_login(owner)
    html = client.get(f"/campaigns/{sent_from_two.pk}/").content.decode()
    listed = re.search(r'data-field="numbers">(.*?)</table>', html, re.DOTALL).group(1)
    for account in (own, second):
        assert account.name in listed
        assert account.display_phone_number in listed
    assert siblings[1].name not in listed  # not in the pool
    assert "and 1 more number</a>" in html
    assert number_rows(html) == {
        str(own.pk): {"sent": 3, "delivered": 2, "read": 1, "failed": 0},
        str(second.pk): {"sent": 2, "delivered": 2, "read": 1, "failed": 1},
    }


def test_the_breakdown_is_one_group_by_and_keeps_a_number_taken_out(
    template_a, siblings, sent_from_two, django_assert_num_queries
):
    numbers = numbers_of(sent_from_two)
    with django_assert_num_queries(1):
        rows = campaign_number_breakdown(sent_from_two, numbers=numbers)
    assert [r["pk"] for r in rows] == [template_a.account_id, siblings[0].pk]
    CampaignNumber.objects.filter(campaign=sent_from_two).delete()
    rows = campaign_number_breakdown(sent_from_two, numbers=numbers_of(sent_from_two))
    taken_out = rows[-1]
    assert (taken_out["pk"], taken_out["in_pool"], taken_out["sent"]) == (siblings[0].pk, False, 2)


def test_the_breakdown_is_counted_once_per_ten_seconds(
    template_a, siblings, sent_from_two, django_assert_num_queries
):
    numbers = numbers_of(sent_from_two)
    first = campaign_number_breakdown(sent_from_two, numbers=numbers)
    RecipientFactory(
        campaign=sent_from_two, number=siblings[0], status="sent", send_path="messages"
    )
    with django_assert_num_queries(0):  # a page drawn again: no scan of the recipients
        again = campaign_number_breakdown(sent_from_two, numbers=numbers)
    assert again == first
    from config.redis import get_redis

    get_redis().delete(f"campaign-number-breakdown:{sent_from_two.pk}")  # ten seconds later
    later = campaign_number_breakdown(sent_from_two, numbers=numbers)
    assert later[1]["sent"] == first[1]["sent"] + 1


def test_a_campaign_with_one_number_shows_no_breakdown_nor_from_column(client, owner, template_a):
    campaign = CampaignFactory(template=template_a, status="running", started_at=timezone.now())
    RecipientFactory(campaign=campaign, values=VALUES, status="sent", number=template_a.account)
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="numbers"' not in html  # no other number to show or to choose
    assert 'data-table="numbers"' not in html
    assert ">From</th>" not in html


def test_the_recipients_table_says_which_number_each_was_sent_from(
    client, owner, template_a, siblings, sent_from_two
):
    own, second = template_a.account, siblings[0]
    client.force_login(owner)
    for url, headers in (
        (f"/campaigns/{sent_from_two.pk}/", {}),
        (f"/campaigns/{sent_from_two.pk}/recipients/", HTMX),
    ):
        html = client.get(url, **headers).content.decode()
        assert ">From</th>" in html
        shown = re.findall(
            r'<td class="nowrap">(\+\d+)</td>\s*<td class="nowrap" data-field="from">([^<]*)</td>',
            html,
        )
        assert [number for _, number in shown] == [
            own.display_phone_number,
            own.display_phone_number,
            own.display_phone_number,  # no number recorded: its campaign's own
            second.display_phone_number,
            second.display_phone_number,
            second.display_phone_number,
            "",  # pending
            "",  # being sent
            "",  # claimed and released: not sent yet
        ]


def test_the_export_has_the_number_each_was_sent_from(
    owner_api, template_a, siblings, sent_from_two
):
    own, second = template_a.account, siblings[0]
    second.display_phone_number = ""  # Meta gave none: its phone number id instead
    second.save()
    response = owner_api.get(f"/api/v1/campaigns/{sent_from_two.pk}/export/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8")[1:]
    assert next(csv.reader(io.StringIO(text)))[-1] == "number"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["number"] for r in rows] == [
        own.display_phone_number,
        own.display_phone_number,
        own.display_phone_number,
        second.phone_number_id,
        second.phone_number_id,
        second.phone_number_id,
        "",
        "",
        "",
    ]


def test_the_xlsx_export_has_the_number_column_too(owner_api, sent_from_two, template_a):
    import openpyxl

    response = owner_api.get(f"/api/v1/campaigns/{sent_from_two.pk}/export/?format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[-1] == "number"
    assert sheet.cell(row=2, column=len(header)).value == template_a.account.display_phone_number


# "Also send from" on the campaign page


def test_a_draft_offers_the_other_numbers_and_saves_the_choice(
    client, owner, template_a, siblings, elsewhere
):
    campaign = CampaignFactory(template=template_a, status="draft")
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert numbers_offered(html) == {str(s.pk) for s in siblings}
    assert "Sends from the template's number only" in html
    assert "up to 1,000 per number it sends from" in html  # the rate's help, by the send form

    saved = control(client, campaign, "numbers", {"numbers": [str(siblings[1].pk)]})
    assert messages_of(saved) == ["Saved: it sends from 2 numbers."]
    assert numbers_of(campaign) == [template_a.account, siblings[1]]
    html = saved.content.decode()
    assert re.search(rf'value="{siblings[1].pk}" id="id_numbers_\d+" checked', html)

    cleared = control(client, campaign, "numbers", {})
    assert messages_of(cleared) == ["Saved: it sends from 1 number."]
    assert numbers_of(campaign) == [template_a.account]


def test_the_pool_changes_while_paused_but_not_while_running(client, owner, template_a, siblings):
    campaign = pooled_campaign(template_a, siblings, status="running", started_at=timezone.now())
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'name="numbers"' not in html  # shown, not editable
    refused = control(client, campaign, "numbers", {"numbers": [str(siblings[0].pk)]})
    assert messages_of(refused) == ["cannot edit a running campaign"]
    assert len(numbers_of(campaign)) == 3

    Campaign.objects.filter(pk=campaign.pk).update(status="paused")
    assert 'name="numbers"' in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    taken_out = control(client, campaign, "numbers", {"numbers": [str(siblings[0].pk)]})
    assert messages_of(taken_out) == ["Saved: it sends from 2 numbers."]
    assert numbers_of(campaign) == [template_a.account, siblings[0]]


def test_taking_out_a_number_the_rate_needs_is_refused_with_the_services_message(
    client, owner, template_a, siblings
):
    campaign = pooled_campaign(template_a, siblings, status="draft", rate_limit=2500)
    client.force_login(owner)
    refused = control(client, campaign, "numbers", {"numbers": [str(siblings[0].pk)]})
    assert messages_of(refused) == [
        "A rate of 2,500 msg/s is more than its 2 numbers can send (1,000 msg/s each): at most "
        "2,000. Add numbers to the campaign to send faster."
    ]
    assert len(numbers_of(campaign)) == 3


def test_an_outsiders_number_cannot_be_added_on_the_campaign_page(
    client, owner, outsider, template_a, siblings, elsewhere
):
    campaign = CampaignFactory(template=template_a, status="draft")
    client.force_login(owner)
    refused = control(client, campaign, "numbers", {"numbers": [str(elsewhere["outsider"].pk)]})
    assert "is not one of the available choices" in messages_of(refused)[0]
    assert numbers_of(campaign) == [template_a.account]
    # and the outsider cannot touch the campaign at all
    client.force_login(outsider)
    response = client.post(f"/campaigns/{campaign.pk}/numbers/", {"numbers": []})
    assert response.status_code == 404
