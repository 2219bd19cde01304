"""WSGI entry point: `gunicorn config.wsgi`.

Meta's status webhooks (thousands of POSTs a second during a campaign) are answered by a thin
fast path in front of Django (webhooks/wsgi.py); every other request goes through Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from webhooks.wsgi import webhook_fast_path  # noqa: E402  (needs Django set up first)

application = webhook_fast_path(get_wsgi_application())
