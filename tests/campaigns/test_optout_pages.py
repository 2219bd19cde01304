"""/opt-outs/: owners and members manage the list; the outsider sees none of it."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership
from campaigns.models import OptIn, OptOut
from campaigns.tracking.inbound import optout_add

from ..factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def logged_in(client, user):
    client.force_login(user)
    return client


def texts(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def upload(text: str, name="stop.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def listed(workspace_a, workspace_b):
    ours = OptOut.objects.create(
        workspace=workspace_a, phone="+447400123456", source="keyword", detail="Replied 'STOP'"
    )
    OptOut.objects.create(workspace=workspace_b, phone="+14155550100", source="manual")
    return ours


def test_the_list_shows_the_workspaces_opt_outs_newest_first(client, member, listed, workspace_a):
    OptOut.objects.create(workspace=workspace_a, phone="+33612345678", source="manual")
    html = logged_in(client, member).get("/opt-outs/").content.decode()
    assert "+447400123456" in html
    assert "Replied &#x27;STOP&#x27;" in html
    assert "+14155550100" not in html
    assert html.index("+33612345678") < html.index("+447400123456")


def test_search_by_digits(client, owner, listed, workspace_a):
    OptOut.objects.create(workspace=workspace_a, phone="+33612345678")
    html = logged_in(client, owner).get("/opt-outs/?q=7400 123").content.decode()
    assert "+447400123456" in html
    assert "+33612345678" not in html


def test_keyset_pages_older_and_newer(client, owner, workspace_a):
    OptOut.objects.bulk_create(
        OptOut(workspace=workspace_a, phone=f"+4474001{n:05d}") for n in range(120)
    )
    client = logged_in(client, owner)
    first = client.get("/opt-outs/")
    rows = first.context["rows"]
    assert len(rows) == 50
    assert rows[0].phone == "+447400100119"
    assert first.context["newer"] is None
    second = client.get(f"/opt-outs/?before={first.context['older']}")
    assert second.context["rows"][0].phone == "+447400100069"
    third = client.get(f"/opt-outs/?before={second.context['older']}")
    assert len(third.context["rows"]) == 20
    assert third.context["older"] is None
    back = client.get(f"/opt-outs/?after={third.context['newer']}")
    assert [o.pk for o in back.context["rows"]] == [o.pk for o in second.context["rows"]]


def test_outsider_gets_404_removing_someone_elses_opt_out(client, outsider, listed):
    client = logged_in(client, outsider)
    assert client.get(f"/opt-outs/{listed.pk}/remove/").status_code == 404
    assert client.post(f"/opt-outs/{listed.pk}/remove/").status_code == 404
    assert OptOut.objects.filter(pk=listed.pk).exists()
    assert "+447400123456" not in client.get("/opt-outs/").content.decode()


def test_pages_require_login(client, listed):
    assert client.get("/opt-outs/")["Location"].startswith("/accounts/login/")
    assert client.post("/opt-outs/add/", {"phone": "+447400123457"}).status_code == 302
    assert OptOut.objects.count() == 2


# --- add ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cc", "stored"),
    [
        ("+44 7400 123457", "", "+447400123457"),
        ("(415) 555-0101", "1", "+14155550101"),
        ("0044 7400-123457", "", "+447400123457"),
    ],
)
def test_member_adds_a_number_in_any_format(client, member, workspace_a, typed, cc, stored):
    response = logged_in(client, member).post(
        "/opt-outs/add/", {"phone": typed, "country_code": cc}, follow=True
    )
    assert f"{stored} is on the opt-out list" in texts(response)
    opt_out = OptOut.objects.get(workspace=workspace_a, phone=stored)
    assert opt_out.source == "manual"
    assert opt_out.detail == "Added by bob"


def test_adding_a_number_already_listed_says_so(client, owner, listed):
    response = logged_in(client, owner).post(
        "/opt-outs/add/", {"phone": "+447400123456"}, follow=True
    )
    assert "was already on the opt-out list" in texts(response)
    assert OptOut.objects.get(pk=listed.pk).source == "keyword"  # left as it was


def test_an_invalid_number_is_refused_keeping_what_was_typed(client, owner):
    response = logged_in(client, owner).post(
        "/opt-outs/add/", {"phone": "07400 12", "detail": "my note"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "country code missing" in html
    assert 'value="07400 12"' in html
    assert 'value="my note"' in html
    assert not OptOut.objects.exists()


def test_adding_asks_which_workspace_when_there_are_several(client, owner, workspace_a):
    other = WorkspaceFactory(name="Workspace C")
    MembershipFactory(user=owner, workspace=other, role=Membership.Role.MEMBER)
    client = logged_in(client, owner)
    refused = client.post("/opt-outs/add/", {"phone": "+447400123457"})
    assert refused.status_code == 400
    assert "Choose the workspace" in refused.content.decode()
    client.post("/opt-outs/add/", {"phone": "+447400123457", "workspace": str(other.pk)})
    assert OptOut.objects.get(phone="+447400123457").workspace == other


def test_adding_into_a_workspace_not_ones_own_falls_back_to_asking(client, owner, workspace_b):
    response = logged_in(client, owner).post(
        "/opt-outs/add/", {"phone": "+447400123457", "workspace": str(workspace_b.pk)}
    )
    # owner has one workspace: the number goes there, never into workspace B
    assert response.status_code == 302
    assert OptOut.objects.get().workspace_id != workspace_b.pk


# --- remove ---------------------------------------------------------------------------------


def test_remove_asks_first_then_lifts(client, member, listed):
    client = logged_in(client, member)
    confirm = client.get(f"/opt-outs/{listed.pk}/remove/")
    assert "Remove +447400123456 from the opt-out list?" in confirm.content.decode()
    assert OptOut.objects.filter(pk=listed.pk).exists()
    response = client.post(f"/opt-outs/{listed.pk}/remove/", follow=True)
    assert "+447400123456 is off the opt-out list." in texts(response)
    assert not OptOut.objects.filter(pk=listed.pk).exists()


def test_a_removed_keyword_opt_out_is_not_brought_back_by_a_late_webhook(
    client, owner, listed, workspace_a
):
    logged_in(client, owner).post(f"/opt-outs/{listed.pk}/remove/")
    assert OptIn.objects.filter(workspace=workspace_a, phone="+447400123456").exists()
    # the STOP's webhook again (Meta retries), dated before the removal
    added = optout_add(
        workspace_id=workspace_a.pk,
        phone="+447400123456",
        source="keyword",
        at=listed.opted_out_at,
    )
    assert added is False


# --- import ---------------------------------------------------------------------------------


def test_import_reports_added_already_there_and_invalid_lines(client, member, listed):
    text = (
        "phone\n"
        "+44 7400 123456\n"  # already listed
        "+447400123457\n"  # new
        "not a number\n"  # line 4
        "+447400123457\n"  # repeated in the file
        "\n"
        "+1 415 555 0101\n"  # new, line 7
        "12\n"  # line 8
    )
    response = logged_in(client, member).post(
        "/opt-outs/import/", {"file": upload(text)}, follow=True
    )
    report = response.context["report"]
    assert report["added"] == 2
    assert report["already"] == 2
    assert report["invalid"] == 2
    assert [r["line"] for r in report["invalid_lines"]] == [4, 8]
    html = response.content.decode()
    assert "<strong>2</strong> added" in html
    assert "not a phone number" in html
    assert set(
        OptOut.objects.filter(workspace=listed.workspace).values_list("phone", flat=True)
    ) == {
        "+447400123456",
        "+447400123457",
        "+14155550101",
    }


def test_import_with_country_code_and_phone_number_columns(client, owner, workspace_a):
    text = "country_code;phone_number\n44;7400 123457\n1;(415) 555-0101\n;4155550102\n"
    response = logged_in(client, owner).post(
        "/opt-outs/import/", {"file": upload(text)}, follow=True
    )
    report = response.context["report"]
    assert (report["added"], report["invalid"]) == (2, 1)
    assert "country code missing" in report["invalid_lines"][0]["reason"]


def test_import_an_xlsx(client, owner, workspace_a):
    book = openpyxl.Workbook()
    book.active.append(["phone"])
    book.active.append(["+447400123457"])
    buffer = io.BytesIO()
    book.save(buffer)
    file = SimpleUploadedFile("stop.xlsx", buffer.getvalue())
    logged_in(client, owner).post("/opt-outs/import/", {"file": file})
    assert OptOut.objects.filter(phone="+447400123457").exists()


def test_a_file_without_a_phone_column_is_refused_whole(client, owner):
    response = logged_in(client, owner).post(
        "/opt-outs/import/", {"file": upload("name,email\nAna,a@example.com\n")}, follow=True
    )
    assert "needs a “phone” column" in texts(response)
    assert not OptOut.objects.exists()


def test_import_without_a_file_says_so(client, owner):
    response = logged_in(client, owner).post("/opt-outs/import/", follow=True)
    assert "Choose a CSV or XLSX file first." in texts(response)


# --- export ---------------------------------------------------------------------------------


def test_export_csv_has_only_the_workspaces_rows(client, member, listed):
    response = logged_in(client, member).get("/opt-outs/export/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["phone", "source", "detail", "opted_out_at", "workspace"]
    assert [r[0] for r in rows[1:]] == ["'+447400123456"]  # a leading + is neutralised
    assert rows[1][4] == "Workspace A"


def test_export_xlsx_follows_the_search(client, owner, listed, workspace_a):
    OptOut.objects.create(workspace=workspace_a, phone="+33612345678")
    response = logged_in(client, owner).get("/opt-outs/export/?format=xlsx&q=336")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = [row[0] for row in book.active.iter_rows(values_only=True)]
    assert values == ["phone", "+33612345678"]


def test_export_in_an_unknown_format_is_a_message(client, owner, listed):
    response = logged_in(client, owner).get("/opt-outs/export/?format=pdf", follow=True)
    assert "format must be csv or xlsx" in texts(response)


# --- the workspace switcher -----------------------------------------------------------------


def test_the_switcher_filters_the_list_and_all_shows_every_workspace(
    client, owner, listed, workspace_b
):
    MembershipFactory(user=owner, workspace=workspace_b, role=Membership.Role.MEMBER)
    client = logged_in(client, owner)
    html = client.get("/opt-outs/").content.decode()
    assert "All workspaces" in html
    assert "+447400123456" in html
    assert "+14155550100" in html
    assert "<th>Workspace</th>" in html
    response = client.post("/workspace/", {"workspace": str(workspace_b.pk), "next": "/opt-outs/"})
    assert response["Location"] == "/opt-outs/"
    html = client.get("/opt-outs/").content.decode()
    assert "+447400123456" not in html
    assert "+14155550100" in html
    client.post("/workspace/", {"workspace": ""})
    assert "+447400123456" in client.get("/opt-outs/").content.decode()


def test_the_switcher_ignores_a_workspace_not_ones_own_and_foreign_next(
    client, member, listed, workspace_b
):
    client = logged_in(client, member)
    response = client.post(
        "/workspace/", {"workspace": str(workspace_b.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert "+14155550100" not in client.get("/opt-outs/").content.decode()
