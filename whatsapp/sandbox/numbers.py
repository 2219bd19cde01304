"""Recipient numbers that fail the way real numbers fail, chosen by their last four digits.

The table (also in the package docstring and the README) is `FAILING_SUFFIXES`. Suffixes
9901-9910 were chosen because test data rarely ends that way (0001-0009 and 1234 are common);
a benchmark that generates sequential numbers can turn the table off (`--no-failing-numbers`).
"""

from dataclasses import dataclass

# Behaviours
OK = "ok"
SYNC_INVALID_TO = "sync_invalid_to"  # 131009, details name the number
ASYNC_UNDELIVERABLE = "async_undeliverable"  # failed 131026
ASYNC_MARKETING_CAP = "async_marketing_cap"  # failed 131049
SYNC_STOPPED_MARKETING = "sync_stopped_marketing"  # 131050
TRANSIENT_UNKNOWN = "transient_unknown"  # 131000 (HTTP 500) the first time, then accepted
TRANSIENT_UNAVAILABLE = "transient_unavailable"  # 131016 (HTTP 503) the first time
NEVER_READ = "never_read"  # sent + delivered, never read
NEVER_DELIVERED = "never_delivered"  # sent only
PERSISTENT_ERROR = "persistent_error"  # code 1 (HTTP 500) on every attempt
SYNC_BAD_PARAMETER = "sync_bad_parameter"  # 131009 about a parameter, on every attempt
HELD_DROPPED = "held_dropped"  # held by template pacing, then dropped: failed 132015


@dataclass(frozen=True, slots=True)
class Pattern:
    suffix: str
    behaviour: str
    code: int | None
    summary: str


PATTERNS: tuple[Pattern, ...] = (
    Pattern("9901", SYNC_INVALID_TO, 131009, "HTTP 400 `131009`, details name the number"),
    Pattern("9902", ASYNC_UNDELIVERABLE, 131026, "accepted, then a `failed` status `131026`"),
    Pattern("9903", ASYNC_MARKETING_CAP, 131049, "accepted, then a `failed` status `131049`"),
    Pattern("9904", SYNC_STOPPED_MARKETING, 131050, "HTTP 400 `131050` (user stopped marketing)"),
    Pattern(
        "9905", TRANSIENT_UNKNOWN, 131000, "HTTP 500 `131000` the first time; accepted on retry"
    ),
    Pattern(
        "9906",
        TRANSIENT_UNAVAILABLE,
        131016,
        "HTTP 503 `131016` the first time; accepted on retry",
    ),
    Pattern("9907", NEVER_READ, None, "`sent` and `delivered`, never `read`"),
    Pattern("9908", NEVER_DELIVERED, None, "`sent` only, never `delivered` nor `read`"),
    Pattern("9909", PERSISTENT_ERROR, 1, "HTTP 500 `1` (invalid request or server error), always"),
    Pattern(
        "9910",
        SYNC_BAD_PARAMETER,
        131009,
        "HTTP 400 `131009` about a parameter value (this row's own), always",
    ),
)

FAILING_SUFFIXES: dict[str, str] = {p.suffix: p.behaviour for p in PATTERNS}


def behaviour_for(digits: str, enabled: bool = True) -> str:
    """The behaviour of a number (digits only); OK for almost every number."""
    if not enabled:
        return OK
    return FAILING_SUFFIXES.get(digits[-4:], OK)


def markdown_table() -> str:
    """The failing-number table as Markdown, for the README."""
    lines = [
        "| Number ends in | What the sandbox does |",
        "|---|---|",
        *(f"| `…{p.suffix}` | {p.summary} |" for p in PATTERNS),
    ]
    return "\n".join(lines)
