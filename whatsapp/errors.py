"""Meta's error codes and what the sender does about each: the one classification table.

Every code in docs/whatsapp.md §4 maps to an `ErrorRule` whose `action` the engine follows:
RETRY (same request, with backoff), DEFER (not before `defer_seconds`), RECIPIENT (this
recipient failed for good), FIX (our payload is wrong: pause the campaign) or STOP (account
or template problem: pause the campaign and tell the operator why). Branch on the code and
`details`, never on the HTTP status or the title (docs/whatsapp.md §1.5), except where Meta's
body has no code at all (proxies, HTML error pages, timeouts).

Everything else the code does about an error is a field of its rule, never a side table:
its `scope` (what it is about), whether the connection needs attention, what it says about
the template (`template_status`, `resync_catalogue`), whether a DEFER fails the recipient
until then, and whether the user opted out. The engine, the status webhooks and the
catalogue all read these fields.

`WhatsAppError` is the one exception the Graph clients raise; `WhatsAppTransportError`
adds `maybe_delivered` so the engine never re-sends a request that may have gone through.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    RETRY = "retry"
    DEFER = "defer"
    RECIPIENT = "recipient"
    FIX = "fix"
    STOP = "stop"


class Scope(StrEnum):
    """What an error is about: who has to change for the next send to succeed."""

    RECIPIENT = "recipient"  # this person (their number, their limits, their choice)
    REQUEST = "request"  # what we sent: a parameter, the mapping, the payload's shape
    TEMPLATE = "template"  # the template: missing, paused, disabled, against policy
    NUMBER = "number"  # the sending phone number: registration, throughput, quality
    ACCOUNT = "account"  # the WABA, the app or its token: permissions, billing, policy
    META = "meta"  # Meta's side: outages, unknown errors, dropped connections


@dataclass(frozen=True, slots=True)
class ErrorRule:
    code: int | None
    action: Action
    # Can resending this recipient later succeed (the "retry failed" filter)? For FIX and
    # STOP it means "once the operator has fixed the cause"; False only when the recipient
    # itself is the reason.
    retryable: bool
    explanation: str
    defer_seconds: int | None = None  # DEFER: earliest retry; RETRY: first backoff step
    max_attempts: int | None = None  # RETRY: total attempts before `exhausted` applies
    # RETRY: what to do once max_attempts is used up. DEFER here means "give the recipient
    # back for a later pass", never "fail it": throughput limits are ours, not theirs.
    exhausted: Action | None = None
    slows_rate: bool = False  # the number's rate bucket should slow down
    backoff_factor: float = 2.0
    # Meta says the outcome is unclear (131000): a webhook may still report a delivery.
    ambiguous: bool = False
    scope: Scope = Scope.REQUEST
    # STOP: the connection itself needs a person (the account is flagged "needs attention").
    needs_attention: bool = False
    # What Meta's refusal says the template's status is (the catalogue takes it over).
    template_status: str | None = None
    # The catalogue may be out of date (e.g. another language, or not approved yet): read
    # the account's templates again rather than guess a status.
    resync_catalogue: bool = False
    # DEFER: the recipient fails now, retryable after `defer_seconds` (Meta's limits per
    # user), instead of going back into the queue like a throughput limit.
    defer_fails: bool = False
    # The user stopped marketing messages: the number joins the workspace's opt-out list.
    opts_out: bool = False
    # One of Meta's quality signals (spam limit, per-user marketing limit, experiment
    # hold-out): a rise of them on status webhooks trips the breaker too.
    quality_signal: bool = False

    def retry_delay(self, attempt: int, *, jitter: bool = True, cap: float = 300.0) -> float:
        """Seconds to wait before retry number `attempt` (1-based), full jitter by default."""
        base = float(self.defer_seconds or 1)
        delay = min(cap, base * self.backoff_factor ** max(0, attempt - 1))
        return random.uniform(base / 2, delay) if jitter else delay


def _retry(
    code, explanation, *, attempts=5, then=Action.RECIPIENT, delay=2, scope=Scope.META, **kw
) -> ErrorRule:
    return ErrorRule(
        code, Action.RETRY, True, explanation, delay, attempts, exhausted=then, scope=scope, **kw
    )


def _stop(code, explanation, *, scope: Scope, retryable=True, **kw) -> ErrorRule:
    return ErrorRule(code, Action.STOP, retryable, explanation, scope=scope, **kw)


def _account(code, explanation, *, scope=Scope.ACCOUNT, retryable=True) -> ErrorRule:
    """A STOP that flags the connection: nothing sends until a person fixes the account."""
    return _stop(code, explanation, scope=scope, retryable=retryable, needs_attention=True)


def _fix(code, explanation, **kw) -> ErrorRule:
    return ErrorRule(code, Action.FIX, True, explanation, scope=Scope.REQUEST, **kw)


def _row(code, explanation) -> ErrorRule:
    """A payload error whose cause can be this row's own values (a too-long or malformed cell,
    a media URL that does not download): the recipient fails, retryable once its values are
    fixed, and the campaign goes on. When the cause is the mapping or the template instead,
    every row fails the same way, and the engine's breaker (campaigns/engine/breaker.py)
    pauses the campaign within a few dozen sends."""
    return ErrorRule(code, Action.RECIPIENT, True, explanation, scope=Scope.REQUEST)


def _recipient(code, explanation, *, retryable=False, **kw) -> ErrorRule:
    return ErrorRule(code, Action.RECIPIENT, retryable, explanation, scope=Scope.RECIPIENT, **kw)


DAY = 24 * 60 * 60

RULES: dict[int, ErrorRule] = {
    rule.code: rule
    for rule in [
        _account(0, "The access token expired or was revoked. Rotate the token, then resume."),
        _retry(
            1,
            "Meta reported an invalid request or a possible server error.",
            attempts=3,
            then=Action.FIX,
        ),
        _retry(2, "Meta is temporarily down or overloaded.", delay=5),
        _account(3, "The app lacks the capability or permission for sending messages."),
        _retry(
            4,
            "The app hit Meta's API call-rate limit; sending slows down.",
            delay=30,
            attempts=8,
            then=Action.DEFER,
            slows_rate=True,
            scope=Scope.ACCOUNT,
        ),
        _account(10, "A permission was not granted or was removed from the app."),
        _account(33, "The business phone number was deleted.", scope=Scope.NUMBER, retryable=False),
        _row(100, "Meta refused a parameter (unsupported, misspelt or too long)."),
        _account(190, "The access token expired. Rotate the token, then resume."),
        _account(368, "The WhatsApp Business Account is restricted for a policy violation."),
        _retry(
            80007,
            "The WhatsApp Business Account hit its rate limit; sending slows down.",
            delay=30,
            attempts=8,
            then=Action.DEFER,
            slows_rate=True,
            scope=Scope.ACCOUNT,
        ),
        _recipient(130403, "Your business has blocked this user."),
        _retry(
            130429,
            "The number's throughput (messages per second) was exceeded; sending slows down.",
            delay=1,
            attempts=10,
            then=Action.DEFER,
            slows_rate=True,
            scope=Scope.NUMBER,
        ),
        ErrorRule(
            130472,
            Action.DEFER,
            True,
            "The user is in a Meta marketing experiment hold-out; try a later campaign.",
            defer_seconds=DAY,
            scope=Scope.RECIPIENT,
            defer_fails=True,
            quality_signal=True,
        ),
        _recipient(130497, "This account may not message users in this country."),
        _retry(
            131000,
            "Meta reported an unknown error; the message may or may not have been sent.",
            attempts=3,
            delay=5,
            ambiguous=True,
        ),
        _account(131005, "Permission denied for this account."),
        _row(131008, "A required parameter is missing from the request."),
        _row(131009, "A parameter value is invalid."),
        _retry(131016, "A Meta service is temporarily unavailable.", delay=5),
        _recipient(131021, "The recipient is the sending number itself."),
        _recipient(
            131026,
            "Undeliverable: not a WhatsApp number, terms not accepted or an "
            "outdated app. A later campaign may reach them.",
            retryable=True,
        ),
        _recipient(
            131030, "The recipient is not on the test number's allowed list.", retryable=True
        ),
        _account(131031, "The account is locked (policy or a failed data check)."),
        _account(131037, "The sending number has no approved display name.", scope=Scope.NUMBER),
        _account(131042, "There is a payment or billing problem on the account."),
        _account(131045, "The phone number has a registration problem.", scope=Scope.NUMBER),
        _fix(131047, "Meta treated the send as a non-template message outside the 24-hour window."),
        _stop(
            131048,
            "Spam rate limit: too many earlier messages were blocked or flagged. "
            "Check the number's quality before resuming.",
            scope=Scope.NUMBER,
            quality_signal=True,
        ),
        ErrorRule(
            131049,
            Action.DEFER,
            True,
            "Meta withheld this marketing message to limit how many the user gets; "
            "retry no sooner than 24 hours.",
            defer_seconds=DAY,
            scope=Scope.RECIPIENT,
            defer_fails=True,
            quality_signal=True,
        ),
        _recipient(131050, "The user stopped marketing messages from you.", opts_out=True),
        _fix(131051, "Unsupported message type."),
        _recipient(131052, "Meta could not download media the user sent.", retryable=True),
        _row(131053, "Meta could not download or process the header media."),
        _retry(
            131056,
            "Too many messages to this recipient in a short time.",
            delay=1,
            backoff_factor=4.0,
            attempts=4,
            then=Action.DEFER,
            scope=Scope.RECIPIENT,
        ),
        _retry(
            131057,
            "The account is in maintenance (e.g. a throughput upgrade).",
            delay=60,
            backoff_factor=1.5,
            then=Action.DEFER,
            scope=Scope.ACCOUNT,
        ),
        _stop(
            131063,
            "Marketing templates are disabled on the Cloud API for this account.",
            scope=Scope.ACCOUNT,
        ),
        _stop(
            131064,
            "Messaging limit reached after template-classification violations.",
            scope=Scope.ACCOUNT,
        ),
        _fix(
            132000,
            "The number of parameters does not match the template; re-sync it.",
            resync_catalogue=True,
        ),
        _stop(
            132001,
            "The template does not exist in this language or is not approved; "
            "the catalogue is read again. Check the template, then resume.",
            scope=Scope.TEMPLATE,
            resync_catalogue=True,
        ),
        _row(132005, "The message text is too long once this recipient's values are filled in."),
        _stop(132007, "The template's content violates WhatsApp policy.", scope=Scope.TEMPLATE),
        _row(132008, "A parameter value is formatted incorrectly."),
        _row(132012, "A parameter's format does not match the template."),
        _stop(
            132015,
            "The template was paused for low quality; resume once it is reinstated.",
            scope=Scope.TEMPLATE,
            template_status="PAUSED",
        ),
        _stop(
            132016,
            "The template was disabled for good; use a new template.",
            scope=Scope.TEMPLATE,
            retryable=False,
            template_status="DISABLED",
        ),
        _row(132018, "Meta refused a template parameter."),
        _account(
            133010, "The business number is not registered on the Cloud API.", scope=Scope.NUMBER
        ),
        _stop(133016, "Too many register/deregister attempts for the number.", scope=Scope.NUMBER),
        _retry(
            135000,
            "Meta reported an unknown error tied to the request's parameters.",
            attempts=2,
            then=Action.RECIPIENT,
            scope=Scope.REQUEST,
        ),
        # The Marketing Messages API's own codes (docs/whatsapp.md §4, §11.2; Broadcast sends
        # through it only for MARKETING templates on accounts that turn it on). 1752041 is
        # listed by Meta without a meaning: it stays UNKNOWN_RULE (a pause).
        # 131055 "Method not allowed": the answer 360dialog shows for a utility or
        # authentication template on /marketing_messages. The template's category may have
        # changed since the catalogue was read (a category update), so it is read again.
        _fix(
            131055,
            "Meta refused this template on the Marketing Messages API (only marketing "
            "templates may use it); the catalogue is read again. Check the template's "
            "category, or turn the account's Marketing Messages API off, then resume.",
            resync_catalogue=True,
        ),
        # 134100: UNCONFIRMED meaning (Meta's error page lists the code for the MM API only;
        # "terms not accepted / onboarding required" is the BSPs' reading). Only this API's
        # sends fail, so the account is not flagged: its /messages sends still work.
        _stop(
            134100,
            "The business has not completed onboarding to the Marketing Messages API (its "
            "terms are not accepted). Accept them in WhatsApp Manager, or turn the account's "
            "Marketing Messages API off, then resume.",
            scope=Scope.ACCOUNT,
        ),
        # 134101: the template is still syncing to the MM API; Meta says to wait about 10
        # minutes. Back into the queue for then, not a failure.
        ErrorRule(
            134101,
            Action.DEFER,
            True,
            "The template is still being set up for the Marketing Messages API; Meta asks "
            "to wait about 10 minutes.",
            defer_seconds=600,
            scope=Scope.META,
        ),
        # 134102: HTTP 500 on Meta's error page: the MM API is temporarily unavailable.
        _retry(134102, "The Marketing Messages API is temporarily unavailable.", delay=5),
    ]
}

PERMISSION_RULE = _account(
    None,
    "Meta reported a permission error (200–299): the token lacks "
    "a permission or none was supplied.",
)
_PERMISSION_RANGE = range(200, 300)

# Not in docs/whatsapp.md §4. Pausing (FIX) is the safe default: an unrecognised client error
# usually repeats for every recipient, so failing them one by one would burn the whole
# campaign; the failures stay `retryable` for after a person has looked.
UNKNOWN_RULE = _fix(
    None,
    "Meta returned an error code this app does not know; the campaign "
    "is paused so a person can look before more recipients fail the same way.",
)
# Server-side trouble without a code (a proxy's 502, an HTML error page).
SERVER_RULE = _retry(
    None, "Meta's server returned an error without details.", attempts=3, delay=5, then=Action.FIX
)
RATE_RULE = _retry(
    None,
    "Meta answered 429 Too Many Requests; sending slows down.",
    delay=1,
    attempts=10,
    then=Action.DEFER,
    slows_rate=True,
    scope=Scope.NUMBER,
)
AUTH_RULE = _stop(
    None, "Meta refused the credentials (HTTP 401/403) without details.", scope=Scope.ACCOUNT
)
# A timeout or a dropped connection: nothing came back. Whether a resend is safe is
# `WhatsAppTransportError.maybe_delivered`, not the rule.
TRANSPORT_RULE = _retry(
    None, "The connection to Meta failed or timed out.", attempts=3, delay=2, then=Action.RECIPIENT
)
# A 2xx we cannot read, or a paging loop: the endpoint does not behave like Meta's API
# (often WHATSAPP_GRAPH_URL pointing at the wrong server).
PROTOCOL_RULE = _fix(None, "Meta's answer did not have the expected shape.")

# 131009 details that point at the recipient rather than at our payload, e.g.
# "Parameter 'to' is not a valid phone number".
_INVALID_PHONE_RULE = _recipient(131009, "The phone number is not valid for WhatsApp.")
# The codes whose failure puts the number on the opt-out list (a status webhook's 131050).
OPT_OUT_CODES = frozenset(code for code, rule in RULES.items() if rule.opts_out)
QUALITY_CODES = frozenset(code for code, rule in RULES.items() if rule.quality_signal)
_RECIPIENT_DETAILS = re.compile(r"phone|wa_?id|['\"`]to['\"`]|\bto\b (?:field|parameter)", re.I)


def classify(code: int | None, details: str = "", *, http_status: int | None = None) -> ErrorRule:
    if code is not None:
        rule = RULES.get(code)
        if rule is not None:
            if code == 131009 and _RECIPIENT_DETAILS.search(details or ""):
                return _INVALID_PHONE_RULE
            return rule
        if code in _PERMISSION_RANGE:
            return PERMISSION_RULE
    return _http_rule(http_status)


def _http_rule(http_status: int | None) -> ErrorRule:
    if http_status is None:
        return UNKNOWN_RULE
    if http_status == 429:
        return RATE_RULE
    if http_status >= 500:
        return SERVER_RULE
    if http_status in (401, 403):
        return AUTH_RULE
    return UNKNOWN_RULE


class WhatsAppError(Exception):
    """A failed Graph API call, classified. `rule.action` tells the engine what to do."""

    maybe_delivered = False

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        error_subcode: int | None = None,
        title: str = "",
        details: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
        rule: ErrorRule | None = None,
        maybe_delivered: bool | None = None,
    ):
        super().__init__(message or title or details)
        self.code = code
        self.error_subcode = error_subcode
        self.title = title
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.rule = rule or classify(code, details, http_status=http_status)
        # Only a missing or unreadable answer makes delivery uncertain. A 131000 body is
        # an answer: its rule is RETRY (docs/whatsapp.md §4) and `rule.ambiguous` is a hint
        # that a status webhook for the callback data may still show up.
        if maybe_delivered is not None:
            self.maybe_delivered = maybe_delivered

    @property
    def action(self) -> Action:
        return self.rule.action

    @property
    def retryable(self) -> bool:
        return self.rule.retryable

    def __str__(self) -> str:
        text = self.message or self.title or self.rule.explanation
        if self.code is not None and str(self.code) not in text:
            text = f"(#{self.code}) {text}"
        if self.details and self.details not in text:
            text = f"{text}: {self.details}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"action={self.action.value!r}, fbtrace_id={self.fbtrace_id!r})"
        )

    @classmethod
    def from_error_object(cls, error: dict, *, http_status: int | None = None) -> WhatsAppError:
        """From Meta's error object: the sync body's `error`, or an async `errors[]` item."""
        code = _int_or_none(error.get("code"))
        error_data = error.get("error_data")
        details = error_data.get("details", "") if isinstance(error_data, dict) else ""
        return cls(
            str(error.get("message") or ""),
            code=code,
            error_subcode=_int_or_none(error.get("error_subcode")),
            title=str(error.get("title") or error.get("error_user_title") or ""),
            details=str(details or ""),
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            http_status=http_status,
        )

    @classmethod
    def from_response(cls, status: int, body: bytes | str | dict | None) -> WhatsAppError:
        """From an HTTP error response; tolerates empty, non-JSON and unexpected bodies."""
        data = body if isinstance(body, dict) else _loads(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return cls.from_error_object(error, http_status=status)
        snippet = _snippet(body) if not isinstance(body, dict) else ""
        return cls(
            f"HTTP {status} from the Graph API" + (f": {snippet}" if snippet else ""),
            http_status=status,
        )


class WhatsAppTransportError(WhatsAppError):
    """No HTTP answer: a timeout or a dropped connection. `maybe_delivered` is True when the
    request may have reached Meta (the engine must not resend it automatically)."""

    def __init__(self, message: str, *, maybe_delivered: bool):
        super().__init__(message, rule=TRANSPORT_RULE, maybe_delivered=maybe_delivered)

    def __str__(self) -> str:
        sent = "may have been delivered" if self.maybe_delivered else "was not sent"
        return f"{self.message} (the request {sent})"


def _loads(body: bytes | str | None):
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(body: bytes | str | None, limit: int = 200) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = re.sub(r"<[^>]*>", " ", text[: limit * 5])  # an HTML error page: keep its words
    return " ".join(text.split())[:limit]


def _int_or_none(value) -> int | None:
    """An error code or subcode: an integer column (32 bits) holds every real one."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**31) <= number < 2**31 else None
