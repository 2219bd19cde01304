"""One way for a service's refusal to reach an API client: config/api_exceptions.py turns any
ApplicationError (config/errors.py) into its status and body, and nothing else."""

import importlib

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from rest_framework import exceptions as drf_exceptions

from campaigns.importing.pipeline import ImportNotAllowed
from campaigns.importing.readers import FileRejected
from campaigns.models import Campaign, ImportReport
from campaigns.services.campaigns import CampaignError
from campaigns.services.imports import UNEXPECTED, FileTooLarge
from campaigns.services.lifecycle import InvalidTransition
from config import errors
from config.api_exceptions import STATUS_BY_KIND, api_exception_handler
from templates_app.services import TemplateNotSendable, TemplateSyncError
from whatsapp.services import AccountError, AccountInUse

from .conftest import jwt_client
from .factories import CampaignFactory, MessageTemplateFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

SERVICE_MODULES = [
    "accounts.services",
    "whatsapp.services",
    "templates_app.services",
    "campaigns.services.campaigns",
    "campaigns.services.imports",
    "campaigns.services.lifecycle",
    "campaigns.services.reruns",
    "campaigns.services.sending",
    "campaigns.services.bulk",
    "campaigns.importing.pipeline",
    "campaigns.importing.readers",
]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.Invalid("bad input"), 400, "invalid"),
        (errors.PermissionDenied("not yours"), 403, "permission_denied"),
        (errors.NotFound("no such thing"), 404, "not_found"),
        (errors.Conflict("not now"), 409, "conflict"),
        (errors.TooLarge("too big"), 413, "too_large"),
        (errors.UpstreamUnavailable("Meta is down"), 502, "whatsapp_unavailable"),
        (InvalidTransition("cannot pause a completed campaign"), 409, "invalid_transition"),
        (ImportNotAllowed("cannot add recipients"), 409, "import_not_allowed"),
        (FileTooLarge("The file is 9.0 MB"), 413, "file_too_large"),
        (TemplateSyncError("Template sync failed: 190"), 502, "whatsapp_unavailable"),
        (TemplateNotSendable("Template 'x' is PAUSED"), 400, "template_not_sendable"),
        (AccountInUse("This connection has campaigns"), 409, "account_in_use"),
    ],
)
def test_each_kind_is_its_status_with_detail_and_code(exc, status, code):
    response = api_exception_handler(exc, {})
    assert response.status_code == status
    assert response.data == {"detail": exc.message, "code": code}


@pytest.mark.parametrize(
    ("exc", "body"),
    [
        (CampaignError("bad segment", field="segment"), {"segment": ["bad segment"]}),
        (FileRejected("The file is empty."), {"file": ["The file is empty."]}),
        (AccountError("taken", field="phone_number_id"), {"phone_number_id": ["taken"]}),
    ],
)
def test_a_field_error_is_shaped_as_drf_shapes_its_own(exc, body):
    response = api_exception_handler(exc, {})
    assert response.status_code == 400
    assert response.data == body


def test_every_application_error_has_a_status_and_a_code():
    for name in SERVICE_MODULES:
        importlib.import_module(name)
    seen, todo = set(), [errors.ApplicationError]
    while todo:
        cls = todo.pop()
        seen.add(cls)
        todo.extend(cls.__subclasses__())
    assert len(seen) > 12
    for cls in seen:
        assert cls.kind in STATUS_BY_KIND, cls
        assert cls.code, cls
        assert cls.code == cls.code.lower(), cls


def test_a_built_in_permission_error_is_not_ours_to_answer():
    # PermissionError is an OSError (storage raises it): DRF re-raises it, a 500.
    assert api_exception_handler(PermissionError(13, "Permission denied"), {}) is None


# --- Through HTTP ----------------------------------------------------------------------------


