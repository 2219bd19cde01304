"""What the contact tests share: uploads, a contact factory and a list of two customers."""

from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Contact, ContactList, ContactListMember

IMPORT_URL = "/api/v1/contacts/import/"


def csv_upload(api, text: str, name: str = "contacts.csv", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return api.post(f"{IMPORT_URL}?{query}", {"file": upload}, format="multipart")


def contact(workspace, phone="+14155550100", **fields) -> Contact:
    return Contact.objects.create(workspace=workspace, phone=phone, **fields)


def customers_list(workspace) -> ContactList:
    """ "Customers": Ana (+14155550001) and Ben (…0002), each with an order_id attribute."""
    customers = ContactList.objects.create(workspace=workspace, name="Customers")
    for n, name in enumerate(["Ana", "Ben"], start=1):
        attributes = {"order_id": f"PK-{n}"}
        member = contact(workspace, f"+1415555000{n}", name=name, attributes=attributes)
        ContactListMember.objects.create(contact_list=customers, contact=member)
    return customers
