"""The new-campaign page's "Recipients" choice: upload a file (the detail page next) or choose
an audience there, lists, segments, exclusions and the chosen template's column mapping, the
draft created with them in one go; through the Django test client."""

import re

import pytest

from campaigns.models import Campaign, ContactList, Segment

from ..campaigns.conftest import make_template
from ..templates_app import meta_shapes
from .contact_helpers import customers_list

pytestmark = pytest.mark.django_db

NEW = "/campaigns/new/"

NAMED_GREETING = {
    **meta_shapes.APPOINTMENT,
    "id": "1711050032998899",
    "name": "named_greeting",
    "components": [
        {
            "type": "BODY",
            "text": "Hello {{name}}, your code is {{code}}.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "name", "example": "Leo"},
                    {"param_name": "code", "example": "A1"},
                ]
            },
        }
    ],
}


@pytest.fixture
def template(workspace_a):
    """delivery_window: body_param_1 … body_param_4."""
    return make_template(workspace_a)


@pytest.fixture
def customers(workspace_a):
    return customers_list(workspace_a)


def audience_form(template, customers, **overrides) -> dict:
    """The page's POST choosing `customers` and mapping delivery_window's four columns."""
    w, t = f"w{template.workspace_id}-", f"t{template.pk}-"
    form = {
        "name": "Parcels",
        "template": str(template.pk),
        "marketing_policy": "CLOUD_API_FALLBACK",
        "recipients": "audience",
        f"{w}lists": [str(customers.pk)],
        f"{t}kind_body_param_1": "field",
        f"{t}field_body_param_1": "name",
        f"{t}kind_body_param_2": "attribute",
        f"{t}arg_body_param_2": "order_id",
        f"{t}kind_body_param_3": "text",
        f"{t}arg_body_param_3": "tomorrow",
        f"{t}kind_body_param_4": "text",
        f"{t}arg_body_param_4": "9-12",
    }
    form.update({k.format(w=w, t=t): v for k, v in overrides.items()})
    return form


def error_of(response) -> str:
    match = re.search(
        r'<p class="error" id="recipients-error">(.*?)</p>', response.content.decode()
    )
    return match.group(1) if match else ""


def test_the_page_offers_an_audience_and_a_mapping_per_template(
    client, owner, template, customers, workspace_a
):
    named = make_template(workspace_a, NAMED_GREETING)
    Segment.objects.create(workspace=workspace_a, name="Everybody", rules={})
    client.force_login(owner)

    html = client.get(NEW).content.decode()

    assert 'name="recipients" value="upload"' in html
    assert 'name="recipients" value="audience"' in html
    assert f'name="w{workspace_a.pk}-lists"' in html
    assert f'name="w{workspace_a.pk}-exclude_segments"' in html
    assert f'<option value="{customers.pk}">Customers</option>' in html
    assert ">Everybody</option>" in html
    for n in range(1, 5):
        assert f'name="t{template.pk}-kind_body_param_{n}"' in html
    assert f'name="t{named.pk}-kind_body_name"' in html
    assert f'<div class="template-mapping" data-template="{template.pk}"' in html
    assert f'<div class="template-mapping" data-template="{named.pk}"' in html
    # a column named like a contact field starts mapped to it; the others start unmapped
    name_row = re.search(r'<tr data-column="body_name">.*?</tr>', html, re.S).group()
    assert '<option value="field" selected>' in name_row
    assert '<option value="name" selected>' in name_row
    code_row = re.search(r'<tr data-column="body_code">.*?</tr>', html, re.S).group()
    assert " selected" not in code_row


def test_choosing_an_audience_creates_the_draft_with_it_and_shows_the_preview(
    client, owner, template, customers, workspace_a
):
    vips = Segment.objects.create(  # nobody here is tagged vip
        workspace=workspace_a,
        name="VIPs",
        rules={"all": [{"field": "tag", "op": "has", "value": "vip"}]},
    )
    client.force_login(owner)

    response = client.post(
        NEW, audience_form(template, customers, **{"{w}exclude_segments": [str(vips.pk)]})
    )

    campaign = Campaign.objects.get(name="Parcels")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/audience/"
    assert campaign.status == "draft"
    assert campaign.audience == {"lists": [str(customers.pk)], "exclude_segments": [str(vips.pk)]}
    assert campaign.mapping == {
        "body_param_1": "field:name",
        "body_param_2": "attribute:order_id",
        "body_param_3": "text:tomorrow",
        "body_param_4": "text:9-12",
    }
    page = client.get(response["Location"]).content.decode()
    assert "Draft created with its audience" in page
    assert 'id="audience-preview"' in page
    assert "Hi Ana, your parcel PK-1 arrives tomorrow between 9-12." in page


