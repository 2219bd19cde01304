"""The Contacts pages: the list with search and filters, the import's preview then confirm,
the export download, a contact's page, its subscription button and the erase confirmation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Contact, OptOut

from ..factories import OptOutFactory
from .contact_helpers import contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, member):
    client.force_login(member)
    return client


def test_the_list_searches_and_filters(web, workspace_a):
    contact(workspace_a, "+14155550100", name="Ana Lima", tags=["vip"])
    bo = contact(workspace_a, "+14155550101", name="Bo")
    OptOutFactory(workspace=workspace_a, phone=bo.phone)
    page = web.get("/contacts/").content.decode()
    assert "Ana Lima" in page
    assert "Bo" in page
    assert "vip" in page
    assert 'href="/contacts/"' in web.get("/").content.decode()  # in the top nav
    assert "Bo" not in web.get("/contacts/", {"q": "lima"}).content.decode().split('id="list"')[1]
    listed = web.get("/contacts/", {"subscription": "opted_out"}).content.decode()
    assert "+14155550101" in listed
    assert "+14155550100" not in listed
    listed = web.get("/contacts/", {"tag": "VIP"}).content.decode()
    assert "+14155550100" in listed
    assert "+14155550101" not in listed


def test_the_list_pages_by_key(web, workspace_a):
    for i in range(55):
        contact(workspace_a, f"+141555501{i:02d}")
    first = web.get("/contacts/").content.decode()
    assert "Older →" in first
    older = Contact.objects.order_by("-id")[49].pk
    second = web.get("/contacts/", {"before": older}).content.decode()
    assert second.count('href="/contacts/') >= 5
    assert web.get("/contacts/", {"before": "99999999999999999999999"}).status_code == 200


def test_import_shows_a_preview_then_imports_on_confirm(web, workspace_a):
    text = "country_code,phone_number,name,tags\n1,4155550100,Ana,vip\n1,12,Bad,\n"
    upload = SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")
    response = web.post("/contacts/import/", {"file": upload, "mode": "upsert"})
    assert response.status_code == 302
    assert Contact.objects.count() == 0  # only checked
    page = web.get("/contacts/").content.decode()
    assert "Preview of people.csv" in page
    assert "<strong>1</strong> new" in page
    assert "phone_number" in page  # the rejected row's column
    problems = web.get("/contacts/import/not-imported/")
    assert b"line,kind,column,reason,value" in b"".join(problems.streaming_content)
    response = web.post("/contacts/import/confirm/")
    assert response.status_code == 302
    assert Contact.objects.get().name == "Ana"
    assert "Preview of" not in web.get("/contacts/").content.decode()


def test_export_downloads_the_contacts_formula_safe(web, workspace_a):
    contact(workspace_a, "+14155550100", name="=HYPERLINK(1)", attributes={"city": "Pune"})
    response = web.get("/contacts/export/", {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = text.strip().splitlines()
    assert header.startswith("phone_number,name,tags,locale,time_zone,city,subscription")
    assert "'=HYPERLINK(1)" in row
    xlsx = web.get("/contacts/export/", {"format": "xlsx"})
    assert xlsx.status_code == 200
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"


def test_the_contact_page_and_its_subscription_button(web, workspace_a):
    ana = contact(workspace_a, name="Ana", tags=["vip"], attributes={"city": "Pune"})
    page = web.get(f"/contacts/{ana.pk}/").content.decode()
    assert "Pune" in page
    assert "vip" in page
    assert "Opt out" in page
    web.post(f"/contacts/{ana.pk}/subscription/", {"state": "opted_out"})
    assert OptOut.objects.filter(workspace=workspace_a, phone=ana.phone).exists()
    assert "Opt back in" in web.get(f"/contacts/{ana.pk}/").content.decode()
    web.post(f"/contacts/{ana.pk}/subscription/", {"state": "opted_in"})
    assert not OptOut.objects.exists()


def test_erase_asks_first_then_erases(web, workspace_a):
    ana = contact(workspace_a, name="Ana")
    page = web.get(f"/contacts/{ana.pk}/erase/")
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode()
    assert Contact.objects.filter(pk=ana.pk).exists()
    assert web.post(f"/contacts/{ana.pk}/erase/").status_code == 302
    assert not Contact.objects.filter(pk=ana.pk).exists()


def test_the_outsider_gets_404_on_the_pages(client, outsider, workspace_a):
    ana = contact(workspace_a)
    client.force_login(outsider)
    for path in (f"/contacts/{ana.pk}/", f"/contacts/{ana.pk}/erase/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/contacts/{ana.pk}/erase/").status_code == 404
    assert (
        client.post(f"/contacts/{ana.pk}/subscription/", {"state": "opted_out"}).status_code == 404
    )
    assert Contact.objects.filter(pk=ana.pk).exists()
    assert "+14155550100" not in client.get("/contacts/").content.decode()
