"""A campaign that sends from two numbers, in a browser: the new-campaign page offers only the
chosen template's WABA's other numbers, tick one, create, and the campaign page shows both,
what each sent and the recipients' "From" column, at a desktop's and a phone's width."""

import os

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.models_numbers import numbers_of
from campaigns.tracking import campaign_recount
from config.redis import get_redis

from ..campaigns.conftest import make_template
from ..campaigns.test_dashboard_controls import VALUES
from ..factories import RecipientFactory, WhatsAppAccountFactory
from .browser import ARTIFACTS, screenshot
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

WIDTHS = ((1366, 900), (390, 844))


def fits_every_width(page, name: str, part: str) -> None:
    """Screenshots of the page and of `part` (to look at closely) at each width."""
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{width}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(part).screenshot(path=str(ARTIFACTS / f"{name}-{width}-part.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is wider than a {width}px screen"
    page.set_viewport_size({"width": 1280, "height": 800})


def box(page, account):
    return page.locator(f"#numbers-choice .number-choice[data-account='{account.pk}']")


def test_tick_a_second_number_create_and_see_both_on_the_campaign_page(
    page, live_server, owner, workspace_a
):
    template = make_template(workspace_a)
    own = template.account
    own.name, own.display_phone_number = "Main line", "+1 555-010-0001"
    own.save()
    second = WhatsAppAccountFactory(
        workspace=workspace_a,
        waba_id=own.waba_id,
        name="Sales line with a rather long name",
        display_phone_number="+1 555-010-0002",
        throughput=1000,
    )
    # another WABA of the workspace, with its own template and a second number
    other = make_template(workspace_a, name="other_waba_greeting", meta_id="777001")
    far = WhatsAppAccountFactory(workspace=workspace_a, waba_id=other.account.waba_id)
    log_in(page, live_server)
    page.wait_for_selector("h1:has-text('Campaigns')")
    page.goto(f"{live_server.url}/campaigns/new/")

    page.fill("#id_name", "Two numbers")
    page.select_option("#id_template", str(other.pk))
    assert box(page, far).is_visible()
    assert box(page, second).is_hidden()
    assert box(page, own).is_hidden()
    page.select_option("#id_template", str(template.pk))
    page.wait_for_selector("#numbers-choice", state="visible")
    assert box(page, second).is_visible()
    assert box(page, far).is_hidden()  # another WABA's
    assert box(page, own).count() == 0  # the template's own always sends: not a choice
    assert "Main line (+1 555-010-0001)" in page.inner_text("#numbers-choice")
    page.check(f"#numbers-choice input[value='{second.pk}']")
    fits_every_width(page, "number-pool-new-campaign", "#numbers-choice")

    page.click("button:has-text('Create draft')")
    page.wait_for_selector("#numbers")
    campaign = Campaign.objects.get(name="Two numbers")
    assert numbers_of(campaign) == [own, second]
    shown = page.inner_text("[data-field=numbers]")
    for account in (own, second):
        assert account.name in shown
        assert account.display_phone_number in shown
    assert page.is_visible("[data-table=numbers]")
    # still draft: the choice is there, the second number ticked
    assert page.is_checked(f"#numbers input[value='{second.pk}']")

    # as if it had sent: what each number sent, and the recipients' "From"
    for i, (state, number) in enumerate(
        [("read", own), ("delivered", second), ("failed", second), ("pending", None)]
    ):
        RecipientFactory(
            campaign=campaign,
            phone=f"+1415555{i:04d}",
            values=VALUES,
            status=state,
            number=number,
            send_path="" if number is None else "messages",
            sent_at=None if number is None else timezone.now(),
        )
    campaign_recount(campaign_id=campaign.pk)
    # ten seconds later, as far as the breakdown's cache goes (selectors._number_groups)
    get_redis().delete(f"campaign-number-breakdown:{campaign.pk}")
    page.reload()
    page.wait_for_selector("[data-table=numbers]")
    row = page.inner_text(f"[data-table=numbers] tr[data-number='{second.pk}']")
    assert row.split()[-4:] == ["1", "1", "0", "1"]  # sent, delivered, read, failed
    froms = page.locator("[data-table=recipients] td[data-field=from]").all_inner_texts()
    assert froms == [own.display_phone_number, *[second.display_phone_number] * 2, ""]
    fits_every_width(page, "number-pool-campaign", "#numbers")
