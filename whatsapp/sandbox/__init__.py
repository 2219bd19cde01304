"""The WhatsApp sandbox: a local stand-in for Meta's Cloud API (an aiohttp server).

Run it with `python manage.py whatsapp_sandbox --port 8025 --webhook-url URL --app-secret S
--mps 80`, or build it in-process with `make_app(SandboxConfig(...))`. It plays Meta, so it is
self-contained: its own catalogue, validation and error table; no Django models.

Graph API endpoints (a bearer token is required; with `--token` only that one is accepted;
any WABA id and phone number id are accepted; the version segment is optional):
- `GET /{version}/{waba_id}/message_templates` — the built-in catalogue (catalogue.py) in
  Meta's shape, with cursor paging (`limit`, `after`, `before`, `paging.next`), `fields`,
  `status`, `name` and `language` filters.
- `POST /{version}/{phone_number_id}/messages` — template sends, validated like Meta does
  (validation.py), `--mps` enforced per phone number id over a sliding second (130429).
- `GET /{version}/{id}` — one template by id, or the phone number (`throughput`, …).

Controls (no token): `GET /__sandbox/health`; `GET /__sandbox/stats` (`?recipient=+…`,
`?detail=1` for per-recipient counts, `?timeline=1` for accepted sends per second);
`POST /__sandbox/reset`; `POST /__sandbox/templates/{name}/status` `{"status": "PAUSED",
"language"?, "waba_id"?, "reason"?}` (changes the catalogue, posts
`message_template_status_update`); `POST /__sandbox/inbound` `{"from": "+…", "text": "STOP",
"phone_number_id"?, "name"?, "button"?: {"payload", "text"}, "context_wamid"?}` (posts an
inbound `messages` webhook) or `{"from", "preference": "stop"|"resume"}` (posts
`user_preferences`; after "stop", MARKETING sends to that number get 131050).
Failure modes: `POST /__sandbox/templates/{name}/fail {"code": 132012, "details"?}` makes every
send of a template fail with that code (a broken mapping; `{"code": null}` ends it), and
`POST /__sandbox/burst {"code": 131049, "count": 50}` fails the next `count` sends of any
template (bursts of 131048 / 131049 / 130472; `{"count": 0}` ends it).

Failing numbers, by the last four digits of `to` (turn off with `--no-failing-numbers`):

| Number ends in | What the sandbox does |
|---|---|
| `…9901` | HTTP 400 `131009`, details name the number |
| `…9902` | accepted, then a `failed` status `131026` (undeliverable) |
| `…9903` | accepted, then a `failed` status `131049` (per-user marketing cap) |
| `…9904` | HTTP 400 `131050` (user stopped marketing messages) |
| `…9905` | HTTP 500 `131000` the first time; accepted on retry |
| `…9906` | HTTP 503 `131016` the first time; accepted on retry |
| `…9907` | `sent` and `delivered`, never `read` |
| `…9908` | `sent` only, never `delivered` nor `read` |
| `…9909` | HTTP 500 `1` (invalid request or server error), always |
| `…9910` | HTTP 400 `131009` about a parameter value (this row's own), always |

The patterns apply whatever the template's category (Meta's 131049 for every US marketing
send is deliberately not simulated). "The first time" is per sandbox process, until a reset.

Status webhooks (webhooks.py): for each accepted send, `sent`, `delivered`, then `read` for
`--read-share` of them, after random delays; signed with `X-Hub-Signature-256`; batched per
phone number id up to `--batch-max`; sometimes duplicated or reordered; retried with backoff
until answered 200. `entry[].id` is `--waba-id` if given, otherwise the WABA id that most
recently listed templates (route status webhooks by `metadata.phone_number_id`). Template
status webhooks go to every WABA id that has listed templates (or `--waba-id`).
"""

from .app import make_app
from .config import SandboxConfig, parse_range_ms

__all__ = ["SandboxConfig", "make_app", "parse_range_ms"]
