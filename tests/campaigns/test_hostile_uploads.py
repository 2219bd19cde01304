"""Hostile uploads: each gets a clear 4xx with a reason, and leaves nothing behind (no
recipient, no stored file, the campaign's counters untouched)."""

import os

import pytest
from django.conf import settings as django_settings

from campaigns.models import Recipient

from .import_helpers import HEADER, upload

pytestmark = pytest.mark.django_db

CASES = {
    "binary garbage": (os.urandom(64 * 1024), "list.csv"),
    "binary garbage named xlsx": (os.urandom(64 * 1024), "list.xlsx"),
    "a 5 MB line": ((HEADER + "\n+1,4155550100," + "x" * 5_000_000 + "\n").encode(), "l.csv"),
    "10,000 columns": ((",".join(f"c{i}" for i in range(10_000)) + "\n1,2\n").encode(), "w.csv"),
    "NUL bytes": ((HEADER + "\n+1,415555\x000100,Ana,PK,now,9\n").encode(), "nul.csv"),
    "a zip that is no workbook": (b"PK\x03\x04" + os.urandom(2000), "fake.xlsx"),
    "an empty file": (b"", "empty.csv"),
    "a header and nothing else": ((HEADER + "\n").encode(), "head.csv"),
}


def stored_files() -> set[str]:
    root = django_settings.MEDIA_ROOT
    if not os.path.isdir(root):
        return set()
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_upload_is_a_clear_4xx_and_leaves_nothing(owner_api, campaign_a, case, settings):
    # Checked in the request, as a small file is (a large one is checked by a worker, which
    # fails its report the same way: test_import_reports).
    settings.IMPORT_ASYNC_BYTES = 50 * 1024 * 1024
    content, name = CASES[case]
    before = stored_files()

    response = upload(owner_api, campaign_a, content, name=name)

    assert 400 <= response.status_code < 500, (case, response.status_code)
    body = response.json()
    reason = body.get("detail") or " ".join(
        sum((v for v in body.values() if isinstance(v, list)), [])
    )
    assert reason.strip(), body
    assert not Recipient.objects.filter(campaign=campaign_a).exists()
    campaign_a.refresh_from_db()
    assert campaign_a.total_recipients == campaign_a.pending_count == 0
    assert stored_files() <= before
