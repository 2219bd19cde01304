"""The dashboard's campaign pages through Django's client: the list's filters, the live
fragment, the recipients table, export, schedule and delete; owner, member, outsider."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tracking import campaign_recount

from ..factories import CampaignFactory, RecipientFactory
from .test_dashboard_controls import VALUES, control, messages_of

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def running(template_a):
    campaign = CampaignFactory(template=template_a, status="running", started_at=timezone.now())
    for i, state in enumerate(["sent", "sent", "failed", "pending", "read"]):
        RecipientFactory(
            campaign=campaign,
            phone=f"+1415555{i:04d}",
            values=VALUES,
            status=state,
            error_code=131026 if state == "failed" else None,
        )
    campaign_recount(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_the_list_filters_by_status_and_name_and_shows_rates(client, owner, template_a, running):
    CampaignFactory(template=template_a, name="Winter sale", status="draft")
    client.force_login(owner)

    everything = client.get("/").content.decode()
    drafts = client.get("/", {"status": "draft"}).content.decode()
    named = client.get("/", {"q": "winter"}).content.decode()
    nonsense = client.get("/", {"status": "exploded", "page": "x"})

    assert running.name in everything
    assert "Winter sale" in everything
    assert "Winter sale" in drafts
    assert running.name not in drafts
    assert "Winter sale" in named
    assert running.name not in named
    assert nonsense.status_code == 200  # an unknown filter is ignored, not a 500
    # 3 sent (two sent, one read): 1 delivered of them (33 %); 1 failed of 4 attempts (25 %)
    assert "33 %" in everything
    assert "25 %" in everything


def test_the_list_pages_through_many_campaigns(client, owner, template_a):
    for n in range(30):
        CampaignFactory(template=template_a, name=f"Batch {n:02d}")
    client.force_login(owner)
    first = client.get("/").content.decode()
    second = client.get("/", {"page": 2}).content.decode()
    assert "Batch 29" in first
    assert "Batch 00" not in first
    assert "Batch 00" in second
    assert "Page 2 of 2" in second


def test_the_live_fragment_is_the_workspaces_own(client, owner, member, outsider, running):
    url = f"/campaigns/{running.pk}/live/"
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(member)
    fragment = client.get(url, {"shown": "running"}, **HTMX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert 'data-field="failed">1<' in html
    assert 'hx-trigger="every 2s"' in html  # still running: it keeps polling


def test_the_live_fragment_reloads_the_page_when_the_status_changed(client, owner, running):
    client.force_login(owner)
    Campaign.objects.filter(pk=running.pk).update(status="completed")

    response = client.get(f"/campaigns/{running.pk}/live/", {"shown": "running"}, **HTMX)

    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_the_recipients_table_filters_and_pages_by_key(client, owner, running, monkeypatch):
    monkeypatch.setattr("campaigns.selectors.RECIPIENTS_PER_PAGE", 2)
    client.force_login(owner)
    url = f"/campaigns/{running.pk}/recipients/"

    failed = client.get(url, {"status": "failed"}, **HTMX).content.decode()
    by_phone = client.get(url, {"phone": "+1 415 555 0004"}, **HTMX).content.decode()
    first = client.get(url, **HTMX).content.decode()
    after = running.recipients.order_by("id")[1].pk
    second = client.get(url, {"after": after}, **HTMX).content.decode()
    bad = client.get(url, {"status": "lost", "after": "x"}, **HTMX)

    assert failed.count('data-status="failed"') == 1
    assert "131026" in failed
    assert by_phone.count("<tr data-status") == 1
    assert "+14155550004" in by_phone
    assert first.count("<tr data-status") == 2
    assert f"after={running.recipients.order_by('id')[1].pk}" in first
    assert "+14155550002" in second
    assert "+14155550000" not in second
    assert bad.status_code == 200
    assert "Select a valid choice" in bad.content.decode()


def test_the_recipients_url_without_htmx_is_the_page(client, owner, running):
    client.force_login(owner)
    response = client.get(f"/campaigns/{running.pk}/recipients/", {"status": "failed"})
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{running.pk}/?status=failed#recipients"


@pytest.mark.parametrize(
    ("segment", "fmt", "expected"),
    [
        ("failed", "csv", "?format=csv&status=failed"),
        ("not_read", "xlsx", "?format=xlsx&status=sent,delivered"),
        ("all", "csv", "?format=csv"),
        ("nonsense", "pdf", "?format=csv"),
    ],
)
def test_export_goes_to_the_apis_stream(client, owner, running, segment, fmt, expected):
    client.force_login(owner)
    response = client.get(f"/campaigns/{running.pk}/export/", {"segment": segment, "format": fmt})
    assert response["Location"] == f"/api/v1/campaigns/{running.pk}/export/{expected}"
    download = client.get(response["Location"])
    assert download.status_code == 200


def test_schedule_reads_the_time_in_the_operators_zone(client, owner, template_a):
    draft = CampaignFactory(template=template_a, status="draft")
    RecipientFactory(campaign=draft, values=VALUES)
    campaign_recount(campaign_id=draft.pk)
    client.force_login(owner)
    client.cookies["tz"] = "America/Sao_Paulo"
    local = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("America/Sao_Paulo"))
    typed = local.strftime("%Y-%m-%dT%H:%M")

    page = control(client, draft, "send", {"send_at": typed, "schedule": "1"})

    draft.refresh_from_db()
    assert draft.status == "scheduled"
    assert draft.send_at == local.replace(second=0, microsecond=0)
    assert "Scheduled" in " ".join(messages_of(page))
    assert "-03" in page.content.decode() or "BRT" in page.content.decode()
    assert f"= {draft.send_at:%H:%M} UTC" in page.content.decode()


def test_schedule_refuses_a_past_or_missing_time_with_a_message(client, owner, template_a):
    draft = CampaignFactory(template=template_a, status="draft")
    RecipientFactory(campaign=draft, values=VALUES)
    campaign_recount(campaign_id=draft.pk)
    client.force_login(owner)
    past = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    gone = control(client, draft, "send", {"send_at": past, "schedule": "1"})
    missing = control(client, draft, "send", {"send_at": "", "schedule": "1"})

    assert "That time has passed" in " ".join(messages_of(gone))
    assert "Pick the date and time" in " ".join(messages_of(missing))
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_delete_removes_a_stopped_campaign_but_not_a_running_one(client, member, running):
    client.force_login(member)
    refused = control(client, running, "delete")
    assert "cannot delete a running campaign" in " ".join(messages_of(refused))
    assert Campaign.objects.filter(pk=running.pk).exists()

    Campaign.objects.filter(pk=running.pk).update(status="stopped")
    deleted = control(client, running, "delete")

    assert not Campaign.objects.filter(pk=running.pk).exists()
    assert deleted.redirect_chain[-1][0] == "/"
    assert f"Deleted {running.name}." in messages_of(deleted)


def test_the_new_campaign_page_shows_the_templates_text(client, owner, template_a):
    client.force_login(owner)
    html = client.get("/campaigns/new/").content.decode()
    assert "<mark>{{1}}</mark>" in html
    assert "body_param_1" in html  # the spreadsheet's columns
    assert f"/api/v1/templates/{template_a.pk}/sample/?format=xlsx" in html


def test_the_switcher_narrows_the_campaign_and_template_lists(
    client, owner, template_a, workspace_b
):
    from accounts.models import Membership

    from ..factories import MembershipFactory
    from .conftest import make_template

    MembershipFactory(user=owner, workspace=workspace_b, role=Membership.Role.MEMBER)
    other = make_template(workspace_b, name="other_workspace_template")
    CampaignFactory(template=template_a, name="In A")
    CampaignFactory(template=other, name="In B")
    client.force_login(owner)
    assert "In B" in client.get("/").content.decode()  # all workspaces at first

    client.post("/workspace/", {"workspace": str(workspace_b.pk), "next": "/"})

    campaigns = client.get("/").content.decode()
    templates = client.get("/templates/").content.decode()
    new = client.get("/campaigns/new/").content.decode()
    assert "In B" in campaigns
    assert "In A" not in campaigns
    assert "other_workspace_template" in templates
    assert template_a.name not in templates
    assert template_a.name not in new


def test_the_preview_offers_every_row_not_imported_as_a_file(client, owner, outsider, template_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    draft = CampaignFactory(template=template_a, status="draft")
    header = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"
    good = [f"+1,41555503{i:02d},Ana,PK-{i},now,9-12" for i in range(5)]
    bad = [f"+1,{i},Bad,PK-X,now,9-12" for i in range(30)]  # far too short
    dup = [good[0]]
    body = "\n".join([header, *good, *bad, *dup, "+1,4155550399,=HYPERLINK(1),PK,now,9"]) + "\n"
    client.force_login(owner)

    page = client.post(
        f"/campaigns/{draft.pk}/upload/",
        {"file": SimpleUploadedFile("list.csv", body.encode())},
        follow=True,
    ).content.decode()

    assert "20 shown of 31 rows not imported" in page
    url = f"/campaigns/{draft.pk}/upload/not-imported/"
    assert url in page
    download = client.get(url)
    assert download["Content-Disposition"] == 'attachment; filename="list-not-imported.csv"'
    rows = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert rows[0] == "line,kind,column,reason,value"
    assert len(rows) == 1 + 31
    assert any(",skipped," in r and "duplicate of line 2" in r for r in rows)
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    client.post(f"/campaigns/{draft.pk}/upload/cancel/")
    assert client.get(url).status_code == 404  # the preview and its file are gone
