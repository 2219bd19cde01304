"""How an error reaches an API client: the one DRF exception handler of every app's views."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from . import errors

# What each kind of refusal (config/errors.py) is in HTTP.
STATUS_BY_KIND = {
    errors.INVALID: status.HTTP_400_BAD_REQUEST,
    errors.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    errors.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    errors.CONFLICT: status.HTTP_409_CONFLICT,
    errors.TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.UPSTREAM: status.HTTP_502_BAD_GATEWAY,
}


def application_error_response(exc: errors.ApplicationError) -> Response:
    """A field error as DRF gives its own (`{"field": ["message"]}`), so a form can show it
    beside the input; any other as `{"detail": message, "code": code}`."""
    status_code = STATUS_BY_KIND[exc.kind]
    if exc.field:
        return Response({exc.field: [exc.message]}, status=status_code)
    return Response({"detail": exc.message, "code": exc.code}, status=status_code)


def api_exception_handler(exc, context):
    """DRF's handler, plus: a service's `ApplicationError` as its 4xx/5xx (views call services
    without translating what they raise), a JSON 413 for a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE (Django would answer an HTML 400), and DRF's own refusals
    that are not about a field (401, 403, 404, 405, 406, 415, 429, a parse error) in the one
    shape `{"detail": message, "code": code}`, DRF's code (`not_authenticated`, `throttled`…)
    beside its message. Field errors stay as DRF gives them; its headers (Retry-After,
    WWW-Authenticate, Allow) too. Anything else DRF does not know stays a 500."""
    if isinstance(exc, errors.ApplicationError):
        set_rollback()
        return application_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return Response(
            {
                "detail": (
                    f"The request body is over {limit_mb:g} MB. Send large recipient lists as a "
                    "CSV or XLSX file upload instead."
                ),
                "code": "request_too_large",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    # As DRF's handler does, so that the code below sees the DRF exception it answers with.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, exceptions.APIException)
        and not isinstance(exc, exceptions.ValidationError)
        and isinstance(exc.detail, str)  # an ErrorDetail: one message, with its code
    ):
        response.data = {"detail": exc.detail, "code": exc.detail.code}
    return response
