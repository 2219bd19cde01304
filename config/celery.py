"""The Celery application. Settings come from Django settings with the CELERY_ prefix.

Logging: the worker and beat use settings.LOGGING (config/logs.py) instead of Celery's own
set-up, which would replace the root handler with a plain format that drops every log call's
context. So LOG_LEVEL, not `--loglevel`, sets their level. Each task's lines carry its name
and id (`task`, `task_id`).
"""

import os

import structlog
from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("broadcast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Sender tasks run for minutes (ENGINE_TASK_BUDGET_SECONDS), one per worker process: on the
# queue every other task uses they would hold every process of a worker while a campaign (or
# a campaign from several numbers) sends, and webhook drains, imports and beat's jobs would
# wait behind them. So they have a queue of their own, `<default queue>.senders`, which a
# worker reads unless told otherwise (`-Q` names the queues: docs/architecture.md §8).
SENDERS_SUFFIX = ".senders"


def senders_queue(default: str | None = None) -> str:
    return (default or app.conf.task_default_queue) + SENDERS_SUFFIX


def route_task(name, args, kwargs, options, task=None, **_kw):
    """CELERY_TASK_ROUTES: sender tasks to the senders queue of the default queue in force
    (tests give each run a default queue of its own)."""
    if name == "campaigns.sender":
        return {"queue": senders_queue()}
    return None


@signals.setup_logging.connect
def configure_logging(**_kwargs):
    """Connecting to this signal is how Celery is told to leave logging alone."""
    from django.conf import settings

    from config.logs import configure

    configure(settings.LOGGING)


@signals.task_prerun.connect
def bind_task_context(task_id=None, task=None, **_kwargs):
    # Cleared first: a pool process runs one task after another, and a task may have bound
    # context of its own.
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task=getattr(task, "name", None), task_id=task_id)


@signals.task_postrun.connect
def clear_task_context(**_kwargs):
    structlog.contextvars.clear_contextvars()
