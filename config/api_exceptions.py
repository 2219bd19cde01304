"""API exceptions shared by every app's API views."""

from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """The request is valid but the resource's current state forbids it (e.g. `cannot pause a
    completed campaign`)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"
