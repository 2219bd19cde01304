"""The sandbox's settings: one frozen dataclass shared by the app, the command and the tests.

Delays are (min, max) ranges in seconds; `parse_range_ms("100-300")` turns the command-line
form (milliseconds, "A-B" or a single number) into that shape.
"""

from dataclasses import dataclass

DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"

Range = tuple[float, float]


def parse_range_ms(text: str) -> Range:
    """'100-300' or '250' (milliseconds) -> (0.1, 0.3) or (0.25, 0.25) (seconds)."""
    text = str(text).strip()
    low, sep, high = text.partition("-")
    try:
        lo = float(low)
        hi = float(high) if sep else lo
    except ValueError:
        raise ValueError(f"expected milliseconds as 'N' or 'MIN-MAX', got {text!r}") from None
    if lo < 0 or hi < lo:
        raise ValueError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return lo / 1000.0, hi / 1000.0


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    # Graph API behaviour
    mps: int = 80  # accepted sends per phone number id per sliding second
    latency: Range = (0.0, 0.0)  # added to every Graph API response
    token: str | None = None  # None: any bearer token is accepted
    seed: int | None = None
    failing_numbers: bool = True  # the 99xx suffix table in whatsapp/sandbox/__init__.py

    # Webhooks
    webhook_url: str | None = None
    app_secret: str = ""
    webhooks: bool = True  # False: --no-webhooks (nothing is scheduled at all)
    waba_id: str | None = None  # entry[].id; None: the WABA ids that listed templates
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER
    read_share: float = 0.7
    sent_delay: Range = (0.05, 0.3)  # after the send was accepted
    delivered_delay: Range = (0.1, 0.7)  # after sent
    read_delay: Range = (0.3, 1.5)  # after delivered
    failed_delay: Range = (0.1, 0.5)  # after the send was accepted
    batch_max: int = 20  # statuses per POST
    batch_window: float = 0.02  # statuses due within this window share a POST
    duplicate_rate: float = 0.01
    reorder_rate: float = 0.02
    duplicate_delay: Range = (0.05, 0.5)
    retry_base: float = 0.5
    retry_max: float = 30.0
    retry_max_age: float = 3600.0  # a POST still failing after this long is dropped
    webhook_concurrency: int = 16
    webhook_timeout: float = 10.0

    @property
    def webhooks_enabled(self) -> bool:
        return self.webhooks and bool(self.webhook_url)

    def validate(self) -> None:
        """Raise ValueError on settings that cannot work."""
        if self.mps < 1:
            raise ValueError("mps must be at least 1")
        if not 0.0 <= self.read_share <= 1.0:
            raise ValueError("read_share must be between 0 and 1")
        for name in ("duplicate_rate", "reorder_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        if self.webhook_concurrency < 1:
            raise ValueError("webhook_concurrency must be at least 1")
        if self.retry_base <= 0 or self.retry_max < self.retry_base:
            raise ValueError("need 0 < retry_base <= retry_max")
        if self.webhooks_enabled and not self.app_secret:
            raise ValueError("webhooks need an app secret to sign them (--app-secret)")
