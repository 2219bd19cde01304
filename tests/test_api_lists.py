"""The campaign and template lists: filters, ordering and pages, each inside the caller's
workspaces; a value the API cannot read is a 400 naming the parameter, never a 500."""

from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign

from .factories import CampaignFactory, MessageTemplateFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/campaigns/"
TEMPLATES = "/api/v1/templates/"


def names(api, url):
    response = api.get(url)
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture
def template_a(workspace_a):
    return MessageTemplateFactory(account__workspace=workspace_a)


@pytest.fixture
def cast(workspace_a, workspace_b):
    """Two accounts and templates in workspace A, one of each in B, campaigns on each."""
    account_1 = WhatsAppAccountFactory(workspace=workspace_a)
    account_2 = WhatsAppAccountFactory(workspace=workspace_a)
    template_1 = MessageTemplateFactory(account=account_1, name="parcel_notice")
    template_2 = MessageTemplateFactory(account=account_2, name="winter_sale")
    theirs = MessageTemplateFactory(account__workspace=workspace_b, name="parcel_theirs")
    rows = [
        ("Parcels March", template_1, "completed", 30, datetime(2026, 3, 1, 9, tzinfo=UTC)),
        ("Parcels April", template_1, "running", 10, datetime(2026, 4, 1, 9, tzinfo=UTC)),
        ("Winter sale", template_2, "draft", 20, datetime(2026, 1, 15, 9, tzinfo=UTC)),
        ("Parcels theirs", theirs, "completed", 99, datetime(2026, 3, 2, 9, tzinfo=UTC)),
    ]
    for name, template, status, total, created in rows:
        campaign = CampaignFactory(template=template, name=name, status=status)
        Campaign.objects.filter(pk=campaign.pk).update(created_at=created, total_recipients=total)
    return {"account_1": account_1, "template_1": template_1, "theirs": theirs}


# --- Campaigns: filters ----------------------------------------------------------------------


def test_campaigns_filter_by_template_and_account_within_the_workspace(owner_api, cast):
    template, account = cast["template_1"].id, cast["account_1"].id
    assert names(owner_api, f"{CAMPAIGNS}?template={template}") == [
        "Parcels April",
        "Parcels March",
    ]
    assert names(owner_api, f"{CAMPAIGNS}?account={account}") == [
        "Parcels April",
        "Parcels March",
    ]
    # Another workspace's template filters to nothing, not to its campaigns.
    assert names(owner_api, f"{CAMPAIGNS}?template={cast['theirs'].id}") == []


def test_campaigns_filter_by_creation_time_range(owner_api, cast):
    url = f"{CAMPAIGNS}?created_after=2026-02-01T00:00:00Z&created_before=2026-04-01T09:00:00Z"
    assert names(owner_api, url) == ["Parcels March"]  # before is exclusive
    offset = "created_after=2026-04-01T10:00:00%2B02:00"  # 08:00 UTC
    assert names(owner_api, f"{CAMPAIGNS}?{offset}") == ["Parcels April"]


def test_campaigns_search_by_part_of_the_name_in_any_case(owner_api, member_api, cast):
    assert names(owner_api, f"{CAMPAIGNS}?search=PARCELS") == ["Parcels April", "Parcels March"]
    assert names(member_api, f"{CAMPAIGNS}?search=winter&status=draft") == ["Winter sale"]


def test_an_outsider_filters_only_their_own_campaigns(outsider_api, cast):
    assert names(outsider_api, f"{CAMPAIGNS}?search=parcels") == ["Parcels theirs"]
    assert names(outsider_api, f"{CAMPAIGNS}?template={cast['template_1'].id}") == []
    assert names(outsider_api, f"{CAMPAIGNS}?status=running") == []


# --- Campaigns: ordering ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["Parcels April", "Parcels March", "Winter sale"]),  # newest first
        ("created_at", ["Winter sale", "Parcels March", "Parcels April"]),
        ("name", ["Parcels April", "Parcels March", "Winter sale"]),
        ("-name", ["Winter sale", "Parcels March", "Parcels April"]),
        ("-total_recipients", ["Parcels March", "Winter sale", "Parcels April"]),
        ("status,name", ["Parcels March", "Winter sale", "Parcels April"]),
    ],
)
def test_campaigns_are_ordered_as_asked(owner_api, cast, ordering, expected):
    assert names(owner_api, f"{CAMPAIGNS}?ordering={ordering}") == expected


def test_ties_keep_their_order_across_pages(owner_api, template_a):
    for _ in range(7):
        CampaignFactory(template=template_a, name="Same")
    seen = []
    for page in (1, 2, 3, 4):
        body = owner_api.get(f"{CAMPAIGNS}?ordering=name&page_size=2&page={page}").json()
        seen += [row["id"] for row in body["results"]]
    assert len(seen) == len(set(seen)) == 7


# --- Pages -----------------------------------------------------------------------------------


