"""The new-campaign page in a browser: pick a template, choose an audience instead of a file,
pick a list, map the template's columns, create the draft and land on its preview."""

import os

import pytest

from campaigns.models import Campaign, ContactList

from ..audiences.contact_helpers import customers_list
from ..audiences.test_new_campaign_audience import NAMED_GREETING
from ..campaigns.conftest import make_template
from .browser import screenshot
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_choose_an_audience_map_the_columns_and_see_the_preview(
    page, live_server, owner, workspace_a
):
    named = make_template(workspace_a, NAMED_GREETING)
    template = make_template(workspace_a)  # delivery_window: body_param_1 … 4
    customers = customers_list(workspace_a)
    ContactList.objects.create(workspace=workspace_a, name="Staff")
    log_in(page, live_server)
    page.wait_for_selector("h1:has-text('Campaigns')")
    page.goto(f"{live_server.url}/campaigns/new/")

    page.fill("#id_name", "Parcels by list")
    page.select_option("#id_template", str(template.pk))
    assert page.is_hidden("#audience-choice")  # a file, until the audience is chosen
    page.check("text=Choose an audience")
    page.wait_for_selector("#audience-choice", state="visible")
    # only the chosen template's columns are shown
    assert page.is_visible(f".template-mapping[data-template='{template.pk}']")
    assert page.is_hidden(f".template-mapping[data-template='{named.pk}']")

    t = f"t{template.pk}-"
    page.select_option(f"select[name='w{workspace_a.pk}-lists']", str(customers.pk))
    page.select_option(f"select[name='{t}kind_body_param_1']", "field")
    page.select_option(f"select[name='{t}field_body_param_1']", "name")
    page.select_option(f"select[name='{t}kind_body_param_2']", "attribute")
    assert page.is_hidden(f"select[name='{t}field_body_param_2']")  # an attribute is typed
    page.fill(f"input[name='{t}arg_body_param_2']", "order_id")
    for column, text in (("body_param_3", "tomorrow"), ("body_param_4", "9-12")):
        page.select_option(f"select[name='{t}kind_{column}']", "text")
        page.fill(f"input[name='{t}arg_{column}']", text)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"new-campaign-audience-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is wider than a {width}px screen"
    page.set_viewport_size({"width": 1280, "height": 800})

    page.click("button:has-text('Create draft')")
    page.wait_for_selector("#audience-preview")
    preview = page.inner_text("#audience-preview")
    assert "2 recipients to add from 2 contacts" in preview
    assert "Hi Ana, your parcel PK-1 arrives tomorrow between 9-12." in preview
    campaign = Campaign.objects.get(name="Parcels by list")
    assert campaign.audience == {"lists": [str(customers.pk)]}
    assert campaign.mapping["body_param_2"] == "attribute:order_id"
    screenshot(page, "new-campaign-audience-preview")
