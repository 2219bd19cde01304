"""What the sandbox remembers about sends: throughput windows, counts, duplicates, rejections.

Everything here is in memory, per process, and cleared by `POST /__sandbox/reset`. The hot
path (`throttled`, `accept`) is a handful of dict and deque operations per send; per-recipient
counts are kept for every recipient but only reported when asked for.
"""

import time
from collections import defaultdict, deque

DUPLICATE_EXAMPLES_MAX = 100
TIMELINE_SECONDS_MAX = 3600
DETAIL_MAX = 100_000


class Ledger:
    def __init__(self, mps: int):
        self.mps = mps
        self.reset()

    def reset(self) -> None:
        # Per phone number id: monotonic times of the accepted sends of the last second.
        self.windows: dict[str, deque[float]] = {}
        self.peak_window: dict[str, int] = defaultdict(int)
        self.accepted_total = 0
        self.accepted_by_number: dict[str, int] = defaultdict(int)
        self.per_recipient: dict[str, int] = defaultdict(int)
        # hash((wa_id, callback data)) of every accepted send that had callback data: ints keep
        # a million sends in tens of megabytes.
        self._seen_callbacks: set[int] = set()
        self.duplicates = 0
        self.duplicate_examples: list[dict] = []
        self.sends_without_callback = 0
        self.rejected_by_code: dict[int, int] = defaultdict(int)
        self.by_second: dict[int, int] = defaultdict(int)
        # Numbers whose first (transient) failure has happened; numbers that opted out.
        self.transient_seen: set[str] = set()
        self.stopped_marketing: set[str] = set()
        # Failure modes switched on through /__sandbox/: template name -> (code, details) for
        # every send of it (a broken mapping), and a burst: [code, sends left].
        self.template_failures: dict[str, tuple[int, str]] = {}
        self.burst: list[int] = []
        # Sends accepted through /marketing_messages (the rest came through /messages), and per
        # recipient how many with the last product_policy and message_activity_sharing seen.
        self.marketing_accepted = 0
        self.marketing_by_recipient: dict[str, dict] = {}
        self.started = time.time()

    # --- hot path -------------------------------------------------------------------------

    def throttled(self, phone_number_id: str, now: float) -> bool:
        """True when accepting one more send would exceed `mps` in the last second."""
        window = self.windows.get(phone_number_id)
        if window is None:
            return False
        edge = now - 1.0
        while window and window[0] <= edge:
            window.popleft()
        return len(window) >= self.mps

    def accept(self, phone_number_id: str, wa_id: str, callback: str | None, now: float) -> None:
        window = self.windows.get(phone_number_id)
        if window is None:
            window = self.windows[phone_number_id] = deque()
        window.append(now)
        if len(window) > self.peak_window[phone_number_id]:
            self.peak_window[phone_number_id] = len(window)
        self.accepted_total += 1
        self.accepted_by_number[phone_number_id] += 1
        self.per_recipient[wa_id] += 1
        self.by_second[int(time.time())] += 1
        if callback is None:
            self.sends_without_callback += 1
            return
        key = hash((wa_id, callback))
        if key in self._seen_callbacks:
            self.duplicates += 1
            if len(self.duplicate_examples) < DUPLICATE_EXAMPLES_MAX:
                self.duplicate_examples.append(
                    {"recipient_id": wa_id, "biz_opaque_callback_data": callback}
                )
        else:
            self._seen_callbacks.add(key)

    def accept_marketing(self, wa_id: str, policy: str | None, sharing: bool | None) -> None:
        """After `accept`, for a send that came through the Marketing Messages API."""
        self.marketing_accepted += 1
        seen = self.marketing_by_recipient.setdefault(wa_id, {"accepted": 0})
        seen["accepted"] += 1
        seen["product_policy"], seen["message_activity_sharing"] = policy, sharing

    def reject(self, code: int) -> None:
        self.rejected_by_code[code] += 1

    # --- reporting ------------------------------------------------------------------------

    def snapshot(
        self,
        *,
        recipient_digits: str | None = None,
        detail: bool = False,
        timeline: bool = False,
    ) -> dict:
        if len(self.by_second) > TIMELINE_SECONDS_MAX:
            for second in sorted(self.by_second)[:-TIMELINE_SECONDS_MAX]:
                del self.by_second[second]
        out = {
            "accepted_total": self.accepted_total,
            "unique_recipients": len(self.per_recipient),
            "accepted_by_phone_number_id": dict(self.accepted_by_number),
            "peak_one_second_by_phone_number_id": dict(self.peak_window),
            "duplicate_sends": self.duplicates,
            "duplicate_examples": self.duplicate_examples,
            "duplicate_examples_capped": self.duplicates > len(self.duplicate_examples),
            "sends_without_callback_data": self.sends_without_callback,
            "throttled": self.rejected_by_code.get(130429, 0),
            "rejected_total": sum(self.rejected_by_code.values()),
            "rejected_by_code": {str(k): v for k, v in sorted(self.rejected_by_code.items())},
            "stopped_marketing": sorted(self.stopped_marketing),
            "accepted_by_path": {
                "messages": self.accepted_total - self.marketing_accepted,
                "marketing_messages": self.marketing_accepted,
            },
        }
        if recipient_digits is not None:
            out["recipient"] = {
                "wa_id": recipient_digits,
                "accepted": self.per_recipient.get(recipient_digits, 0),
            }
            marketing = self.marketing_by_recipient.get(recipient_digits)
            if marketing is not None:  # {"accepted", "product_policy", "message_activity_sharing"}
                out["recipient"]["marketing_messages"] = marketing
        if detail:
            items = list(self.per_recipient.items())
            out["per_recipient"] = dict(items[:DETAIL_MAX])
            out["per_recipient_capped"] = len(items) > DETAIL_MAX
        if timeline:
            out["accepted_by_second"] = {str(k): v for k, v in sorted(self.by_second.items())}
        return out
