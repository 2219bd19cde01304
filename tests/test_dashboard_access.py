"""Every dashboard page, walked from the URL configuration so that a new page cannot escape:
anonymous → the login page, outsider → 404 on each object's page (GET and POST alike), and
the owner and member see the pages they may. The API has its own matrix (test_api_access)."""

import pytest
from django.urls import URLPattern, get_resolver

from .api_world import build_world

pytestmark = pytest.mark.django_db

# Public on purpose: the login pages, the webhook receiver, and a tracked link's redirect
# (tests/campaigns/test_clicks.py: the token is its only credential).
SKIPPED = {
    "login",
    "logout",
    "admin_login",
    "whatsapp_webhook",
    "workspace_switch",
    "click_redirect",
}
# name: (method the page answers, what the owner and the member get)
PAGES = {
    "campaign_list": ("get", 200),
    "campaign_new": ("get", 200),
    "campaign_detail": ("get", 200),
    "campaign_upload": ("post", 302),
    "campaign_upload_confirm": ("post", 302),
    "campaign_upload_problems": ("get", 404),  # no preview waiting
    "campaign_upload_preview": ("get", 404),  # no preview waiting
    "campaign_upload_cancel": ("post", 302),
    "campaign_live": ("get", 200),
    "campaign_recipients": ("get", 302),  # without htmx: the page, at its table
    "campaign_export": ("get", 302),
    "campaign_control": ("post", 302),
    "template_list": ("get", 200),
    "template_detail": ("get", 200),
    "template_sync": ("post", 302),
    "number_list": ("get", 200),
    "number_new": ("get", 200),  # the member: 302, back to the list with a message
    "number_detail": ("get", 200),
    "number_test": ("post", 302),
    "number_delete": ("post", 302),
    "optout_list": ("get", 200),
    "optout_add": ("post", 302),
    "optout_import": ("post", 302),
    "optout_export": ("get", 200),
    "optout_remove": ("get", 200),  # the confirmation page
    "campaign_audience": ("get", 200),
    "contact_list": ("get", 200),
    "contact_import": ("post", 302),
    "contact_import_preview": ("get", 404),  # no preview waiting
    "contact_import_confirm": ("post", 302),
    "contact_import_cancel": ("post", 302),
    "contact_import_problems": ("get", 404),  # no preview waiting
    "contact_export": ("get", 200),
    "contact_detail": ("get", 200),
    "contact_timeline": ("get", 200),
    "contact_subscription": ("post", 302),
    "contact_erase": ("get", 200),  # the confirmation page
    "list_index": ("get", 200),
    "list_detail": ("get", 200),
    "list_edit": ("post", 302),
    "list_delete": ("post", 302),
    "list_members_change": ("post", 302),
    "segment_index": ("get", 200),
    "segment_new": ("get", 200),
    "segment_count": ("post", 200),  # the builder's live count (htmx)
    "segment_builder": ("get", 200),
    "segment_delete": ("post", 302),
}


# Pages only an owner may open (connecting a number: its credentials).
OWNER_ONLY = {"number_new"}


def dashboard_patterns() -> dict[str, URLPattern]:
    found = {}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLPattern) and entry.name and entry.name not in SKIPPED:
            found[entry.name] = entry
    return found


def test_every_dashboard_page_is_in_the_matrix():
    assert set(dashboard_patterns()) == set(PAGES)


def url_for(name: str, world) -> str:
    from django.urls import reverse

    kwargs = {}
    pattern = dashboard_patterns()[name].pattern
    converters = getattr(pattern, "converters", {})
    for key in converters:
        kwargs[key] = {
            "campaign_id": world.campaign.pk,
            "template_id": world.template.pk,
            "account_id": world.account.pk,
            "optout_id": world.opt_out.pk,
            "action": "pause",
            "list_id": world.contact_list.pk,
            "change": "add",
            "segment_id": world.segment.pk,
            "contact_id": world.contact.pk,
        }[key]
    return reverse(name, kwargs=kwargs)


def has_object(name: str) -> bool:
    return bool(getattr(dashboard_patterns()[name].pattern, "converters", {}))


@pytest.fixture
def world(workspace_a, owner, member):
    return build_world(workspace_a)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_is_sent_to_the_login_page(client, world, name):
    method, _ = PAGES[name]
    response = getattr(client, method)(url_for(name, world))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", sorted(n for n in PAGES if has_object(n)))
def test_an_outsider_gets_404_for_each_object_page(client, outsider, world, name):
    client.force_login(outsider)
    url = url_for(name, world)
    assert client.get(url).status_code in (404, 405)
    assert client.post(url).status_code in (404, 405)


@pytest.mark.parametrize("name", sorted(n for n in PAGES if PAGES[n][0] == "get"))
@pytest.mark.parametrize("who", ["owner", "member"])
def test_the_workspace_sees_its_pages(client, request, world, name, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url_for(name, world))
    expected = PAGES[name][1]
    if who == "member" and name in OWNER_ONLY:
        expected = 302  # refused with a message on the page it came from
    assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize("name", sorted(n for n in PAGES if PAGES[n][0] == "post"))
def test_every_dashboard_form_needs_its_csrf_token(world, owner, name):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)

    response = strict.post(url_for(name, world), {})

    assert response.status_code == 403
    world.campaign.refresh_from_db()
    assert world.campaign.status == "draft"  # nothing happened


def test_the_login_forms_need_their_csrf_token(owner):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    for url in ("/accounts/login/", "/admin/login/", "/accounts/logout/", "/workspace/"):
        response = strict.post(url, {"username": "alice", "password": "password-123"})
        assert response.status_code == 403, url