def test_page_size_is_capped_at_200(owner_api, template_a):
    CampaignFactory.create_batch(3, template=template_a)
    body = owner_api.get(f"{CAMPAIGNS}?page_size=2").json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert "page=2" in body["next"]
    Campaign.objects.bulk_create(
        [
            Campaign(
                workspace=template_a.workspace,
                account=template_a.account,
                template=template_a,
                name=f"C{i}",
            )
            for i in range(250)
        ]
    )
    assert len(owner_api.get(f"{CAMPAIGNS}?page_size=1000").json()["results"]) == 200
    assert len(owner_api.get(CAMPAIGNS).json()["results"]) == 50  # the default stays


@pytest.mark.parametrize("size", ["0", "-3", "ten", "2.5"])
def test_a_page_size_that_is_not_a_positive_number_is_a_400(owner_api, size):
    response = owner_api.get(f"{CAMPAIGNS}?page_size={size}")
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_a_page_past_the_end_is_a_404_with_its_code(owner_api, template_a):
    CampaignFactory(template=template_a)
    for page in ("2", "abc"):
        response = owner_api.get(f"{CAMPAIGNS}?page={page}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page.", "code": "not_found"}


# --- Bad values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("template=not-a-uuid", "template"),
        ("account=1234", "account"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2026-13-01T00:00:00Z", "created_before"),
        ("created_after=2026-01-01T00:00:00", "created_after"),  # no time zone
        ("ordering=password", "ordering"),
        ("ordering=name,-secret", "ordering"),
    ],
)
def test_a_filter_value_that_cannot_be_read_is_a_400_naming_it(owner_api, query, field):
    response = owner_api.get(f"{CAMPAIGNS}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_an_unknown_status_names_the_known_ones(owner_api):
    response = owner_api.get(f"{CAMPAIGNS}?status=done")
    assert response.json()["status"] == [
        "Unknown status 'done'; one of draft, scheduled, running, paused, completed, stopped, "
        "failed."
    ]


def test_a_naive_time_says_it_needs_a_time_zone(owner_api):
    response = owner_api.get(f"{CAMPAIGNS}?created_after=2026-01-01T00:00:00")
    assert "needs a time zone" in response.json()["created_after"][0]
    assert "write + as %2B" in response.json()["created_after"][0]


# --- Templates -------------------------------------------------------------------------------


@pytest.fixture
def catalogue(workspace_a, workspace_b):
    account = WhatsAppAccountFactory(workspace=workspace_a)
    other = WhatsAppAccountFactory(workspace=workspace_a)
    MessageTemplateFactory(account=account, name="alpha", language="en_US", category="UTILITY")
    MessageTemplateFactory(
        account=account, name="bravo", language="pt_BR", status="PAUSED", category="MARKETING"
    )
    MessageTemplateFactory(account=other, name="charlie", language="en_US", category="MARKETING")
    MessageTemplateFactory(account__workspace=workspace_b, name="alpha_theirs")
    return {"account": account}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["alpha", "bravo", "charlie"]),
        ("status=paused", ["bravo"]),
        ("category=marketing", ["bravo", "charlie"]),
        ("language=en_US", ["alpha", "charlie"]),
        ("search=ALPH", ["alpha"]),
        ("ordering=-name", ["charlie", "bravo", "alpha"]),
        ("ordering=language,-name", ["charlie", "alpha", "bravo"]),
        ("ordering=category,name", ["bravo", "charlie", "alpha"]),
    ],
)
def test_templates_filter_and_order_within_the_workspace(owner_api, catalogue, query, expected):
    assert names(owner_api, f"{TEMPLATES}?{query}") == expected


def test_templates_filter_by_account(member_api, outsider_api, catalogue):
    url = f"{TEMPLATES}?account={catalogue['account'].id}"
    assert names(member_api, url) == ["alpha", "bravo"]
    assert names(outsider_api, url) == []
    assert names(outsider_api, f"{TEMPLATES}?search=alpha") == ["alpha_theirs"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=GREAT", "status"),
        ("category=SPAM", "category"),
        ("account=x", "account"),
        ("ordering=components", "ordering"),
        ("page_size=0", "page_size"),
    ],
)
def test_a_template_filter_value_that_cannot_be_read_is_a_400(owner_api, query, field):
    response = owner_api.get(f"{TEMPLATES}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_schema_documents_the_list_parameters(owner_api):
    schema = owner_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]

    def params(path, method="get"):
        return {p["name"]: p for p in paths[path][method]["parameters"] if p["in"] == "query"}

    campaigns = params("/api/v1/campaigns/")
    for name in ("status", "template", "account", "created_after", "created_before", "search"):
        assert name in campaigns
    assert "-total_recipients" in campaigns["ordering"]["schema"]["items"]["enum"]
    assert campaigns["page_size"]["schema"]["maximum"] == 200
    assert {"account", "status", "category", "language", "search", "ordering"} <= set(
        params("/api/v1/templates/")
    )
    recipients = params("/api/v1/campaigns/{id}/recipients/")
    assert {"status", "phone", "wamid", "cursor", "page_size"} <= set(recipients)
    assert "ordering" not in recipients  # the campaign list's filters are not the recipients'
