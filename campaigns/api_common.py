"""What the campaign API modules share: service-error mapping and input lookups."""

from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from accounts.selectors import get_scoped_or_404
from config.api_exceptions import Conflict
from templates_app.models import MessageTemplate

from .importing.pipeline import ImportNotAllowed
from .importing.readers import FileRejected
from .services.campaigns import CampaignError
from .services.imports import FileTooLarge
from .services.lifecycle import InvalidTransition


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def call_service(fn, **kwargs):
    """Map service exceptions to API errors, in one place."""
    try:
        return fn(**kwargs)
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except (InvalidTransition, ImportNotAllowed) as exc:
        raise Conflict(str(exc)) from exc
    except FileTooLarge as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except FileRejected as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    except CampaignError as exc:
        raise ValidationError({exc.field or "detail": [str(exc)]}) from exc


def template_or_400(user, template_id) -> MessageTemplate:
    try:
        return get_scoped_or_404(MessageTemplate.objects.all(), user=user, id=template_id)
    except Http404:
        raise ValidationError({"template_id": ["Unknown template."]}) from None
