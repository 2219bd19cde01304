"""GET /api/v1/templates/: its filters are checked, never handed to the database as they come
(Schemathesis found a NUL in `search` answered with a 500)."""

import pytest

from ..factories import MessageTemplateFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"search": "a\x00b"}, "search"),
        ({"status": "\x00"}, "status"),
        ({"account": "not-a-uuid"}, "account"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(owner_api, params, field):
    response = owner_api.get("/api/v1/templates/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_filters_still_filter(owner_api, workspace_a):
    account = WhatsAppAccountFactory(workspace=workspace_a)
    wanted = MessageTemplateFactory(account=account, name="parcel_update")
    MessageTemplateFactory(account=account, name="welcome")
    for params in (
        {"search": " parcel "},
        {"account": str(account.id), "search": "parcel", "status": "approved"},
        {"account": "", "category": "utility", "search": "parcel"},
    ):
        rows = owner_api.get("/api/v1/templates/", params).json()["results"]
        assert [r["id"] for r in rows] == [str(wanted.id)], params
