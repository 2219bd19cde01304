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
WEB_PORT = os.environ.get("PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    os.environ.setdefault("DEBUG", "true")
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
        "  Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    os.environ["PORT"] = WEB_PORT
    honcho = str(Path(PY).parent / "honcho")
    os.chdir(ROOT)
    # Become honcho: it receives Ctrl-C and stops every process before exiting.
    os.execv(honcho, [honcho, "start", "-f", "Procfile.dev", "-d", str(ROOT)])


if __name__ == "__main__":
    sys.exit(main())
