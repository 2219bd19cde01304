"""`make run`: prepare the database and the demo workspace, then start every process.

Runs under scripts/with_redis.py, so REDIS_URL is always set here. Ctrl-C stops everything
(honcho forwards it to each process).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

DEMO_WORKSPACE = os.environ.get("DEMO_WORKSPACE", "Demo")
DEMO_USERNAME = os.environ.get("DEMO_USERNAME", "demo")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "broadcast-demo")
WEB_PORT = os.environ.get("WEB_PORT", "8000")
SANDBOX_PORT = os.environ.get("SANDBOX_PORT", "8025")
SANDBOX_APP_SECRET = os.environ.get("SANDBOX_APP_SECRET", "sandbox-app-secret")


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    os.environ.setdefault("DEBUG", "true")
    # The built-in sandbox stands in for Meta unless a Graph URL is configured.
    use_sandbox = not os.environ.get("WHATSAPP_GRAPH_URL")
    if use_sandbox:
        os.environ["WHATSAPP_GRAPH_URL"] = f"http://127.0.0.1:{SANDBOX_PORT}"
    manage("migrate", "--noinput")
    manage(
        "bootstrap_workspace",
        "--workspace",
        DEMO_WORKSPACE,
        "--username",
        DEMO_USERNAME,
        "--password",
        DEMO_PASSWORD,
        "--superuser",
    )
    if use_sandbox:
        manage("connect_sandbox", "--workspace", DEMO_WORKSPACE, "--app-secret", SANDBOX_APP_SECRET)
    db = os.environ.get("DATABASE_URL") or f"SQLite ({ROOT / 'data' / 'broadcast.sqlite3'})"
    print(
        "\n"
        "  Broadcast is starting.\n"
        f"    Dashboard  http://127.0.0.1:{WEB_PORT}/   (log in at /accounts/login/)\n"
        f"    Admin      http://127.0.0.1:{WEB_PORT}/admin/\n"
        f"    API docs   http://127.0.0.1:{WEB_PORT}/api/v1/docs/\n"
        f"    Login      username: {DEMO_USERNAME}   password: {DEMO_PASSWORD}\n"
        f"    Database   {db}\n"
        f"    Redis      {os.environ['REDIS_URL']}\n"
        f"    WhatsApp   {os.environ['WHATSAPP_GRAPH_URL']}"
        f"{' (the built-in sandbox)' if use_sandbox else ''}\n"
        "  Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    # honcho gives each process its own PORT; ours are named explicitly.
    os.environ["WEB_PORT"] = WEB_PORT
    os.environ["SANDBOX_PORT"] = SANDBOX_PORT
    os.environ["SANDBOX_APP_SECRET"] = SANDBOX_APP_SECRET
    procfile = "Procfile.dev" if use_sandbox else "Procfile.nosandbox"
    honcho = str(Path(PY).parent / "honcho")
    os.chdir(ROOT)
    # Become honcho: it receives Ctrl-C and stops every process before exiting.
    os.execv(honcho, [honcho, "start", "-f", procfile, "-d", str(ROOT)])


if __name__ == "__main__":
    sys.exit(main())
