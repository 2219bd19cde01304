"""The dashboard's preview-then-confirm import of a large file, checked in the background."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Recipient
from campaigns.tasks import import_file

pytestmark = pytest.mark.django_db

HEADER = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"


def import_button(html: str) -> str:
    return re.search(r"<button[^>]*>Import \d+ recipients</button>", html).group(0)


def test_a_large_file_is_checked_in_the_background_before_it_can_be_imported(
    client, owner, campaign_a, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner)
    rows = [f"+1,41555501{i:02d},Ana,PK-{i},today,9-12" for i in range(30)] + ["+1,12,X,Y,Z,W"]
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    page = f"/campaigns/{campaign_a.pk}/"

    with django_capture_on_commit_callbacks(execute=False) as checks:
        client.post(f"{page}upload/", {"file": SimpleUploadedFile("big.csv", content)}, follow=True)
    waiting = client.get(page).content.decode()
    assert "being checked in the background" in waiting
    assert "disabled" in import_button(waiting)  # nothing to confirm before the report
    assert not Recipient.objects.filter(campaign=campaign_a).exists()

    import_file(*checks[0].args)  # the worker runs the check (a dry run)
    ready = client.get(page).content.decode()
    assert "being checked" not in ready
    assert "<strong>30</strong> ready to import" in ready
    assert "1 rejected" in ready
    assert "disabled" not in import_button(ready)
    assert not Recipient.objects.filter(campaign=campaign_a).exists()  # still only checked

    with django_capture_on_commit_callbacks(execute=False) as imports:
        client.post(f"{page}upload/confirm/", follow=True)
    import_file(*imports[0].args)
    assert Recipient.objects.filter(campaign=campaign_a).count() == 30


def test_a_large_file_refused_by_the_check_says_why_and_offers_no_import(
    client, owner, campaign_a, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_BYTES = 10
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner)
    content = b"country_code,body_param_1\n+1,Ana\n+1,Bob\n"  # no phone_number column
    with django_capture_on_commit_callbacks(execute=False) as checks:
        client.post(
            f"/campaigns/{campaign_a.pk}/upload/", {"file": SimpleUploadedFile("x.csv", content)}
        )
    import_file(*checks[0].args)
    html = client.get(f"/campaigns/{campaign_a.pk}/").content.decode()
    assert "cannot be imported" in html
    assert "phone_number" in html
    assert "disabled" in import_button(html)
