"""The one exception family for a refusal that a person must read.

A service raises an `ApplicationError` (or a subclass) when it will not do what it was asked,
with a message written for the user. Whoever called it only chooses how to show it: the API's
exception handler (config/api_exceptions.py) turns it into a 4xx/5xx JSON body, the dashboard
and the admin into a message on the page (config/web.py). Nothing else is caught that way: a
built-in error (an `OSError` from storage, a bug) stays a server error, never a 403 or a 400.

It lives in `config`, the infrastructure outside the app graph (scripts/app_graph.py), so
every app can raise it, accounts at the bottom as well as webhooks at the top; it imports
nothing from Django, so it is safe to import from models and services alike.

`code` is the stable, machine-readable name a client may branch on; `kind` says what sort of
refusal it is, which the API maps to an HTTP status (`STATUS_BY_KIND` there); `field` names
the input at fault, when there is one.
"""

INVALID = "invalid"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
TOO_LARGE = "too_large"
UPSTREAM = "upstream"

KINDS = (INVALID, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_LARGE, UPSTREAM)


class ApplicationError(Exception):
    """A refusal with a message for the user. Subclasses set `code` and `kind`; `field` (a
    class default, or given per raise) names the input at fault."""

    code = "invalid"
    kind = INVALID
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class Invalid(ApplicationError):
    """The input cannot be used as given."""


class PermissionDenied(ApplicationError):
    """The user may not do this (not a member of the workspace, not its owner). Ours, not
    the built-in `PermissionError`: that one is an `OSError` storage raises too."""

    code = "permission_denied"
    kind = FORBIDDEN


class NotFound(ApplicationError):
    code = "not_found"
    kind = NOT_FOUND


class Conflict(ApplicationError):
    """The request is valid but the current state of what it names forbids it."""

    code = "conflict"
    kind = CONFLICT


class TooLarge(ApplicationError):
    code = "too_large"
    kind = TOO_LARGE


class UpstreamUnavailable(ApplicationError):
    """A service we depend on (WhatsApp's Graph API) failed or refused; the message says how."""

    code = "whatsapp_unavailable"
    kind = UPSTREAM
