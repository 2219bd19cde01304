"""Inputs a probe sends to find a server error: each gets a clear 4xx (or an ordinary
answer), never a 500. The schema-driven fuzzer (test_api_fuzz) sends valid requests; these
are the invalid ones."""

import pytest

from .test_lifecycle_api import with_recipients

pytestmark = pytest.mark.django_db

CASES = [
    # (method, path, body, the statuses it may answer)
    ("post", "/api/v1/campaigns/{c}/send/", {"send_at": "2030-01-01T12:99:00Z"}, {400}),
    ("post", "/api/v1/campaigns/{c}/send/", {"send_at": "2030-02-30T10:00:00+01:00"}, {400}),
    ("post", "/api/v1/send-bulk/", {"send_at": "2030-01-01T24:00:00Z"}, {400}),
    ("get", "/api/v1/campaigns/{c}/stats/?since=2030-01-01T25:00Z", None, {400}),
    ("options", "/api/v1/docs/", None, {405}),
    ("options", "/api/v1/redoc/", None, {405}),
    ("get", "/api/v1/campaigns/?search=a%00b", None, {200, 400}),
    ("get", "/api/v1/campaigns/?created_after=2030-13-01T00:00Z", None, {400}),
    ("get", "/api/v1/templates/?account=xyz", None, {400}),
    ("get", "/api/v1/opt-outs/?phone=%00", None, {200, 400}),
    ("get", "/api/v1/campaigns/{c}/recipients/?phone=%00", None, {200, 400}),
    ("get", "/api/v1/campaigns/{c}/recipients/?wamid=%00", None, {200, 400}),
    ("get", "/api/v1/campaigns/{c}/export/?status=%00", None, {400}),
    ("get", "/api/v1/campaigns/{c}/imports/00000000-0000-0000-0000-00000000000g/", None, {404}),
    ("get", "/api/v1/campaigns/not-a-uuid/", None, {404}),
    ("get", "/api/v1/opt-outs/-1/", None, {404}),
]


@pytest.mark.parametrize(("method", "path", "body", "statuses"), CASES)
def test_a_hostile_input_is_a_clear_4xx(owner_api, template_a, method, path, body, statuses):
    campaign = with_recipients(template_a)
    url = path.format(c=campaign.pk)
    call = getattr(owner_api, method)
    response = call(url, body, format="json") if body is not None else call(url)
    assert response.status_code in statuses, (url, response.status_code, response.content[:200])
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert response.json()  # a body that says why
