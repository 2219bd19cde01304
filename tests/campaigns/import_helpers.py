"""What the recipient import tests share (test_import, test_import_files,
test_import_reports): the header and row of the delivery_window template, an upload through
the API, CSV and XLSX bytes, the phones stored for a campaign."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from campaigns.models import Recipient

HEADER = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"
ROW = "{cc},{phone},Ana,PK-1,tomorrow,9-12"


def upload(api, campaign, content: bytes, name="recipients.csv", **params):
    f = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.post(
        f"/api/v1/campaigns/{campaign.id}/recipients/?{query}", {"file": f}, format="multipart"
    )


def phones(campaign):
    return sorted(Recipient.objects.filter(campaign=campaign).values_list("phone", flat=True))


def xlsx_bytes(rows, extra_sheets=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for title, sheet_rows in extra_sheets:
        other = wb.create_sheet(title)
        for row in sheet_rows:
            other.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(*rows, header=HEADER, sep=",", newline="\n"):
    lines = [header.replace(",", sep)] + [r.replace(",", sep) for r in rows]
    return newline.join(lines) + newline