def test_a_member_managing_connections_is_a_403_with_its_code(member_api, workspace_a):
    account = WhatsAppAccountFactory(workspace=workspace_a)
    response = member_api.patch(
        f"/api/v1/whatsapp-accounts/{account.id}/", {"name": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a workspace owner can manage WhatsApp connections.",
        "code": "permission_denied",
    }


def test_a_refused_transition_is_a_409_with_its_code(owner_api, workspace_a):
    campaign = CampaignFactory(status="completed", template__account__workspace=workspace_a)
    response = owner_api.post(f"/api/v1/campaigns/{campaign.id}/pause/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "cannot pause a completed campaign",
        "code": "invalid_transition",
    }


def test_a_connection_in_use_is_a_409_with_its_code(owner_api, workspace_a):
    campaign = CampaignFactory(template__account__workspace=workspace_a)
    response = owner_api.delete(f"/api/v1/whatsapp-accounts/{campaign.account_id}/")
    assert response.status_code == 409
    assert response.json()["code"] == "account_in_use"


def test_a_file_over_the_limit_is_a_413_with_its_code(owner_api, workspace_a, settings):
    settings.IMPORT_MAX_FILE_BYTES = 10
    campaign = CampaignFactory(template__account__workspace=workspace_a)
    upload = SimpleUploadedFile("big.csv", b"country_code,phone_number\n+1,4155550100\n")
    response = owner_api.post(f"/api/v1/campaigns/{campaign.id}/recipients/", {"file": upload})
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "the limit is" in response.json()["detail"]


def test_an_unsendable_template_names_the_field(owner_api, workspace_a):
    template = MessageTemplateFactory(account__workspace=workspace_a, status="PAUSED")
    response = owner_api.post(
        "/api/v1/campaigns/", {"name": "X", "template_id": str(template.id)}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["template_id"]
    assert not Campaign.objects.exists()


# --- A storage failure is the server's, never a 403 -----------------------------------------


class ReadOnlyStorage(FileSystemStorage):
    """The media volume mounted read-only: saving raises the built-in PermissionError."""

    def _save(self, name, content):
        raise PermissionError(13, "Permission denied", f"/srv/media/{name}")


def test_a_storage_permission_error_in_an_upload_is_a_500_not_a_403(owner, workspace_a, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.test_api_errors.ReadOnlyStorage"},
    }
    settings.IMPORT_ASYNC_BYTES = 10  # large: stored for the worker
    campaign = CampaignFactory(template__account__workspace=workspace_a)
    api = jwt_client(owner)
    api.raise_request_exception = False
    upload = SimpleUploadedFile("list.csv", b"country_code,phone_number\n+1,4155550100\n")

    response = api.post(f"/api/v1/campaigns/{campaign.id}/recipients/", {"file": upload})

    assert response.status_code == 500
    assert b"/srv/media" not in response.content  # the path is for the logs, not the client
    report = ImportReport.objects.get(campaign=campaign)
    assert (report.status, report.error) == ("failed", UNEXPECTED)  # not left queued


# --- DRF's own refusals: the same {"detail", "code"} shape ----------------------------------


def test_anonymous_is_a_401_with_its_code(anon_api):
    response = anon_api.get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert "WWW-Authenticate" in response.headers


def test_a_forged_token_keeps_simplejwts_code(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = anon_api.get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_another_workspaces_campaign_is_a_404_with_its_code(outsider_api, workspace_a):
    campaign = CampaignFactory(template__account__workspace=workspace_a)
    response = outsider_api.get(f"/api/v1/campaigns/{campaign.id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_method_the_endpoint_does_not_take_is_a_405_with_its_code(owner_api, workspace_a):
    campaign = CampaignFactory(template__account__workspace=workspace_a)
    response = owner_api.put(f"/api/v1/campaigns/{campaign.id}/", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}


def test_an_unservable_accept_header_is_a_406_with_its_code(owner_api):
    response = owner_api.get("/api/v1/campaigns/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_an_unknown_body_type_is_a_415_with_its_code(owner_api):
    response = owner_api.post("/api/v1/campaigns/", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "text/plain" in request.',
        "code": "unsupported_media_type",
    }


def test_malformed_json_is_a_400_parse_error(owner_api):
    response = owner_api.post("/api/v1/campaigns/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")


def test_field_errors_stay_as_drf_gives_them(owner_api):
    response = owner_api.post("/api/v1/campaigns/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "template_id": ["This field is required."],
    }


def test_a_body_over_the_memory_limit_is_a_413_with_its_code(owner_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = '{"name": "x", "recipients": [' + ",".join(['{"a": 1}'] * 200_000) + "]}"
    response = owner_api.post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert response.json()["detail"].startswith("The request body is over 1 MB.")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (Http404(), 404, "not_found"),
        (drf_exceptions.PermissionDenied(), 403, "permission_denied"),
        (drf_exceptions.Throttled(wait=7), 429, "throttled"),
    ],
)
def test_djangos_and_drfs_refusals_carry_drfs_code(exc, status, code):
    response = api_exception_handler(exc, {})
    assert response.status_code == status
    assert set(response.data) == {"detail", "code"}
    assert response.data["code"] == code
