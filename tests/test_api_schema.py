"""The OpenAPI schema (/api/v1/schema/) is valid, complete and documented; Swagger UI and ReDoc
(/api/v1/docs/, /api/v1/redoc/) load nothing from outside the server."""

import io
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats

# The operations that take no body at all (request=None): the URL says everything.
NO_REQUEST_BODY = {
    "/api/v1/campaigns/{id}/pause/",
    "/api/v1/campaigns/{id}/resume/",
    "/api/v1/campaigns/{id}/stop/",
    "/api/v1/campaigns/{id}/retry-failed/",
    "/api/v1/whatsapp-accounts/{id}/sync-templates/",
}


@pytest.fixture(scope="module")
def schema():
    out = io.StringIO()
    reset_generator_stats()
    call_command("spectacular", stdout=out)
    return yaml.safe_load(out.getvalue())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", path, method, operation


def test_schema_generates_without_warnings_and_validates():
    # Warnings accumulate per process: start from none, so only this generation counts.
    reset_generator_stats()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "spectacular", validate=True, fail_on_warn=True, file="/dev/null", stdout=out, stderr=err
    )
    assert "Warning" not in err.getvalue() + out.getvalue()


def test_every_operation_has_a_success_response_with_a_schema(schema):
    missing = []
    for name, _path, method, operation in operations(schema):
        success = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
        if not success:
            missing.append(f"{name}: no 2xx response")
        elif method != "delete" and not any(
            "schema" in media for r in success.values() for media in r.get("content", {}).values()
        ):
            missing.append(f"{name}: 2xx without a body schema")
    assert missing == []


def test_every_write_declares_its_request_body(schema):
    missing = [
        name
        for name, path, method, operation in operations(schema)
        if method in {"post", "put", "patch"}
        and path not in NO_REQUEST_BODY
        and "requestBody" not in operation
    ]
    assert missing == []
    declared = {
        path
        for _n, path, method, operation in operations(schema)
        if method == "post" and "requestBody" not in operation
    }
    assert declared == NO_REQUEST_BODY


def test_every_operation_has_an_example(schema):
    def examples(operation):
        bodies = [*operation.get("requestBody", {}).get("content", {}).values()]
        for response in operation["responses"].values():
            bodies.extend(response.get("content", {}).values())
        return [e for body in bodies for e in body.get("examples", {}).values()]

    without = [name for name, _p, _m, operation in operations(schema) if not examples(operation)]
    assert without == []


def test_errors_are_documented_with_the_shared_error_body(schema):
    ops = {name: operation for name, _p, _m, operation in operations(schema)}
    for name, operation in ops.items():
        if not name.startswith("POST /api/v1/auth/"):
            assert "401" in operation["responses"], name
        if "{id}" in name:
            assert "404" in operation["responses"], name
    error = {"$ref": "#/components/schemas/Error"}
    account = ops["DELETE /api/v1/whatsapp-accounts/{id}/"]["responses"]
    assert account["403"]["content"]["application/json"]["schema"] == error
    assert account["409"]["content"]["application/json"]["schema"] == error
    pause = ops["POST /api/v1/campaigns/{id}/pause/"]["responses"]["409"]
    example = next(iter(pause["content"]["application/json"]["examples"].values()))["value"]
    assert example == {"detail": "cannot pause a draft campaign", "code": "invalid_transition"}
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail", "code"}
    bad = ops["POST /api/v1/campaigns/"]["responses"]["400"]["content"]["application/json"]
    assert bad["schema"] == {"$ref": "#/components/schemas/ValidationError"}


def test_paginated_recipients_are_documented_as_cursor_pages(schema):
    page = schema["components"]["schemas"]["PaginatedRecipientList"]
    assert "count" not in page["properties"]  # cursor paging: no COUNT(*) to report
    assert {"next", "previous", "results"} <= set(page["properties"])


def test_import_report_detail_has_its_own_path(schema):
    assert "/api/v1/campaigns/{id}/imports/{report_id}/" in schema["paths"]
    listing = schema["paths"]["/api/v1/campaigns/{id}/imports/"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["type"] == "array"


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_only_this_servers_static_files(client, db, url):
    # given: anyone (the docs are public)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()

    # then: no CDN, no font service: nothing absolute at all
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html), html
    assets = ASSET.findall(html)
    assert assets, html
    assert all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    assert any(a.endswith(".js") for a in assets)
    assert "/api/v1/schema/" in html

    # and every asset is served (whitenoise, from the sidecar app's static files)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert len(body) > 100, asset


def test_swagger_ui_loads_its_stylesheet_and_bundle(client, db):
    html = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "swagger-ui-dist/swagger-ui.css" in html


def test_redoc_loads_its_standalone_bundle(client, db):
    html = client.get("/api/v1/redoc/").content.decode()
    assert "redoc/bundles/redoc.standalone.js" in html


def test_an_api_url_that_matches_no_route_is_a_json_404(client, db):
    # e.g. an id of the wrong form: Django's HTML page would contradict the schema
    response = client.get("/api/v1/opt-outs/-1/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
