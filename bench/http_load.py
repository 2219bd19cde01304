"""A lean HTTP/1.1 load generator for benchmarks that share the machine with the server.

aiohttp costs ~100 µs of CPU per request (coroutines, header objects, a response object),
which on a two-core machine is CPU the server under test does not get. This client keeps
`in_flight` keep-alive connections open and, on each, sends the next pre-built request
(request line, headers and body as one `bytes`, built before the clock starts) from the
protocol's `data_received` callback as soon as the previous response is complete: no
coroutine, no task, no parsing beyond the status line and `Content-Length`. It does not
pipeline: one request at a time per connection, as Meta's webhook senders do.

Every response is checked: its status is counted, its body read to the end; a response the
client cannot frame (no `Content-Length`, chunked, garbage) or a connection lost with a
request in flight counts as status 0 and the connection is replaced. The server may close a
connection after a response (`Connection: close`); the client then opens a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator

HEAD_END = b"\r\n\r\n"


def build_requests(
    host: str, port: int, path: str, items: Iterable[tuple[bytes, dict[str, str]]]
) -> list[bytes]:
    """One complete `POST path` per (body, extra headers), ready to write to a socket."""
    prefix = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    out = []
    for body, headers in items:
        head = prefix + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out.append(f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
    return out


class _Run:
    def __init__(self, requests: Iterator[bytes], deadline: float):
        self.requests = requests
        self.deadline = deadline
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.open = 0
        self.finished = asyncio.get_running_loop().create_future()

    def next_request(self) -> bytes | None:
        if time.perf_counter() > self.deadline:
            return None
        return next(self.requests, None)

    def record(self, status: int, latency: float | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if latency is not None:
            self.latencies.append(latency)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send, wait for the whole response, send the next."""

    def __init__(self, run: _Run, reconnect):
        self.run = run
        self.reconnect = reconnect
        self.transport = None
        self.buf = b""
        self.started = 0.0
        self.in_flight = False
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport
        self.send_next()

    def send_next(self) -> None:
        request = self.run.next_request()
        if request is None:
            self.closing = True
            self.transport.close()
            return
        self.in_flight = True
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        end = buf.find(HEAD_END)
        if end < 0:
            self.buf = buf
            return
        head = buf[:end].lower()
        status, length, close = _frame(head)
        if length is None:  # not a response this client can frame: fail it, start afresh
            self._fail()
            return
        total = end + 4 + length
        if len(buf) < total:
            self.buf = buf
            return
        self.run.record(status, time.perf_counter() - self.started)
        self.in_flight = False
        self.buf = buf[total:]
        if self.buf:  # bytes nobody asked for
            self._fail()
        elif close:
            self.closing = True
            self.transport.close()
            self.reconnect()
        else:
            self.send_next()

    def _fail(self) -> None:
        if self.in_flight:
            self.run.record(0, None)
            self.in_flight = False
        self.closing = True
        self.transport.close()
        self.reconnect()

    def connection_lost(self, exc) -> None:
        if self.in_flight:  # closed under a request: it counts as failed
            self.in_flight = False
            self.run.record(0, None)
            if not self.closing:
                self.reconnect()
        self.run.open -= 1
        if self.run.open == 0 and not self.run.finished.done():
            self.run.finished.set_result(None)


def _frame(head: bytes) -> tuple[int, int | None, bool]:
    """Status, body length (None if unframeable) and whether the server closes, from a
    lower-cased response head."""
    try:
        status = int(head[9:12])
    except ValueError:
        return 0, None, True
    length = None
    close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            return status, None, True
        elif name == b"connection" and b"close" in value:
            close = True
    return status, length, close


async def post_all(host: str, port: int, requests: list[bytes], in_flight: int, limit_s: float):
    """Send every request over `in_flight` connections (stopping at `limit_s`); the elapsed
    time, per-status counts and sorted latencies in seconds."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    run = _Run(iter(requests), started + limit_s)

    def reconnect():
        run.open += 1
        task = loop.create_task(_connect())
        task.add_done_callback(_connect_done)

    async def _connect():
        await loop.create_connection(lambda: _Connection(run, reconnect), host, port)

    def _connect_done(task):
        if task.cancelled() or task.exception() is not None:
            run.record(0, None)  # the request it would have carried is not sent
            run.open -= 1
            if run.open == 0 and not run.finished.done():
                run.finished.set_result(None)

    for _ in range(in_flight):
        reconnect()
    await run.finished
    elapsed = time.perf_counter() - started
    run.latencies.sort()
    return elapsed, run.statuses, run.latencies
