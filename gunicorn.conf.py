"""Gunicorn settings for the web process: `gunicorn -c gunicorn.conf.py config.wsgi --bind ADDR`.

Every way of starting the web process uses this file (Dockerfile, Procfile.dev,
Procfile.nosandbox; gunicorn also reads ./gunicorn.conf.py by itself), and so does
bench/bench_webhooks.py, so the receiver's figures in the README are those of this
configuration. Only the address differs between environments: give it with --bind. Override
a setting for one deployment with GUNICORN_CMD_ARGS (e.g. "--threads 8"), or the number of
processes with WEB_CONCURRENCY (about one per core).

Why these values (bench/bench_webhooks.py on the 2-core machine, PostgreSQL on the same
machine, 24 signed status POSTs in flight; POST/s, several runs each):

- gthread, 2 processes x 16 threads: 4,200-5,300. A webhook POST waits for its row's commit
  (webhooks/services/store.py) and gives up the GIL meanwhile; in one process every wake-up
  competes for the same GIL (1 x 16: 2,300-2,900, and still ~330 µs of CPU per POST with the
  database replaced by a 0.4 ms sleep). Two processes use both cores; 16 threads each let
  every POST in flight share a group commit even when connections are unevenly spread.
  2 x 8: 3,600-4,600; 2 x 12: 3,400-5,100 (the machine is shared, so runs vary: in three
  interleaved rounds 2 x 16 led 2 x 12 and 2 x 8 each time); 3 x 8: 3,600-4,200; 4 x 4:
  3,200-3,400.
- Not sync workers (no keep-alive, one commit per POST): 2,400-2,500.
- Not gevent (5,100-6,100): every request of a process would share one thread, so Django's
  per-thread database connections would become one per client connection, and a CPU-bound
  request (an inline recipient import) would stall every webhook of its process.
- No access-log line for accepted webhook POSTs (AccessLogger below): one costs ~85 µs of CPU,
  about a fifth of the receiver's throughput.
"""

import os

from gunicorn.glogging import Logger

WEBHOOK_PATH = "/webhooks/whatsapp/"  # webhooks.wsgi.PATH (not imported: Django is not set up)

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 16
# Meta's senders and proxies reuse connections; a kept-alive connection waits in the worker's
# poller, not in a thread.
keepalive = 30
# gthread's main loop keeps notifying the arbiter while requests run, so this only catches a
# worker that is stuck as a whole; a long request (an inline recipient import) is not cut.
timeout = 120
graceful_timeout = 30
accesslog = "-"  # one line per request on stdout, except accepted webhooks (below)
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


class AccessLogger(Logger):
    """Gunicorn's logger, without the access-log line of an accepted webhook POST.

    Every accepted POST is a WebhookEvent row already (with its arrival time and body), and at
    thousands a second the line is a fifth of the receiver's CPU. Refused webhooks (401, 403,
    413), errors, the GET handshake and every other request are logged as before.
    """

    def access(self, resp, req, environ, request_time):
        if (
            resp.status_code == 200
            and environ.get("PATH_INFO") == WEBHOOK_PATH
            and environ.get("REQUEST_METHOD") == "POST"
        ):
            return
        super().access(resp, req, environ, request_time)


logger_class = AccessLogger
