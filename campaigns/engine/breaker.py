"""The breaker: pause a campaign when its errors say the fault is not the rows'.

A payload error on one recipient fails that recipient and the campaign goes on (the error
table's RECIPIENT rules, whatsapp/errors.py). But when the mapping is wrong, or the list is
bad, or Meta is limiting the account, every row fails the same way, and failing a million
recipients one by one is worse than stopping. Each sender keeps its own window of recent
attempts, in memory (no query, no Redis call per message), and trips when either

- the same code comes back on `consecutive` attempts in a row, or
- one code is more than `share` of the last `window` attempts (once `min_attempts` are in).

Defaults (settings BREAKER_*; a workspace's `breaker_defaults` and a campaign's `breaker`
override them): 10 in a row, or 50 % of the last 100 after 20. Ten independent bad rows in a
row are vanishingly unlikely in a list that is 5 % bad (0.05**10 ≈ 1e-13), while a broken
mapping trips after ten sends per sender, a few dozen at most across senders; a list where
half the rows fail one way is worth a person's look before the rest go out.

Evidence is what says something about the rows or the audience: errors scoped to the
recipient or the request. Throughput limits (slowed down, retried), Meta's transient errors
(retried) and sends whose outcome is unknown are not; opt-outs (131050) have a threshold of
their own, `optout_share`, off unless set. Account- and template-level errors never reach
the breaker: one attempt pauses the campaign (the table's STOP and FIX rules).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields

from django.conf import settings

from config.redis import get_redis
from whatsapp.errors import Action, ErrorRule, Scope, classify

logger = logging.getLogger(__name__)
QUALITY_TTL = 7 * 24 * 3600


def quality_key(campaign_id) -> str:
    """A hash {code: count} of the quality signals status webhooks reported for a campaign."""
    return f"engine:quality:{campaign_id}"


def quality_record(counts: dict[tuple[str, int], int]) -> None:
    """Add the quality signals of a batch of status webhooks ({(campaign id, code): n}); after
    the batch commits, once per batch. A Redis hiccup only delays the breaker."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        for (campaign_id, code), n in counts.items():
            pipe.hincrby(quality_key(campaign_id), str(code), n)
            pipe.expire(quality_key(campaign_id), QUALITY_TTL)
        pipe.execute()
    except Exception:
        logger.warning("could not count quality signals", exc_info=True)


SAMPLES = 3  # recipients named in the pause reason
EVIDENCE = {Scope.RECIPIENT, Scope.REQUEST}

ADVICE = {
    Scope.REQUEST: (
        "the spreadsheet's values or the template's variables are probably wrong for every "
        "row: re-sync the template, check the columns, then resume (retry failed sends the "
        "failed ones again)"
    ),
    Scope.RECIPIENT: (
        "the list itself looks wrong for this error (numbers, country, consent): check it "
        "before resuming"
    ),
}


