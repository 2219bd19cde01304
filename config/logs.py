"""Log lines a person can search: one line per event, with its context as fields.

The code logs with the standard library (`logging.getLogger(__name__)`, context passed as
`extra={...}`); structlog only formats. Its `ProcessorFormatter` is the console handler's
formatter, so every record, ours, Django's, Celery's, gets the same fields: the `extra` keys
(`ExtraAdder`), the context bound with `structlog.contextvars` (a task's name and id, a
request's id and path: config/celery.py, config/middleware.py), an ISO UTC timestamp, the
level and the logger name, and the traceback if any. `LOG_FORMAT` picks the rendering: JSON
for production (one object per line, the traceback inside it), key=value for a developer.

Named `logs`, not `logging`, so it can never shadow the standard module.
"""

import logging.config
import sys

import structlog
from django.core.exceptions import ImproperlyConfigured

FORMATS = ("json", "console")
# The message's key. Not structlog's "event": an `extra` key may be called that (webhook
# account updates log their event), whereas `logging` refuses an extra named "message".
MESSAGE_KEY = "message"


def log_format(raw: str | None, *, debug: bool) -> str:
    """LOG_FORMAT, strict: a typo must fail at start-up, not log in a format nobody reads."""
    if raw is None or raw.strip() == "":
        return "console" if debug else "json"
    value = raw.strip().lower()
    if value not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT={raw!r} is not a log format; use json or console.")
    return value


def _drop_asctime(_logger, _name, event_dict):
    """Drop `asctime`, which ExtraAdder takes for an extra once another handler's formatter
    has run on the record first (pytest's, for one); `message` is ours and rewritten anyway."""
    event_dict.pop("asctime", None)
    return event_dict


# Both kinds of record (a stdlib record's `extra`, a structlog call's keys) win over bound
# context: merge_contextvars only fills keys that are missing. The framework's own fields are
# added last, so a stray extra cannot pass itself off as the level or the logger.
_CONTEXT = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_FOREIGN_PRE_CHAIN = [
    structlog.processors.EventRenamer(MESSAGE_KEY),  # before the extras: see MESSAGE_KEY
    structlog.stdlib.ExtraAdder(),
    _drop_asctime,
    *_CONTEXT,
]


def formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The console handler's formatter (LOGGING names this factory)."""
    if log_format == "json":
        # format_exc_info turns the traceback into a string field; JSON escapes its newlines.
        renderers = [
            structlog.processors.format_exc_info,
            _headline_first,
            structlog.processors.JSONRenderer(),
        ]
    else:
        # ConsoleRenderer prints the traceback itself, under the line. No colour codes in a
        # file or a pipe (honcho, docker logs).
        renderers = [
            structlog.dev.ConsoleRenderer(colors=_isatty(sys.stderr), event_key=MESSAGE_KEY)
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            *renderers,
        ],
    )


def _headline_first(_logger, _name, event_dict):
    """When, how bad, where, what: first in every line, for a person reading raw JSON."""
    head = {k: event_dict.pop(k) for k in _HEADLINE if k in event_dict}
    return head | event_dict


_HEADLINE = ("timestamp", "level", "logger", MESSAGE_KEY)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def logging_config(*, log_format: str, level: str) -> dict:
    """settings.LOGGING: everything goes to the root logger's one console handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give these their own handlers and formats (and "django" a
            # second, unstructured copy of each line in DEBUG): send them to the root's.
            "django": {"handlers": [], "level": "NOTSET", "propagate": True},
            "django.server": {"handlers": [], "level": "NOTSET", "propagate": True},
            "django.db.backends": {"level": "WARNING"},
        },
    }


def configure(logging_settings: dict) -> None:
    """LOGGING_CONFIG: apply LOGGING, and route structlog's own loggers into it.

    Django calls this at setup; the Celery worker and beat call it instead of configuring
    logging themselves (config/celery.py). Code that prefers `structlog.get_logger()` to
    `logging` then gets the same fields and rendering.
    """
    logging.config.dictConfig(logging_settings)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_CONTEXT,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.EventRenamer(MESSAGE_KEY),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