def test_only_the_chosen_templates_mapping_is_read(client, owner, template, customers, workspace_a):
    named = make_template(workspace_a, NAMED_GREETING)
    client.force_login(owner)
    # the other template's inputs are posted too (they are on the page, hidden)
    form = audience_form(
        template,
        customers,
        **{f"t{named.pk}-kind_body_code": "text", f"t{named.pk}-arg_body_code": "X"},
    )

    assert client.post(NEW, form).status_code == 302
    assert "body_code" not in Campaign.objects.get(name="Parcels").mapping


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"{t}kind_body_param_2": "bogus"}, "unknown source &#x27;bogus&#x27;"),
        ({"{t}kind_shoe_size": "text", "{t}arg_shoe_size": "42"}, "is not a column of this"),
        ({"{t}field_body_param_1": "birthday"}, "unknown contact field"),
        ({"{t}kind_body_param_2": ""}, "Map every required column of the template: body_param_2"),
        ({"{t}arg_body_param_3": "a\nb"}, "body_param_3"),
        ({"{w}lists": []}, "Choose at least one list or segment"),
        ({"{w}lists": ["not-an-id"]}, "is not an id"),
    ],
)
def test_a_bad_audience_or_mapping_is_shown_and_no_draft_is_left(
    client, owner, template, customers, overrides, message
):
    client.force_login(owner)

    response = client.post(NEW, audience_form(template, customers, **overrides))

    assert response.status_code == 200
    assert message in error_of(response)
    assert not Campaign.objects.exists()
    html = response.content.decode()
    assert 'value="Parcels"' in html  # what was typed stays
    assert re.search(r'value="audience"[^>]*checked', html)


def test_a_list_of_another_workspace_is_refused(client, owner, template, customers, workspace_b):
    theirs = ContactList.objects.create(workspace=workspace_b, name="Theirs")
    client.force_login(owner)

    response = client.post(
        NEW, audience_form(template, customers, **{"{w}lists": [str(customers.pk), str(theirs.pk)]})
    )

    assert response.status_code == 200
    assert f"Unknown list {theirs.pk}." in error_of(response)
    assert not Campaign.objects.exists()
    html = response.content.decode()
    assert f'<option value="{customers.pk}" selected>Customers</option>' in html  # kept
    assert "Theirs" not in html


def test_an_outsider_cannot_use_the_workspaces_template_or_lists(
    client, outsider, template, customers, workspace_b
):
    make_template(workspace_b, name="their_template")
    client.force_login(outsider)

    page = client.get(NEW).content.decode()
    response = client.post(NEW, audience_form(template, customers))

    assert "Customers" not in page
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Campaign.objects.exists()


def test_an_outsiders_list_id_in_the_owners_form_is_an_error_not_a_500(
    client, owner, outsider, template, customers, workspace_b
):
    theirs = ContactList.objects.create(workspace=workspace_b, name="Charlie's")
    client.force_login(owner)

    response = client.post(
        NEW,
        audience_form(
            template,
            customers,
            **{"{w}lists": [str(theirs.pk)], "{w}exclude_lists": [str(customers.pk)]},
        ),
    )

    assert response.status_code == 200
    assert f"Unknown list {theirs.pk}." in error_of(response)
    assert not Campaign.objects.exists()


def test_uploading_a_file_keeps_the_redirect_to_the_detail_page(client, owner, template, customers):
    client.force_login(owner)
    # the audience inputs are on the page (hidden) and posted too: they are not read
    form = audience_form(template, customers, recipients="upload")

    response = client.post(NEW, form)

    campaign = Campaign.objects.get(name="Parcels")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.audience, campaign.mapping) == ({}, {})


def test_a_form_without_the_recipients_choice_is_an_upload(client, owner, template):
    client.force_login(owner)
    response = client.post(
        NEW,
        {"name": "Plain", "template": str(template.pk), "marketing_policy": "CLOUD_API_FALLBACK"},
    )
    campaign = Campaign.objects.get(name="Plain")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"


def test_a_workspace_without_lists_or_segments_gets_a_hint(client, owner, template):
    client.force_login(owner)

    html = client.get(NEW).content.decode()

    assert 'name="recipients" value="audience"' in html
    assert "This workspace has no lists or segments yet" in html
    assert 'href="/lists/"' in html
    assert 'href="/contacts/"' in html
    assert "-lists" not in html  # no empty selects


def test_the_audience_page_uses_the_same_chooser(client, owner, template, customers):
    from ..factories import CampaignFactory

    campaign = CampaignFactory(template=template, name="Parcels")
    client.force_login(owner)

    html = client.get(f"/campaigns/{campaign.pk}/audience/").content.decode()
    refused = client.post(
        f"/campaigns/{campaign.pk}/audience/",
        {"lists": [str(customers.pk)], "kind_body_param_1": "attribute", "arg_body_param_1": "x"},
    ).content.decode()

    assert 'name="lists"' in html
    assert 'class="map-kind" name="kind_body_param_1"' in html
    assert "Map every required column" in refused
    assert 'value="x"' in refused  # what was entered is shown again
    assert f'<option value="{customers.pk}" selected>' in refused


def test_each_workspace_has_its_lists_and_the_templates_own_are_read(
    client, owner, template, customers, workspace_b
):
    from accounts.models import Membership

    from ..factories import MembershipFactory

    MembershipFactory(user=owner, workspace=workspace_b, role=Membership.Role.MEMBER)
    theirs = make_template(workspace_b, name="b_template")
    b_list = ContactList.objects.create(workspace=workspace_b, name="B people")
    client.force_login(owner)

    html = client.get(NEW).content.decode()
    form = audience_form(theirs, b_list)
    form[f"w{customers.workspace_id}-lists"] = [str(customers.pk)]  # the other block: not read
    response = client.post(NEW, form)

    assert "Send to · Workspace A" in html
    assert "Send to · Workspace B" in html
    assert f'data-template="{theirs.pk}" data-workspace="{workspace_b.pk}"' in html
    campaign = Campaign.objects.get(name="Parcels")
    assert response["Location"] == f"/campaigns/{campaign.pk}/audience/"
    assert (campaign.workspace_id, campaign.audience) == (
        workspace_b.pk,
        {"lists": [str(b_list.pk)]},
    )