@dataclass(frozen=True)
class BreakerSettings:
    consecutive: int = 10
    window: int = 100
    share: float = 0.5
    min_attempts: int = 20
    optout_share: float | None = None  # off by default

    LIMITS = {
        "consecutive": (2, 10_000),
        "window": (10, 10_000),
        "share": (0.05, 1.0),
        "min_attempts": (1, 10_000),
        "optout_share": (0.001, 1.0),
    }

    @classmethod
    def defaults(cls) -> BreakerSettings:
        return cls(
            consecutive=settings.BREAKER_CONSECUTIVE,
            window=settings.BREAKER_WINDOW,
            share=settings.BREAKER_SHARE,
            min_attempts=settings.BREAKER_MIN_ATTEMPTS,
            optout_share=settings.BREAKER_OPTOUT_SHARE,
        )

    @classmethod
    def resolve(cls, *layers: dict | None) -> BreakerSettings:
        """The settings' defaults, overridden by each layer in turn (the workspace's
        defaults, then the campaign's own); unknown keys are ignored, as `clean` refused
        them when they were saved."""
        values = asdict(cls.defaults())
        for layer in layers:
            for name in values:
                if layer and name in layer:
                    values[name] = layer[name]
        return cls(**values)

    @classmethod
    def clean(cls, data) -> dict:
        """Validate a `breaker` override (API, dashboard, admin): the keys it sets, each
        within its range, or null (no override: the default applies); ValueError with a
        sentence for the user otherwise."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError('breaker must be an object, e.g. {"consecutive": 10}.')
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown breaker setting(s): {', '.join(unknown)}.")
        cleaned: dict = {}
        for name, value in data.items():
            low, high = cls.LIMITS[name]
            if value is None:
                cleaned[name] = None
                continue
            is_int = name in ("consecutive", "window", "min_attempts")
            ok_type = isinstance(value, int) if is_int else isinstance(value, int | float)
            if isinstance(value, bool) or not ok_type or not low <= value <= high:
                raise ValueError(f"breaker.{name} must be a number from {low} to {high}.")
            cleaned[name] = value
        return cleaned


@dataclass(frozen=True)
class Trip:
    code: int | None
    count: int
    seen: int
    reason: str


class Breaker:
    def __init__(self, config: BreakerSettings):
        self.config = config
        self.recent: deque[int | None] = deque(maxlen=config.window)
        self.counts: Counter[int | None] = Counter()
        self.run_code: int | None = None
        self.run = 0
        self.samples: dict[int | None, deque[str]] = {}
        self.sent = 0
        self.opted_out = 0

    def success(self) -> None:
        self.sent += 1
        self._push(None)
        self.run, self.run_code = 0, None

    def failure(self, rule: ErrorRule, code: int | None, phone: str) -> Trip | None:
        """Count one failed attempt; the trip, if this one trips the breaker."""
        if rule.opts_out:
            self.opted_out += 1
            return self._optouts(code)
        if rule.scope not in EVIDENCE:
            return None
        self._push(code)
        self.samples.setdefault(code, deque(maxlen=SAMPLES)).append(phone)
        if code == self.run_code:
            self.run += 1
        else:
            self.run_code, self.run = code, 1
        if self.run >= self.config.consecutive:
            return self._trip(rule, code, self.run, self.run, f"{self.run} sends in a row")
        seen = len(self.recent)
        count = self.counts[code]
        if seen >= self.config.min_attempts and count > self.config.share * seen:
            return self._trip(rule, code, count, seen, f"{count} of the last {seen} sends")
        return None

    def quality(self, counts: dict[int, int], reached: int) -> Trip | None:
        """Quality signals reported by status webhooks for the whole campaign: a STOP-level
        one (131048, the spam rate limit) pauses at once, as it does on a send; the others
        (131049, 130472) when they pass `share` of the people reached."""
        for code, count in sorted(counts.items()):
            rule = classify(code)
            stop = rule.action == Action.STOP and count > 0
            share = reached >= self.config.min_attempts and count > self.config.share * reached
            if stop or share:
                return Trip(
                    code,
                    count,
                    reached,
                    f"Paused by the breaker: WhatsApp reported error {code} for {count} of "
                    f"the {reached} messages sent ({rule.explanation}) — Meta is limiting "
                    "this campaign's messages: check the number's quality and the audience "
                    "before resuming.",
                )
        return None

    def _push(self, code: int | None) -> None:
        if len(self.recent) == self.recent.maxlen:
            self.counts[self.recent[0]] -= 1
        self.recent.append(code)
        self.counts[code] += 1

    def _optouts(self, code: int | None) -> Trip | None:
        return self.optouts(self.opted_out, self.sent + self.opted_out, code=code)

    def optouts(self, opted_out: int, reached: int, *, code: int | None = None) -> Trip | None:
        """Opt-outs against `optout_share`: Meta's 131050 on a send (counted here), or the
        STOP replies and stop controls of people this campaign reached (counted by the
        sender from the database every few seconds, only when a limit is set)."""
        share = self.config.optout_share
        if share is None or reached < self.config.min_attempts or opted_out <= share * reached:
            return None
        how = f"error {code}" if code is not None else "a STOP reply or WhatsApp's stop control"
        return Trip(
            code,
            opted_out,
            reached,
            f"Paused by the breaker: {opted_out} of {reached} recipients reached have opted out "
            f"({how}), over this campaign's limit of {share:.0%}: check the list's consent "
            "and the message before resuming.",
        )

    def _trip(self, rule: ErrorRule, code, count: int, seen: int, where: str) -> Trip:
        samples = ", ".join(self.samples.get(code, ()))
        advice = ADVICE.get(rule.scope, "check the campaign before resuming")
        reason = (
            f"Paused by the breaker: WhatsApp error {code} on {where} ({rule.explanation}) — "
            f"{advice}. For example: {samples}."
        )
        return Trip(code, count, seen, reason)
