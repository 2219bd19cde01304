"""The `biz_opaque_callback_data` we attach to every send, and its parsing.

Meta echoes it in status webhooks, so a status can be matched to its recipient even when the
worker died before recording the wamid. It names the recipient only; the webhook processor
checks that the recipient belongs to the account the webhook came for.
"""

PREFIX = "bc1:"


def encode(recipient_id: int) -> str:
    return f"{PREFIX}{recipient_id}"


def decode(value: str | None) -> int | None:
    if not value or not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    digits = value[len(PREFIX) :]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    number = int(digits)
    return number if number < 2**63 else None  # a bigint key
