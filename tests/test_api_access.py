"""The access matrix of the whole API, generated from the URL configuration: every endpoint
under /api/v1/ and every method it allows, called as anonymous, outsider, member and owner
(docs/api.md, Roles). An endpoint missing from EXPECTED fails the suite, so a new one cannot
be added without deciding who may call it."""

import pytest
import responses
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .api_world import build_world, recipient_rows
from .conftest import jwt_client
from .templates_app import meta_shapes
from .templates_app.test_sync import serve_pages

API_PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")

PUBLIC = "public"  # anyone, no token
WORKSPACE = "workspace"  # any member of the object's workspace
OWNER_ONLY = "owner-only"  # an owner of the object's workspace; a member gets 403

EXPECTED = {
    "POST token_obtain_pair": PUBLIC,
    "POST token_refresh": PUBLIC,
    "GET schema": PUBLIC,
    "GET docs": PUBLIC,
    "GET redoc": PUBLIC,
    "GET me": WORKSPACE,
    "POST send_bulk": WORKSPACE,
    "POST whatsapp-account-sync-templates": WORKSPACE,
    "GET whatsapp-account-list": WORKSPACE,
    "POST whatsapp-account-list": OWNER_ONLY,
    "GET whatsapp-account-detail": WORKSPACE,
    "PUT whatsapp-account-detail": OWNER_ONLY,
    "PATCH whatsapp-account-detail": OWNER_ONLY,
    "DELETE whatsapp-account-detail": OWNER_ONLY,
    "GET template-list": WORKSPACE,
    "GET template-detail": WORKSPACE,
    "GET template-sample": WORKSPACE,
    "GET campaign-list": WORKSPACE,
    "POST campaign-list": WORKSPACE,
    "GET campaign-detail": WORKSPACE,
    "PATCH campaign-detail": WORKSPACE,
    "DELETE campaign-detail": WORKSPACE,
    "GET campaign-recipients": WORKSPACE,
    "POST campaign-recipients": WORKSPACE,
    "GET campaign-imports": WORKSPACE,
    "GET campaign-import-detail": WORKSPACE,
    "GET campaign-import-rejections": WORKSPACE,
    "GET campaign-preflight": WORKSPACE,
    "POST campaign-send": WORKSPACE,
    "POST campaign-pause": WORKSPACE,
    "POST campaign-resume": WORKSPACE,
    "POST campaign-stop": WORKSPACE,
    "POST campaign-set-status": WORKSPACE,
    "POST campaign-rerun": WORKSPACE,
    "POST campaign-retry-failed": WORKSPACE,
    "GET campaign-export": WORKSPACE,
    "GET campaign-stats": WORKSPACE,
    "GET opt-out-list": WORKSPACE,
    "GET opt-out-detail": WORKSPACE,
    "GET opt-out-export": WORKSPACE,
    "GET workspace-list": WORKSPACE,
    "GET workspace-detail": WORKSPACE,
    "PATCH workspace-detail": OWNER_ONLY,
    "GET campaign-audience-preview": WORKSPACE,
    "GET contact-list": WORKSPACE,
    "POST contact-list": WORKSPACE,
    "GET contact-detail": WORKSPACE,
    "PATCH contact-detail": WORKSPACE,
    "DELETE contact-detail": WORKSPACE,
    "GET contact-timeline": WORKSPACE,
    "GET contact-export": WORKSPACE,
    "POST contact-import-file": WORKSPACE,
    "GET contact-imports": WORKSPACE,
    "GET contact-import-detail": WORKSPACE,
    "GET contact-import-rejections": WORKSPACE,
    "GET list-list": WORKSPACE,
    "POST list-list": WORKSPACE,
    "GET list-detail": WORKSPACE,
    "PATCH list-detail": WORKSPACE,
    "DELETE list-detail": WORKSPACE,
    "GET list-members": WORKSPACE,
    "POST list-members": WORKSPACE,
    "DELETE list-members": WORKSPACE,
    "GET segment-list": WORKSPACE,
    "POST segment-list": WORKSPACE,
    "POST segment-preview-rules": WORKSPACE,
    "GET segment-detail": WORKSPACE,
    "PATCH segment-detail": WORKSPACE,
    "DELETE segment-detail": WORKSPACE,
    "GET segment-preview": WORKSPACE,
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.lstrip("^").startswith(API_PREFIX):
            yield entry


def _methods(pattern: URLPattern) -> list[str]:
    callback = pattern.callback
    view = callback.cls
    allowed = [m for m in METHODS if m in view.http_method_names]
    actions = getattr(callback, "actions", None)  # a viewset's routes: {method: action}
    if actions is not None:
        return [m for m in allowed if m in actions]
    return [m for m in allowed if hasattr(view, m)]


def api_endpoints() -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in _walk(get_resolver().url_patterns):
        assert pattern.name, f"unnamed API route {pattern.pattern}: name it"
        found.extend((f"{m.upper()} {pattern.name}", pattern) for m in _methods(pattern))
    return found


ENDPOINTS = api_endpoints()


def test_every_endpoint_has_an_expectation_and_every_expectation_an_endpoint():
    assert sorted(key for key, _ in ENDPOINTS) == sorted(EXPECTED)


def _url(pattern: URLPattern, world) -> str:
    name = pattern.name
    resource = world.campaign
    if name.startswith("whatsapp-account"):
        resource = world.account
    elif name.startswith("template-"):
        resource = world.template
    elif name.startswith("opt-out-"):
        resource = world.opt_out
    elif name.startswith("contact-"):
        resource = world.contact
    elif name.startswith("list-"):
        resource = world.contact_list
    elif name.startswith("segment-"):
        resource = world.segment
    elif name.startswith("workspace-"):
        resource = world.campaign.workspace
    report = world.contact_import if name.startswith("contact-import") else world.report
    by_kwarg = {"pk": resource.pk, "report_id": report.pk, "contact_id": world.contact.pk}
    kwargs = {k: str(by_kwarg[k]) for k in pattern.pattern.regex.groupindex}
    return reverse(name, kwargs=kwargs)


def _body(key: str, world, username: str):
    template_id = str(world.template.pk)
    new_account = {
        "name": "Another number",
        "waba_id": "102290129340398",
        "phone_number_id": "106540352242001",
        "display_phone_number": "15550783001",
        "access_token": "EAAG-new-token",
        "app_secret": "new-secret",
    }
    return {
        "POST token_obtain_pair": {"username": username, "password": "password-123"},
        "POST send_bulk": {
            "name": "Bulk",
            "template_id": template_id,
            "recipients": recipient_rows(1),
        },
        "POST whatsapp-account-list": new_account,
        "PUT whatsapp-account-detail": {**new_account, "name": "Renamed"},
        "PATCH whatsapp-account-detail": {"name": "Renamed"},
        "POST campaign-list": {"name": "New", "template_id": template_id},
        "PATCH campaign-detail": {"name": "Renamed"},
        "POST campaign-recipients": recipient_rows(2),
        "POST campaign-send": {},
        "POST campaign-set-status": {"status": "stopped"},
        "POST campaign-rerun": {"segment": "all"},
        "PATCH workspace-detail": {
            "frequency_cap": {"marketing": {"messages": 1, "per_hours": 24}}
        },
        "POST contact-list": {"country_code": "+44", "phone_number": "7700900999", "name": "Jo"},
        "PATCH contact-detail": {"name": "Priya R"},
        "POST list-list": {"name": "New list"},
        "PATCH list-detail": {"name": "Renamed list"},
        "POST list-members": {"contacts": [world.contact.pk]},
        "DELETE list-members": {"contacts": [world.contact.pk]},
        "POST segment-list": {
            "name": "New",
            "rules": {"all": [{"field": "tag", "op": "has", "value": "x"}]},
        },
        "PATCH segment-detail": {"name": "Renamed"},
        "POST segment-preview-rules": {
            "rules": {"all": [{"field": "tag", "op": "has", "value": "vip"}]}
        },
    }.get(key)


def _call(client, key, pattern, world, username="alice"):
    method = key.split()[0].lower()
    url = _url(pattern, world)
    body = _body(key, world, username)
    if key == "POST token_refresh":
        from rest_framework_simplejwt.tokens import RefreshToken

        from accounts.models import Membership

        user = Membership.objects.filter(workspace=world.campaign.workspace).first().user
        body = {"refresh": str(RefreshToken.for_user(user))}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as meta:
        # sync-templates reads the catalogue from Meta: served here, never the network
        serve_pages(meta, world.account, meta_shapes.ALL)
        return getattr(client, method)(url, body, format="json")


def _is_object_url(pattern) -> bool:
    return bool(pattern.pattern.regex.groupindex)


@pytest.fixture
def world(workspace_a, owner, member):
    return build_world(workspace_a)


@pytest.mark.parametrize(("key", "pattern"), ENDPOINTS, ids=[k for k, _ in ENDPOINTS])
def test_anonymous_gets_401_except_on_the_public_endpoints(anon_api, world, key, pattern):
    response = _call(anon_api, key, pattern, world)
    if EXPECTED[key] == PUBLIC:
        assert response.status_code not in (401, 403, 404), response.content[:300]
        assert response.status_code < 500
    else:
        assert response.status_code == 401, response.content[:300]


@pytest.mark.parametrize(("key", "pattern"), ENDPOINTS, ids=[k for k, _ in ENDPOINTS])
def test_outsider_gets_404_for_every_object_of_another_workspace(outsider, world, key, pattern):
    response = _call(jwt_client(outsider), key, pattern, world, username="charlie")
    if _is_object_url(pattern):
        assert response.status_code == 404, response.content[:300]
    else:
        # their own (empty) lists, their own workspace: never a glimpse of workspace A
        assert response.status_code not in (401, 403)
        assert response.status_code < 500
        if EXPECTED[key] != PUBLIC:
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode(errors="replace")
            assert not any(i in body for i in world.ids()), body[:300]


@pytest.mark.parametrize(("key", "pattern"), ENDPOINTS, ids=[k for k, _ in ENDPOINTS])
def test_owner_may_call_every_endpoint(owner, world, key, pattern):
    response = _call(jwt_client(owner), key, pattern, world)
    assert response.status_code not in (401, 403, 404), response.content[:300]
    assert response.status_code < 500, response.content[:300]


@pytest.mark.parametrize(("key", "pattern"), ENDPOINTS, ids=[k for k, _ in ENDPOINTS])
def test_member_may_call_every_endpoint_but_the_owner_only_writes(member, world, key, pattern):
    response = _call(jwt_client(member), key, pattern, world, username="bob")
    if EXPECTED[key] == OWNER_ONLY:
        assert response.status_code == 403, response.content[:300]
        assert response.json()["code"] == "permission_denied"
    else:
        assert response.status_code not in (401, 403, 404), response.content[:300]
        assert response.status_code < 500, response.content[:300]


def test_the_owner_really_succeeds_where_the_body_is_valid(owner, world):
    # A 400 counts as "allowed" above; make sure the bodies given are the valid ones, so that
    # the matrix exercises the writes themselves and not only their validation.
    client = jwt_client(owner)
    by_key = dict(ENDPOINTS)
    for key in ("POST campaign-list", "PATCH campaign-detail", "POST campaign-recipients"):
        assert _call(client, key, by_key[key], world).status_code in (200, 201), key
    for key in ("POST whatsapp-account-list", "PATCH whatsapp-account-detail"):
        assert _call(client, key, by_key[key], world).status_code in (200, 201), key
    assert _call(client, "POST send_bulk", by_key["POST send_bulk"], world).status_code == 201
