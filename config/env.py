"""Reading the environment strictly: a malformed value stops startup with an error naming
its variable, never a silent default or a 500 later (config/settings.py uses these)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(str(_env_file), overwrite=False)


def env_bool(name: str, default: bool) -> bool:
    """Strict boolean: a typo such as DEBUG=ture must fail loudly, naming the variable."""
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use true/false, yes/no, on/off or 1/0."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate, `<count>/<second|minute|hour|day>` (DRF's format, e.g. `10/minute`),
    or `off`. Checked here: a typo would otherwise be a 500 on the first throttled request."""
    raw = env.str(name, default=default).strip().lower()
    if raw == "off":
        return None
    count, _, period = raw.partition("/")
    if not (count.isdigit() and int(count) > 0 and period in _PERIODS):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; use e.g. 10/minute, 100/hour, or off."
        )
    return raw


def env_share(name: str, default: float | None) -> float | None:
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not 0 < value <= 1:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a share above 0 and at most 1.")
    return value
