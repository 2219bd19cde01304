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
