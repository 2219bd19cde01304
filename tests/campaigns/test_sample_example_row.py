"""The sample's example row, left in a file above the real recipients, is never imported:
the importer recognises it, skips it and says so; the XLSX marks it too."""

import io

import openpyxl
import pytest

from campaigns.models import Recipient

pytestmark = pytest.mark.django_db


def sample(owner_api, template_a, fmt: str) -> bytes:
    response = owner_api.get(f"/api/v1/templates/{template_a.pk}/sample/?format={fmt}")
    assert response.status_code == 200
    return response.content


def upload(owner_api, campaign, name: str, content: bytes, dry_run=False):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/campaigns/{campaign.pk}/recipients/" + ("?dry_run=true" if dry_run else "")
    return owner_api.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def test_a_csv_sample_filled_below_its_example_imports_only_the_real_rows(
    owner_api, template_a, campaign_a
):
    text = sample(owner_api, template_a, "csv").decode("utf-8-sig")
    text += "+44,7911123456,Ben,PK-2,today,14-16\r\n"

    preview = upload(owner_api, campaign_a, "filled.csv", text.encode(), dry_run=True).json()
    report = upload(owner_api, campaign_a, "filled.csv", text.encode()).json()

    for r in (preview, report):
        assert r["imported"] == 1
        assert any("the sample's example row" in w for w in r["warnings"])
    assert list(Recipient.objects.values_list("phone", flat=True)) == ["+447911123456"]


def test_the_xlsx_sample_marks_its_example_and_the_importer_skips_it(
    owner_api, template_a, campaign_a
):
    book = openpyxl.load_workbook(io.BytesIO(sample(owner_api, template_a, "xlsx")))
    sheet = book["Recipients"]
    assert sheet["A2"].comment is not None
    assert "never imports it" in sheet["A2"].comment.text
    assert sheet["A2"].font.italic
    sheet.append(["+1", "4155550199", "Cy", "PK-3", "now", "9-10"])
    out = io.BytesIO()
    book.save(out)

    report = upload(owner_api, campaign_a, "filled.xlsx", out.getvalue()).json()

    assert report["imported"] == 1
    assert list(Recipient.objects.values_list("phone", flat=True)) == ["+14155550199"]


def test_the_example_number_with_real_values_is_a_recipient(owner_api, template_a, campaign_a):
    # Someone whose number happens to be the example's, with their own values, is kept.
    text = sample(owner_api, template_a, "csv").decode("utf-8-sig").splitlines()[0]
    text += "\r\n+1,4155550100,Dora,PK-9,later,18-20\r\n"

    report = upload(owner_api, campaign_a, "real.csv", text.encode()).json()

    assert report["imported"] == 1
    assert not any("example row" in w for w in report["warnings"])
