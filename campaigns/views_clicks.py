"""`GET /r/<token>`: a tracked link (docs/clicks.md). Public: no login, no CSRF (a GET)."""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_safe

from .tracking.clicks import redirect_click


@require_safe
def click_redirect(request, token: str):
    # A HEAD (a link checker, a preview) resolves the link but is not a click.
    url = redirect_click(token, record=request.method == "GET")
    if url is None:
        raise Http404("No such link.")
    response = HttpResponseRedirect(url)
    # Each GET must reach us (to count), and the token must not leak to the destination.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
