"""A campaign sent to an audience: the mapping's validation, the preview, resolution when it
is sent or its schedule fires, mixing with an uploaded file, rejected contacts reported."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engine.runner import start_due_schedules
from campaigns.models import (
    Campaign,
    Contact,
    ContactList,
    ContactListMember,
    ImportReport,
    OptOut,
    Recipient,
    Segment,
)
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from ..campaigns.conftest import make_template

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"
MAPPING = {
    "body_param_1": "field:name",
    "body_param_2": "attribute:order_id",
    "body_param_3": "text:tomorrow",
    "body_param_4": "attribute:slot",
}


def add_contact(workspace, phone, name="Ana", *, lists=(), **attributes) -> Contact:
    attributes.setdefault("order_id", f"PK-{phone[-4:]}")
    attributes.setdefault("slot", "9-12")
    contact = Contact.objects.create(
        workspace=workspace, phone=phone, name=name, attributes=attributes
    )
    for contact_list in lists:
        ContactListMember.objects.create(contact_list=contact_list, contact=contact)
    return contact


def new_list(workspace, name="Customers") -> ContactList:
    return ContactList.objects.create(workspace=workspace, name=name)


def create(api, template, **body):
    return api.post(
        URL, {"name": "Audience", "template_id": str(template.pk), **body}, format="json"
    )


def audience_campaign(api, template, contact_list, mapping=None, **audience) -> Campaign:
    response = create(
        api,
        template,
        audience={"lists": [str(contact_list.pk)], **audience},
        mapping=mapping or MAPPING,
    )
    assert response.status_code == 201, response.json()
    return Campaign.objects.get(pk=response.json()["id"])


def send(api, campaign, **body):
    return api.post(f"{URL}{campaign.pk}/send/", body, format="json")


def assert_counters_match(campaign):
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


@pytest.fixture
def template(workspace_a):
    return make_template(workspace_a)


@pytest.fixture
def customers(workspace_a):
    return new_list(workspace_a)


def test_a_campaign_stores_its_audience_and_mapping(owner_api, template, customers):
    response = create(owner_api, template, audience={"lists": [str(customers.pk)]}, mapping=MAPPING)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["audience"] == {"lists": [str(customers.pk)]}
    assert body["mapping"] == MAPPING
    assert body["audience_resolved_at"] is None


def test_a_draft_gets_its_audience_by_patch(owner_api, template, customers):
    campaign = Campaign.objects.get(pk=create(owner_api, template).json()["id"])
    response = owner_api.patch(
        f"{URL}{campaign.pk}/",
        {"audience": {"lists": [str(customers.pk)]}, "mapping": MAPPING},
        format="json",
    )
    assert response.status_code == 200, response.json()
    campaign.refresh_from_db()
    assert campaign.audience == {"lists": [str(customers.pk)]}
    assert campaign.mapping == MAPPING


@pytest.mark.parametrize(
    ("audience", "mapping", "field", "words"),
    [
        ("LIST", {**MAPPING, "nope": "field:name"}, "mapping.nope", "not a column"),
        ("LIST", {**MAPPING, "body_param_1": "column:name"}, "mapping.body_param_1", "unknown"),
        ("LIST", {**MAPPING, "body_param_1": "name"}, "mapping.body_param_1", "field:"),
        ("LIST", {**MAPPING, "body_param_1": "field:email"}, "mapping.body_param_1", "email"),
        ("LIST", {**MAPPING, "body_param_2": "attribute:"}, "mapping.body_param_2", "attribute"),
        ("LIST", {**MAPPING, "body_param_3": "text:a\nb"}, "mapping.body_param_3", "line break"),
        ("LIST", {**MAPPING, "body_param_3": "text: "}, "mapping.body_param_3", "empty"),
        (
            "LIST",
            {k: v for k, v in MAPPING.items() if k != "body_param_2"},
            "mapping.body_param_2",
            "required",
        ),
        ("LIST", ["field:name"], "mapping", "object"),
        ({"lists": ["OTHER"]}, MAPPING, "audience.lists", "Unknown list"),
        ({"segments": ["OTHER_SEGMENT"]}, MAPPING, "audience.segments", "Unknown segment"),
        ({"lists": ["not-an-id"]}, MAPPING, "audience.lists", "not an id"),
        ({"lists": "LIST_ID"}, MAPPING, "audience.lists", "a list of"),
        ({"everyone": True}, MAPPING, "audience.everyone", "Unknown audience key"),
        ({"exclude_lists": ["LIST_ID"]}, MAPPING, "audience.lists", "at least one"),
        ([], MAPPING, "audience", "object"),
    ],
)
def test_a_bad_audience_or_mapping_is_a_400_naming_it(
    owner_api, template, customers, workspace_b, audience, mapping, field, words
):
    other_list = new_list(workspace_b, "Theirs")
    other_segment = Segment.objects.create(workspace=workspace_b, name="Theirs", rules={})
    if audience == "LIST":
        audience = {"lists": [str(customers.pk)]}
    elif isinstance(audience, dict):
        replace = {
            "OTHER": str(other_list.pk),
            "OTHER_SEGMENT": str(other_segment.pk),
            "LIST_ID": str(customers.pk),
        }
        audience = {
            k: [replace.get(i, i) for i in v] if isinstance(v, list) else replace.get(v, v)
            for k, v in audience.items()
        }
    response = create(owner_api, template, audience=audience, mapping=mapping)
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert words.lower() in str(response.json()[field]).lower()
    assert not Campaign.objects.exists()


def test_the_preview_counts_renders_and_reports_the_rejected(
    owner_api, template, customers, workspace_a
):
    add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    add_contact(workspace_a, "+14155550002", "Ben", lists=[customers])
    missing = add_contact(workspace_a, "+14155550003", "Cleo", lists=[customers])
    missing.attributes.pop("order_id")
    missing.save()
    add_contact(workspace_a, "+14155550004", "Dan", lists=[customers])
    OptOut.objects.create(workspace=workspace_a, phone="+14155550004")
    add_contact(workspace_a, "+14155550005", "Eve")  # not in the list
    campaign = audience_campaign(owner_api, template, customers)

    response = owner_api.get(f"{URL}{campaign.pk}/audience/preview/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rows_read"], body["imported"], body["rejected"]) == (4, 2, 1)
    assert (body["skipped_opted_out"], body["skipped_duplicate"]) == (1, 0)
    assert [m["phone"] for m in body["preview"]] == ["+14155550001", "+14155550002"]
    assert body["preview"][0]["message"]["body"] == (
        "Hi Ana, your parcel PK-0001 arrives tomorrow between 9-12."
    )
    rejected = [r for r in body["rejected_rows"] if r["kind"] == "rejected"]
    assert rejected == [
        {
            "line": missing.pk,
            "column": "body_param_2",
            "reason": "+14155550003: body_param_2 is empty (from attribute:order_id)",
            "value": "",
            "kind": "rejected",
        }
    ]
    skipped = [r for r in body["rejected_rows"] if r["kind"] == "skipped"]
    assert [(r["value"], r["reason"]) for r in skipped] == [("+14155550004", "opted out")]
    # nothing was written
    assert not Recipient.objects.filter(campaign=campaign).exists()
    assert not ImportReport.objects.filter(campaign=campaign).exists()


def test_values_too_long_or_with_a_line_break_are_rejected(
    owner_api, template, customers, workspace_a
):
    add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    add_contact(workspace_a, "+14155550002", "Ben\nBen", lists=[customers])
    add_contact(workspace_a, "+14155550003", "Cleo", lists=[customers], order_id="x" * 1100)
    add_contact(workspace_a, "+14155550004", "山田", lists=[customers], order_id=42)
    campaign = audience_campaign(owner_api, template, customers)
    body = owner_api.get(f"{URL}{campaign.pk}/audience/preview/").json()
    assert (body["imported"], body["rejected"]) == (2, 2)
    reasons = {r["line"]: r["reason"] for r in body["rejected_rows"]}
    assert "line break" in reasons[Contact.objects.get(phone="+14155550002").pk]
    assert "1024" in reasons[Contact.objects.get(phone="+14155550003").pk]
    send(owner_api, campaign)
    kanji = Recipient.objects.get(campaign=campaign, phone="+14155550004")
    assert kanji.values["body_param_1"] == "山田"
    assert kanji.values["body_param_2"] == "42"  # a number attribute, as text


def test_the_audience_is_resolved_when_sent_with_later_contacts_and_without_new_opt_outs(
    owner_api, template, customers, workspace_a
):
    first = add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    add_contact(workspace_a, "+14155550002", "Ben", lists=[customers])
    campaign = audience_campaign(owner_api, template, customers)
    # after the campaign was created: one more contact joins, one opts out
    later = add_contact(workspace_a, "+14155550003", "Cleo", lists=[customers])
    OptOut.objects.create(workspace=workspace_a, phone="+14155550002", source="keyword")

    response = send(owner_api, campaign)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "running"
    rows = {r.phone: r for r in Recipient.objects.filter(campaign=campaign)}
    assert set(rows) == {"+14155550001", "+14155550003"}
    assert rows["+14155550001"].contact_id == first.pk
    assert rows["+14155550003"].contact_id == later.pk
    assert rows["+14155550003"].values == {
        "body_param_1": "Cleo",
        "body_param_2": "PK-0003",
        "body_param_3": "tomorrow",
        "body_param_4": "9-12",
    }
    campaign.refresh_from_db()
    assert (campaign.total_recipients, campaign.pending_count) == (2, 2)
    assert campaign.audience_resolved_at is not None
    assert_counters_match(campaign)
    report = ImportReport.objects.get(campaign=campaign, source="audience")
    assert (report.status, report.rows_read, report.imported, report.skipped_opted_out) == (
        "completed",
        3,
        2,
        1,
    )
    assert report.rejections.filter(kind="skipped", reason="opted out").count() == 1


def test_exclusions_and_segments_shape_the_audience(owner_api, template, customers, workspace_a):
    banned = new_list(workspace_a, "Banned")
    add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    add_contact(workspace_a, "+14155550002", "Ben", lists=[customers, banned])
    add_contact(workspace_a, "+14155550003", "Cleo", city="Pune")
    pune = Segment.objects.create(
        workspace=workspace_a,
        name="Pune",
        rules={"all": [{"field": "attribute.city", "op": "eq", "value": "Pune"}]},
    )
    campaign = audience_campaign(
        owner_api,
        template,
        customers,
        segments=[str(pune.pk)],
        exclude_lists=[str(banned.pk)],
    )
    assert send(owner_api, campaign).status_code == 200
    phones = set(Recipient.objects.filter(campaign=campaign).values_list("phone", flat=True))
    assert phones == {"+14155550001", "+14155550003"}


def test_a_file_and_an_audience_mix_and_a_shared_number_is_sent_once(
    owner_api, template, customers, workspace_a
):
    add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    add_contact(workspace_a, "+14155550002", "Ben", lists=[customers])
    campaign = audience_campaign(owner_api, template, customers)
    rows = [
        {
            "phone_number": phone,
            "body_param_1": "File",
            "body_param_2": "F-1",
            "body_param_3": "today",
            "body_param_4": "1-2",
        }
        for phone in ("+14155550002", "+14155550099")
    ]
    imported = owner_api.post(f"{URL}{campaign.pk}/recipients/", rows, format="json")
    assert imported.status_code == 201, imported.json()

    assert send(owner_api, campaign).status_code == 200

    recipients = {r.phone: r for r in Recipient.objects.filter(campaign=campaign)}
    assert set(recipients) == {"+14155550001", "+14155550002", "+14155550099"}
    # the file's row for the shared number stays as imported; the audience skipped it
    assert recipients["+14155550002"].values["body_param_1"] == "File"
    assert recipients["+14155550002"].contact_id is None
    assert recipients["+14155550001"].contact_id is not None
    report = ImportReport.objects.get(campaign=campaign, source="audience")
    assert (report.imported, report.skipped_duplicate) == (1, 1)
    campaign.refresh_from_db()
    assert campaign.total_recipients == 3
    assert_counters_match(campaign)


def test_an_audience_with_nobody_to_send_to_refuses_to_send(owner_api, template, customers):
    campaign = audience_campaign(owner_api, template, customers)
    response = send(owner_api, campaign)
    assert response.status_code == 409
    assert "audience" in response.json()["detail"]
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert campaign.audience_resolved_at is None
    assert not ImportReport.objects.filter(campaign=campaign).exists()


def test_a_scheduled_campaign_resolves_its_audience_when_the_schedule_fires(
    owner_api, template, customers, workspace_a
):
    add_contact(workspace_a, "+14155550001", "Ana", lists=[customers])
    campaign = audience_campaign(owner_api, template, customers)
    when = timezone.now() + timedelta(hours=1)
    response = send(owner_api, campaign, send_at=when.isoformat())
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "scheduled"
    assert not Recipient.objects.filter(campaign=campaign).exists()
    add_contact(workspace_a, "+14155550002", "Ben", lists=[customers])  # joins meanwhile

    Campaign.objects.filter(pk=campaign.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    assert start_due_schedules()["started"] == 1

    campaign.refresh_from_db()
    assert campaign.status == "running"
    phones = set(Recipient.objects.filter(campaign=campaign).values_list("phone", flat=True))
    assert phones == {"+14155550001", "+14155550002"}
    assert campaign.total_recipients == 2
    assert_counters_match(campaign)


def test_the_preview_and_the_audience_are_the_workspaces_own(
    owner_api, member_api, outsider_api, template, customers
):
    campaign = audience_campaign(owner_api, template, customers)
    url = f"{URL}{campaign.pk}/audience/preview/"
    assert member_api.get(url).status_code == 200
    assert outsider_api.get(url).status_code == 404


def test_a_campaign_without_an_audience_has_no_preview(owner_api, template):
    campaign = Campaign.objects.get(pk=create(owner_api, template).json()["id"])
    response = owner_api.get(f"{URL}{campaign.pk}/audience/preview/")
    assert response.status_code == 400
    assert "audience" in response.json()
