"""The Lists and Segments pages: a member manages lists (create, add by search, remove,
rename, delete) and segments (build from rows or JSON, the live count fragment, save, delete);
an outsider gets 404 on every page about another workspace's list or segment."""

import pytest
from django.test import Client

from campaigns.models import Contact, ContactList, ContactListMember, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_web(member):
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def outsider_web(outsider):
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def people(workspace_a):
    return [
        Contact.objects.create(workspace=workspace_a, phone="+911", name="Asha", tags=["vip"]),
        Contact.objects.create(workspace=workspace_a, phone="+912", name="Ravi", tags=["vip"]),
        Contact.objects.create(workspace=workspace_a, phone="+913", name="Maria"),
    ]


def test_nav_links_to_lists_and_segments(member_web):
    body = member_web.get("/lists/").content.decode()
    assert 'href="/lists/"' in body
    assert 'href="/segments/"' in body


def test_member_creates_a_list_adds_by_search_and_removes(member_web, workspace_a, people):
    response = member_web.post("/lists/", {"name": "VIP", "description": "Best"})
    contact_list = ContactList.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == f"/lists/{contact_list.pk}/"
    page = member_web.get(f"/lists/{contact_list.pk}/?q=asha").content.decode()
    assert "+911" in page
    assert "+912" not in page
    assert f"/contacts/import/?list={contact_list.pk}" in page
    member_web.post(
        f"/lists/{contact_list.pk}/members/add/", {"contact": [people[0].pk, people[1].pk]}
    )
    assert contact_list.members.count() == 2
    listing = member_web.get("/lists/").content.decode()
    assert "VIP" in listing
    assert ">2</td>" in listing
    member_web.post(f"/lists/{contact_list.pk}/members/remove/", {"contact": people[0].pk})
    assert list(contact_list.members.values_list("contact__phone", flat=True)) == ["+912"]
    member_web.post(f"/lists/{contact_list.pk}/edit/", {"name": "VIP 2", "description": ""})
    contact_list.refresh_from_db()
    assert contact_list.name == "VIP 2"
    member_web.post(f"/lists/{contact_list.pk}/delete/")
    assert not ContactList.objects.exists()


def test_adding_another_workspaces_contact_is_refused(member_web, workspace_a, workspace_b):
    contact_list = ContactList.objects.create(workspace=workspace_a, name="L")
    theirs = Contact.objects.create(workspace=workspace_b, phone="+1555")
    response = member_web.post(
        f"/lists/{contact_list.pk}/members/add/", {"contact": theirs.pk}, follow=True
    )
    assert "Not contacts of this workspace" in response.content.decode()
    assert not ContactListMember.objects.exists()


def rows(**extra):
    return {
        "name": "VIPs",
        "match": "all",
        "row-0-field": "tag",
        "row-0-op": "has",
        "row-0-value": "VIP",
        **extra,
    }


def test_the_live_count_fragment_counts_the_form_rows(member_web, people):
    response = member_web.post("/segments/count/", rows(), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<strong class="count">2</strong>' in body
    assert "+911" in body
    negated = member_web.post("/segments/count/", rows(**{"row-0-not": "on"})).content.decode()
    assert '<strong class="count">1</strong>' in negated


def test_the_live_count_names_the_bad_part(member_web, people):
    bad = rows(
        **{
            "row-1-field": "attribute",
            "row-1-key": "orders",
            "row-1-op": "gt",
            "row-1-value": "three",
        }
    )
    body = member_web.post("/segments/count/", bad).content.decode()
    assert "all[1].value: &#x27;gt&#x27; needs a number, got &#x27;three&#x27;" in body


def test_json_mode_for_nested_groups(member_web, people):
    data = {
        "advanced": "on",
        "rules_json": '{"any": [{"field": "name", "op": "eq", "value": "Maria"}, '
        '{"not": {"any": []}}]}',
    }
    body = member_web.post("/segments/count/", data).content.decode()
    assert '<strong class="count">3</strong>' in body
    broken = member_web.post("/segments/count/", {"advanced": "on", "rules_json": "{"}).content
    assert b"not JSON" in broken


def test_member_saves_renames_and_deletes_a_segment(member_web, workspace_a, people):
    response = member_web.post("/segments/new/", rows())
    segment = Segment.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert segment.rules == {"all": [{"field": "tag", "op": "has", "value": "vip"}]}
    page = member_web.get(f"/segments/{segment.pk}/").content.decode()
    assert 'name="row-0-value" value="vip"' in page
    member_web.post(f"/segments/{segment.pk}/", rows(name="Renamed"))
    segment.refresh_from_db()
    assert segment.name == "Renamed"
    assert "Renamed" in member_web.get("/segments/").content.decode()
    member_web.post(f"/segments/{segment.pk}/delete/")
    assert not Segment.objects.exists()


def test_a_malformed_segment_is_not_saved_and_says_why(member_web, people):
    response = member_web.post("/segments/new/", rows(**{"row-0-op": "eq"}))
    assert response.status_code == 400
    assert "all[0].op" in response.content.decode()
    assert not Segment.objects.exists()


def test_outsider_gets_404_on_every_page_of_another_workspace(outsider_web, workspace_a, people):
    contact_list = ContactList.objects.create(workspace=workspace_a, name="L")
    segment = Segment.objects.create(workspace=workspace_a, name="S", rules={"all": []})
    for url in (f"/lists/{contact_list.pk}/", f"/segments/{segment.pk}/"):
        assert outsider_web.get(url).status_code == 404
    for url, data in (
        (f"/lists/{contact_list.pk}/edit/", {"name": "Mine"}),
        (f"/lists/{contact_list.pk}/delete/", {}),
        (f"/lists/{contact_list.pk}/members/add/", {"contact": people[0].pk}),
        (f"/segments/{segment.pk}/", {"name": "Mine"}),
        (f"/segments/{segment.pk}/delete/", {}),
        ("/segments/count/", {"segment": str(segment.pk)}),
    ):
        assert outsider_web.post(url, data).status_code == 404, url
    assert ContactList.objects.get().name == "L"
    assert Segment.objects.get().name == "S"
    assert "L</a>" not in outsider_web.get("/lists/").content.decode()


def test_anonymous_is_sent_to_log_in(client):
    assert client.get("/lists/").status_code == 302
    assert client.get("/segments/").status_code == 302
