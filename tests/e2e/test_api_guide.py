"""docs/api.md's walk-through, run as written: its shell blocks, in order, against a live
web server with a real Celery worker and the sandbox, logged in as `make run`'s demo user."""

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.services import workspace_bootstrap
from campaigns.models import Campaign
from templates_app.services import templates_sync
from whatsapp.models import WhatsAppAccount

from .test_campaign_browser import worker  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
MAKE_RUN_URL = "http://127.0.0.1:8000"


def guide_script() -> str:
    text = GUIDE.read_text()
    section = text.split("<!-- guide:start -->", 1)[1].split("<!-- guide:end -->", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 6, "the guide's walk-through lost its commands"
    return "\n".join(blocks)


def test_the_api_guide_works_as_written(live_server, worker, sandbox, tmp_path):  # noqa: F811
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the API guide")
    # given what `make run` prepares: the demo login, the sandbox number and its templates
    workspace_bootstrap(workspace_name="Demo", username="demo", password="broadcast-demo")
    call_command("connect_sandbox", "--workspace", "Demo", "--no-sync", "--mps", "1000")
    templates_sync(account=WhatsAppAccount.objects.get(workspace__name="Demo"))
    script = guide_script().replace(MAKE_RUN_URL, live_server.url)

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    campaign = Campaign.objects.get(name="December delivery notices")
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.total_recipients == 3
    rows = list(csv.DictReader((tmp_path / "results.csv").read_text("utf-8-sig").splitlines()))
    assert sorted(r["phone"] for r in rows) == [
        "'+14155550100",
        "'+447911123456",
        "'+5511987654321",
    ]
    assert {r["status"] for r in rows} <= {"sent", "delivered", "read"}
    assert all(r["wamid"] for r in rows)
    assert sandbox.stats()["accepted_total"] == 3
