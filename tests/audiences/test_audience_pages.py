"""The dashboard's "choose an audience" page: lists, segments, the column mapping, the
preview, save; through the Django test client."""

import pytest

from campaigns.models import Campaign, Contact, ContactListMember

from ..campaigns.conftest import make_template
from ..factories import CampaignFactory
from .contact_helpers import customers_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(workspace_a):
    return CampaignFactory(template=make_template(workspace_a), name="Parcels")


@pytest.fixture
def customers(workspace_a):
    return customers_list(workspace_a)


def mapping_form(customers, **overrides) -> dict:
    form = {
        "lists": [str(customers.pk)],
        "kind_body_param_1": "field",
        "field_body_param_1": "name",
        "kind_body_param_2": "attribute",
        "arg_body_param_2": "order_id",
        "kind_body_param_3": "text",
        "arg_body_param_3": "tomorrow",
        "kind_body_param_4": "text",
        "arg_body_param_4": "9-12",
    }
    form.update(overrides)
    return form


def test_the_detail_page_offers_an_audience_beside_the_upload(client, owner, campaign):
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "choose an audience" in html
    assert f"/campaigns/{campaign.pk}/audience/" in html


def test_the_page_shows_one_row_per_template_variable(client, owner, campaign, customers):
    client.force_login(owner)
    response = client.get(f"/campaigns/{campaign.pk}/audience/")
    assert response.status_code == 200
    html = response.content.decode()
    for n in range(1, 5):
        assert f'data-column="body_param_{n}"' in html
    assert "Customers" in html
    assert "audience-preview" not in html  # nothing chosen yet


def test_saving_an_audience_stores_it_and_shows_the_preview(client, owner, campaign, customers):
    client.force_login(owner)
    response = client.post(f"/campaigns/{campaign.pk}/audience/", mapping_form(customers))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.audience == {"lists": [str(customers.pk)]}
    assert campaign.mapping == {
        "body_param_1": "field:name",
        "body_param_2": "attribute:order_id",
        "body_param_3": "text:tomorrow",
        "body_param_4": "text:9-12",
    }
    html = client.get(response["Location"]).content.decode()
    assert 'data-field="audience_count">2<' in html
    assert "Hi Ana, your parcel PK-1 arrives tomorrow between 9-12." in html
    detail = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "resolved when sent" in detail


def test_a_bad_mapping_is_shown_and_nothing_is_saved(client, owner, campaign, customers):
    client.force_login(owner)
    form = mapping_form(customers, kind_body_param_2="")  # a required column left unmapped
    response = client.post(f"/campaigns/{campaign.pk}/audience/", form, follow=True)
    assert response.status_code == 200
    assert "body_param_2" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.audience == {}


def test_a_rejected_contact_is_listed_in_the_preview(
    client, owner, campaign, customers, workspace_a
):
    lacking = Contact.objects.create(workspace=workspace_a, phone="+14155550009", name="Cleo")
    ContactListMember.objects.create(contact_list=customers, contact=lacking)
    client.force_login(owner)
    client.post(f"/campaigns/{campaign.pk}/audience/", mapping_form(customers))
    html = client.get(f"/campaigns/{campaign.pk}/audience/").content.decode()
    assert "+14155550009: body_param_2 is empty (from attribute:order_id)" in html


def test_an_outsider_gets_404_on_the_audience_page(client, outsider, campaign, customers):
    client.force_login(outsider)
    assert client.get(f"/campaigns/{campaign.pk}/audience/").status_code == 404
    response = client.post(f"/campaigns/{campaign.pk}/audience/", mapping_form(customers))
    assert response.status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).audience == {}
