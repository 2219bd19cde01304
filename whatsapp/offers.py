"""A limited-time offer's expiry: read from a spreadsheet cell, shown as WhatsApp shows it.

Meta sends `expiration_time_ms` (Unix milliseconds) in the `limited_time_offer` component
(docs/whatsapp.md §11.1). Operators write a time: ISO 8601 (`2026-12-31T23:59:00Z`,
`2026-12-31 23:59`), or Unix seconds or milliseconds. A time without an offset is in the
installation's TIME_ZONE.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Unix seconds below this, milliseconds above (10^11 s is the year 5138; 10^11 ms is 1973).
_MS_FROM = 100_000_000_000
# Meta's own range is undocumented; a sane window catches a date typed wrongly.
EARLIEST_MS = 946_684_800_000  # 2000-01-01
LATEST_MS = 4_102_444_800_000  # 2100-01-01


def expiration_ms(value: str) -> int | None:
    """Unix milliseconds of `value`, or None when it is not a time we can read."""
    text = str(value or "").strip()
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        ms = number if number >= _MS_FROM else number * 1000
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
        if when.tzinfo is None:
            from django.utils import timezone

            when = when.replace(tzinfo=timezone.get_default_timezone())
        ms = int(when.timestamp() * 1000)
    return ms if EARLIEST_MS <= ms <= LATEST_MS else None


def format_expiry(ms: int, now_ms: int) -> tuple[str, str]:
    """(the expiry as a date in UTC, the countdown WhatsApp shows beside the offer)."""
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    expires = when.strftime("%d %b %Y, %H:%M UTC")
    left = (ms - now_ms) // 1000
    if left <= 0:
        return expires, "Offer expired"
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return expires, f"Offer ends in {days} day{'s' if days != 1 else ''}"
    if hours:
        return expires, f"Offer ends in {hours} hour{'s' if hours != 1 else ''}"
    return expires, f"Offer ends in {max(minutes, 1)} minute{'s' if minutes > 1 else ''}"
