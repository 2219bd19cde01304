"""What the contact tests share: uploads and a contact factory."""

from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Contact

IMPORT_URL = "/api/v1/contacts/import/"


def csv_upload(api, text: str, name: str = "contacts.csv", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return api.post(f"{IMPORT_URL}?{query}", {"file": upload}, format="multipart")


def contact(workspace, phone="+14155550100", **fields) -> Contact:
    return Contact.objects.create(workspace=workspace, phone=phone, **fields)
