"""The catalogue's one announcement: a template can no longer be sent.

A template is paused, disabled or deleted on WhatsApp (by a sync or a status webhook), and
the campaigns that use it must pause or fail. `campaigns` depends on `templates_app`, never
the other way round (docs/architecture.md §2), so the catalogue announces the change and
`campaigns` (its AppConfig) connects the receiver that moves its campaigns. This is the one
signal that carries domain logic (the other, in webhooks/apps.py, only clears a cache): the
alternative was moving every caller of a sync (the beat task, the API, the admin, the
dashboard) into `campaigns`.

Sent inside the transaction that changes the template, with `send` (not `send_robust`), so
a receiver's failure rolls the status change back. Arguments: `template`, `reason` (a
sentence for the operator) and `gone` (True when it can never be sent again). Receivers
return how many campaigns they moved.
"""

from django.dispatch import Signal

template_unsendable = Signal()
