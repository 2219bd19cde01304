"""The dashboard shows and reads times in the operator's own time zone: the browser says
which (a `tz` cookie set by base.html from `Intl.DateTimeFormat`), and this middleware makes
it Django's current time zone for the request. So a schedule typed as 09:00 means 09:00
where the operator is, and every time on the page is shown there, with its zone. Without
the cookie (the first page, or a client without JavaScript) times stay in TIME_ZONE."""

import zoneinfo
from urllib.parse import unquote

from django.utils import timezone

COOKIE = "tz"


def zone_from(name: str | None):
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(unquote(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class BrowserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from(request.COOKIES.get(COOKIE))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
