"""GET /api/v1/campaigns/{id}/recipients/: by status (one or several), by phone (a full number
in any format, or its first digits), by wamid; cursor pages; the owner / member / outsider
cast."""

import pytest

from ..factories import CampaignFactory, RecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(template_a):
    campaign = CampaignFactory(template=template_a, status="running")
    rows = [
        ("+14155550100", "sent", "wamid.AAA"),
        ("+14155550101", "failed", None),
        ("+14155550199", "skipped", None),
        ("+447400123456", "delivered", "wamid.BBB"),
        ("+447400123457", "pending", None),
    ]
    for phone, status, wamid in rows:
        RecipientFactory(campaign=campaign, phone=phone, status=status, wamid=wamid)
    # Another campaign of the same workspace, with the same numbers: never listed here.
    other = CampaignFactory(template=template_a)
    RecipientFactory(campaign=other, phone="+14155550100", status="failed", wamid="wamid.CCC")
    return campaign


def phones(api, campaign, query=""):
    response = api.get(f"/api/v1/campaigns/{campaign.id}/recipients/?{query}")
    assert response.status_code == 200, response.json()
    return [row["phone"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=failed", ["+14155550101"]),
        ("status=failed,skipped", ["+14155550101", "+14155550199"]),
        ("status=failed&status=delivered", ["+14155550101", "+447400123456"]),
        (
            "status=",
            ["+14155550100", "+14155550101", "+14155550199", "+447400123456", "+447400123457"],
        ),
    ],
)
def test_recipients_filter_by_one_or_several_statuses(member_api, campaign, query, expected):
    assert phones(member_api, campaign, query) == expected


@pytest.mark.parametrize(
    "written",
    ["+14155550100", "+1 (415) 555-0100", "+1.415.555.0100", "0014155550100", "1 415 555 0100"],
)
def test_a_full_number_in_any_format_finds_that_recipient(owner_api, campaign, written):
    query = "phone=" + written.replace("+", "%2B").replace(" ", "%20")
    assert phones(owner_api, campaign, query) == ["+14155550100"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("%2B1415555010", ["+14155550100", "+14155550101"]),
        ("1415555", ["+14155550100", "+14155550101", "+14155550199"]),
        ("%2B44%207400", ["+447400123456", "+447400123457"]),
        ("%2B4474001234567", []),  # one digit too many
    ],
)
def test_the_first_digits_find_the_numbers_starting_with_them(
    owner_api, campaign, written, expected
):
    assert phones(owner_api, campaign, f"phone={written}") == expected


def test_phone_and_status_combine(owner_api, campaign):
    assert phones(owner_api, campaign, "phone=%2B44&status=pending") == ["+447400123457"]


def test_a_wamid_finds_its_recipient_of_this_campaign_only(owner_api, campaign):
    assert phones(owner_api, campaign, "wamid=wamid.BBB") == ["+447400123456"]
    assert phones(owner_api, campaign, "wamid=wamid.CCC") == []  # the other campaign's


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("status=failed,nope", "status"),
        ("phone=abc", "phone"),
        ("phone=" + "1" * 40, "phone"),
        ("page_size=0", "page_size"),
    ],
)
def test_a_value_that_cannot_be_read_is_a_400_naming_it(owner_api, campaign, query, field):
    response = owner_api.get(f"/api/v1/campaigns/{campaign.id}/recipients/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_an_unknown_status_names_the_known_ones(owner_api, campaign):
    response = owner_api.get(f"/api/v1/campaigns/{campaign.id}/recipients/?status=done")
    assert response.json()["status"] == [
        "Unknown status 'done'; one of pending, sending, sent, delivered, read, failed, "
        "skipped, unknown."
    ]


def test_filtered_recipients_page_by_cursor(owner_api, campaign):
    url = f"/api/v1/campaigns/{campaign.id}/recipients/?phone=%2B1&page_size=2"
    first = owner_api.get(url).json()
    assert [r["phone"] for r in first["results"]] == ["+14155550100", "+14155550101"]
    second = owner_api.get(first["next"]).json()
    assert [r["phone"] for r in second["results"]] == ["+14155550199"]
    assert second["next"] is None


def test_an_outsider_gets_404_whatever_the_filter(outsider_api, campaign):
    url = f"/api/v1/campaigns/{campaign.id}/recipients/?wamid=wamid.AAA"
    response = outsider_api.get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
