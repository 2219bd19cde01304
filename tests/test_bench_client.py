"""The benchmarks' lean HTTP client (bench/http_load.py) sends every request once and counts
every response, including the ones it cannot use."""

import asyncio

from bench import http_load


async def _serve(received: list[bytes]):
    """A tiny HTTP/1.1 server: the body says how to answer."""

    async def handle(reader, writer):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            received.append(body)
            kind = body.split(b"-")[0]
            if kind == b"drop":
                writer.close()
                return
            if kind == b"close":
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                writer.close()
                return
            status = b"403 Forbidden" if kind == b"no" else b"200 OK"
            # The head and body in two writes: the client must wait for the whole response.
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\nab")
            await writer.drain()
            await asyncio.sleep(0.001)
            writer.write(b"cde")
            await writer.drain()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_every_request_is_sent_once_and_every_response_counted():
    bodies = [b"ok-1", b"no-2", b"close-3", b"ok-4", b"drop-5", b"ok-6", b"ok-7", b"no-8"]
    received: list[bytes] = []

    async def main():
        server = await _serve(received)
        port = server.sockets[0].getsockname()[1]
        requests = http_load.build_requests(
            "127.0.0.1", port, "/hook/", ((b, {"X-Test": "1"}) for b in bodies)
        )
        async with server:
            return await http_load.post_all("127.0.0.1", port, requests, 3, 10.0)

    elapsed, statuses, latencies = asyncio.run(main())

    assert sorted(received) == sorted(bodies)
    assert statuses == {200: 5, 403: 2, 0: 1}  # the dropped one counts as a failure
    assert len(latencies) == 7
    assert latencies == sorted(latencies)
    assert elapsed > 0


def test_requests_are_complete_http_messages():
    (request,) = http_load.build_requests(
        "127.0.0.1", 8000, "/webhooks/whatsapp/", [(b'{"a":1}', {"X-Hub-Signature-256": "s"})]
    )
    assert request == (
        b"POST /webhooks/whatsapp/ HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"X-Hub-Signature-256: s\r\nContent-Length: 7\r\n\r\n"
        b'{"a":1}'
    )
