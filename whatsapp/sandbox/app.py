"""The sandbox's aiohttp application: routes and lifecycle.

`make_app(config)` builds it (in-process for tests; `manage.py whatsapp_sandbox` runs it).
The handlers live in graph.py (Meta's endpoints) and controls.py (`/__sandbox/`); the state
they share is core.Sandbox.
"""

from aiohttp import web

from . import clicks, controls, graph
from .config import SandboxConfig
from .core import SANDBOX, Sandbox


async def _start(app: web.Application) -> None:
    if app[SANDBOX].dispatcher is not None:
        await app[SANDBOX].dispatcher.start()


async def _stop(app: web.Application) -> None:
    if app[SANDBOX].dispatcher is not None:
        await app[SANDBOX].dispatcher.stop()


def make_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (raises ValueError on an unusable config)."""
    app = web.Application()
    app[SANDBOX] = Sandbox(config or SandboxConfig(webhooks=False))
    version = "{version:v[0-9]+(?:\\.[0-9]+)?}"
    app.router.add_get("/__sandbox/health", controls.health)
    app.router.add_get("/__sandbox/stats", controls.stats)
    app.router.add_post("/__sandbox/reset", controls.reset)
    app.router.add_post("/__sandbox/templates/{name}/status", controls.template_status)
    app.router.add_post("/__sandbox/inbound", controls.inbound)
    app.router.add_post("/__sandbox/templates/{name}/fail", controls.template_failure)
    app.router.add_post("/__sandbox/burst", controls.burst)
    app.router.add_post("/__sandbox/number", controls.number_state)
    app.router.add_post("/__sandbox/templates/{name}/pace", controls.template_pace)
    app.router.add_post("/__sandbox/templates/{name}/release", controls.template_release)
    app.router.add_post("/__sandbox/account_event", controls.account_event)
    app.router.add_post("/__sandbox/click", clicks.click)
    app.router.add_post(f"/{version}/{{phone_number_id}}/messages", graph.send_message)
    app.router.add_post(
        f"/{version}/{{phone_number_id}}/marketing_messages", graph.send_marketing_message
    )
    app.router.add_get(f"/{version}/{{waba_id}}/message_templates", graph.list_templates)
    app.router.add_get(f"/{version}/{{object_id:[0-9A-Za-z_]+}}", graph.get_object)
    # Meta also answers without a version segment (it then uses the newest).
    app.router.add_post("/{phone_number_id}/messages", graph.send_message)
    app.router.add_post("/{phone_number_id}/marketing_messages", graph.send_marketing_message)
    app.router.add_get("/{waba_id}/message_templates", graph.list_templates)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app
