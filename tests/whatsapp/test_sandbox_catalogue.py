"""The sandbox's template catalogue: Meta's shape, cursor paging, filters, single objects."""

import pytest
import pytest_asyncio
from yarl import URL

from whatsapp.sandbox import SandboxConfig, make_app
from whatsapp.sandbox.builtin_templates import TEMPLATES

from .test_sandbox_support import AUTH

pytestmark = pytest.mark.asyncio

LIST = "/v25.0/102290129340398/message_templates"


@pytest_asyncio.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app(SandboxConfig(webhooks=False)))


async def test_catalogue_has_every_shape_the_product_needs(client):
    resp = await client.get(LIST, params={"limit": "100"}, headers=AUTH)
    assert resp.status == 200
    data = (await resp.json())["data"]
    approved = [t for t in data if t["status"] == "APPROVED"]
    assert len(approved) >= 6
    assert {"PENDING", "PAUSED"} <= {t["status"] for t in data}

    def header(t):
        return next((c for c in t["components"] if c["type"] == "HEADER"), None)

    def buttons(t):
        comp = next((c for c in t["components"] if c["type"] == "BUTTONS"), {"buttons": []})
        return comp["buttons"]

    def has_vars(t):
        return any("{{" in c.get("text", "") for c in t["components"])

    assert any(not header(t) and not buttons(t) and has_vars(t) for t in approved)  # body only
    assert any(
        header(t)
        and header(t)["format"] == "TEXT"
        and any("{{" in b.get("url", "") for b in buttons(t))
        for t in approved
    )
    assert any(t["parameter_format"] == "NAMED" for t in approved)
    assert any(
        header(t)
        and header(t)["format"] == "IMAGE"
        and any(b["type"] == "COPY_CODE" for b in buttons(t))
        for t in approved
    )
    assert any(header(t) and header(t)["format"] == "DOCUMENT" for t in approved)
    assert any(not has_vars(t) for t in approved)


async def test_templates_are_in_metas_shape(client):
    resp = await client.get(LIST, params={"limit": "100"}, headers=AUTH)
    for tpl in (await resp.json())["data"]:
        assert {"id", "name", "language", "status", "category", "parameter_format"} <= set(tpl)
        assert tpl["id"].isdigit()
        assert tpl["category"] in {"MARKETING", "UTILITY", "AUTHENTICATION"}
        assert tpl["parameter_format"] in {"POSITIONAL", "NAMED"}
        assert tpl["quality_score"]["score"] in {"GREEN", "YELLOW", "RED", "UNKNOWN"}
        for comp in tpl["components"]:
            assert comp["type"] in {
                "HEADER",
                "BODY",
                "FOOTER",
                "BUTTONS",
                "CAROUSEL",
                "LIMITED_TIME_OFFER",
                "CALL_PERMISSION_REQUEST",
            }
            if comp["type"] == "BODY" and "{{" in comp["text"]:
                example = comp["example"]
                if tpl["parameter_format"] == "NAMED":
                    assert all(
                        {"param_name", "example"} == set(p)
                        for p in example["body_text_named_params"]
                    )
                else:
                    assert isinstance(example["body_text"][0], list)
            if comp["type"] == "HEADER" and comp["format"] in {"IMAGE", "VIDEO", "DOCUMENT"}:
                assert comp["example"]["header_handle"]
    named = next(t for t in TEMPLATES if t["name"] == "appointment_confirmed")
    assert named["components"][0]["example"]["body_text_named_params"][0] == {
        "param_name": "first_name",
        "example": "Leo",
    }


async def test_paging_walks_every_template_exactly_once(client):
    seen, url, pages = [], LIST + "?limit=3", 0
    while url:
        resp = await client.get(URL(url).path_qs, headers=AUTH)
        assert resp.status == 200
        body = await resp.json()
        pages += 1
        seen += [(t["name"], t["language"]) for t in body["data"]]
        paging = body["paging"]
        assert set(paging["cursors"]) == {"before", "after"}
        url = paging.get("next")
        if url:
            # a full URL on the sandbox, carrying the limit and the after cursor
            parsed = URL(url)
            assert parsed.is_absolute()
            assert parsed.host == "127.0.0.1"
            assert parsed.query["after"] == paging["cursors"]["after"]
            assert parsed.query["limit"] == "3"
    assert pages == -(-len(TEMPLATES) // 3) >= 3
    assert len(seen) == len(set(seen)) == len(TEMPLATES)


async def test_after_cursor_and_previous_link(client):
    first = await (await client.get(LIST, params={"limit": "2"}, headers=AUTH)).json()
    assert "previous" not in first["paging"]
    after = first["paging"]["cursors"]["after"]
    second = await (
        await client.get(LIST, params={"limit": "2", "after": after}, headers=AUTH)
    ).json()
    assert second["data"][0]["id"] == TEMPLATES[2]["id"]
    back = URL(second["paging"]["previous"])
    prev = await (await client.get(back.path_qs, headers=AUTH)).json()
    assert [t["id"] for t in prev["data"]] == [t["id"] for t in first["data"]]


async def test_last_page_has_no_next(client):
    body = await (await client.get(LIST, params={"limit": "1000"}, headers=AUTH)).json()
    assert len(body["data"]) == len(TEMPLATES)
    assert "next" not in body["paging"]


async def test_status_filter_and_fields(client):
    resp = await client.get(
        LIST, params={"status": "approved", "fields": "name,status", "limit": "100"}, headers=AUTH
    )
    data = (await resp.json())["data"]
    assert data
    assert all(t["status"] == "APPROVED" for t in data)
    assert all(set(t) == {"id", "name", "status"} for t in data)
    paused = await (await client.get(LIST, params={"status": "PAUSED"}, headers=AUTH)).json()
    assert [t["name"] for t in paused["data"]] == ["winter_coupon"]


async def test_listing_needs_a_token_and_valid_cursor(client):
    resp = await client.get(LIST)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == 190
    resp = await client.get(LIST, params={"after": "garbage!"}, headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == 100


async def test_listing_without_version_segment(client):
    resp = await client.get("/102290129340398/message_templates", headers=AUTH)
    assert resp.status == 200


async def test_get_template_and_phone_number_by_id(client):
    resp = await client.get("/v25.0/1593027718840066", params={"fields": "status"}, headers=AUTH)
    assert await resp.json() == {"id": "1593027718840066", "status": "APPROVED"}
    resp = await client.get("/v25.0/555000111", params={"fields": "throughput"}, headers=AUTH)
    assert await resp.json() == {"id": "555000111", "throughput": {"level": "STANDARD"}}
