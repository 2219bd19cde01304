"""How an error reaches a person on a page: the dashboard's and the admin's one way to show a
service's `ApplicationError` (config/errors.py) as a message, the page carrying on.

Only ApplicationError is caught: it is the family whose message is written for the user. A
built-in error (an `OSError` from storage, a bug) is left to Django's 500 handling, which logs
it, rather than shown to the user as if it were their mistake.
"""

from django.contrib import messages

from .errors import ApplicationError


# Both helpers are context managers, named like contextlib's (lower case).
class shown_as_message:
    """`with shown_as_message(request) as shown: …` — an ApplicationError raised in the block
    becomes an error message on the next page and the view carries on after the block;
    `shown.error` is the error (None when the block finished), for a view that must undo
    something or render another page when it failed."""

    def __init__(self, request):
        self.request = request
        self.error: ApplicationError | None = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not isinstance(exc, ApplicationError):
            return False
        self.error = exc
        messages.error(self.request, exc.message)
        return True


def form_errors_as_messages(request, form) -> None:
    """A bound, invalid Django form's errors as error messages (a form posted from a page
    that then redirects, so there is no form to re-render beside its inputs)."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


class reported_to_admin:
    """`with reported_to_admin(modeladmin, request, about=obj.name): …` in an admin action:
    an ApplicationError raised in the block is reported through `message_user` as
    "<about>: <message>", and the action goes on with its next object."""

    def __init__(self, modeladmin, request, *, about: str, level=messages.WARNING):
        self.modeladmin = modeladmin
        self.request = request
        self.about = about
        self.level = level

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not isinstance(exc, ApplicationError):
            return False
        self.modeladmin.message_user(self.request, f"{self.about}: {exc.message}", self.level)
        return True
