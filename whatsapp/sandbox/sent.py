"""The messages the sandbox accepted, remembered for `POST /__sandbox/click` (clicks.py).

Meta's click events carry no wamid and no phone number, only a tracking token; to post one
for a message the sandbox must know that message's number and callback data.
"""

SENT_MAX = 200_000  # messages remembered (a few tens of MB at most)


class SentMessages:
    """wamid → (phone number id, recipient digits, callback data) of accepted messages, and
    each recipient's latest wamid. Bounded: the oldest are forgotten first."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.by_wamid: dict[str, tuple[str, str, str | None]] = {}
        self.latest: dict[str, str] = {}

    def remember(self, phone_number_id: str, wamid: str, digits: str, callback) -> None:
        by_wamid = self.by_wamid
        if len(by_wamid) >= SENT_MAX:
            oldest = next(iter(by_wamid))
            _, old_digits, _ = by_wamid.pop(oldest)
            if self.latest.get(old_digits) == oldest:
                del self.latest[old_digits]
        by_wamid[wamid] = (phone_number_id, digits, callback)
        self.latest[digits] = wamid

    def find(self, *, wamid: str | None, digits: str | None):
        """(wamid, phone number id, digits, callback data) or None."""
        if wamid is None and digits is not None:
            wamid = self.latest.get(digits)
        sent = self.by_wamid.get(wamid) if wamid else None
        return None if sent is None else (wamid, *sent)
