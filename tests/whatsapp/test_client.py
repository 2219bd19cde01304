"""The synchronous Graph client against a mocked Graph API (`responses`)."""

import json
import logging
import os
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from whatsapp.client import TEMPLATE_FIELDS, GraphClient, SendResult, get_session
from whatsapp.errors import Action, WhatsAppError, WhatsAppTransportError

BASE = "https://graph.test"
VERSION = "v99.0"
TOKEN = "EAAG-secret-token-never-logged"
SEND_URL = f"{BASE}/{VERSION}/1065403522/messages"
LIST_URL = f"{BASE}/{VERSION}/WABA1/message_templates"
PAYLOAD = {"messaging_product": "whatsapp", "to": "+447700900123", "type": "template"}

SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+447700900123", "wa_id": "447700900123"}],
    "messages": [{"id": "wamid.HBgM", "message_status": "accepted"}],
}


@pytest.fixture
def graph():
    return GraphClient(base_url=BASE + "/", version=VERSION, connect_timeout=1, read_timeout=2)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def send(graph):
    return graph.send_template(phone_number_id="1065403522", access_token=TOKEN, payload=PAYLOAD)


def meta_error(code, details=""):
    return {
        "error": {
            "message": f"(#{code}) Something",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "TRACE123",
        }
    }


def test_send_template_posts_the_payload_with_version_and_bearer(graph, mocked):
    mocked.post(SEND_URL, json=SUCCESS)

    result = send(graph)

    assert result == SendResult(wamid="wamid.HBgM", message_status="accepted", wa_id="447700900123")
    request = mocked.calls[0].request
    assert request.url == SEND_URL
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == PAYLOAD


def test_send_uses_the_settings_by_default(settings, mocked):
    settings.WHATSAPP_GRAPH_URL = "https://sandbox.test"
    settings.WHATSAPP_GRAPH_VERSION = "v24.0"
    mocked.post("https://sandbox.test/v24.0/PN/messages", json=SUCCESS)

    client = GraphClient()
    client.send_template(phone_number_id="PN", access_token=TOKEN, payload=PAYLOAD)

    assert client.timeout == (settings.WHATSAPP_CONNECT_TIMEOUT, settings.WHATSAPP_READ_TIMEOUT)


def test_held_for_quality_assessment_is_reported(graph, mocked):
    body = {
        **SUCCESS,
        "messages": [{"id": "wamid.X", "message_status": "held_for_quality_assessment"}],
    }
    mocked.post(SEND_URL, json=body)
    assert send(graph).message_status == "held_for_quality_assessment"


@pytest.mark.parametrize(
    ("status", "code", "details", "action"),
    [
        (429, 130429, "", Action.RETRY),
        (400, 131049, "", Action.DEFER),
        (400, 131050, "", Action.RECIPIENT),
        (400, 132000, "", Action.FIX),
        (401, 190, "", Action.STOP),
        (400, 131009, "Parameter 'to' is not a valid phone number", Action.RECIPIENT),
    ],
)
def test_error_answers_raise_classified_errors(graph, mocked, status, code, details, action):
    mocked.post(SEND_URL, json=meta_error(code, details), status=status)

    with pytest.raises(WhatsAppError) as caught:
        send(graph)

    assert caught.value.code == code
    assert caught.value.action is action
    assert caught.value.http_status == status
    assert caught.value.fbtrace_id == "TRACE123"
    assert caught.value.maybe_delivered is False


def test_html_gateway_error_is_retried(graph, mocked):
    mocked.post(SEND_URL, body="<html><h1>502 Bad Gateway</h1></html>", status=502)
    with pytest.raises(WhatsAppError) as caught:
        send(graph)
    assert caught.value.action is Action.RETRY
    assert caught.value.http_status == 502


def test_success_without_a_message_id_may_have_been_delivered(graph, mocked):
    mocked.post(SEND_URL, body="<html>ok</html>", status=200)
    with pytest.raises(WhatsAppError) as caught:
        send(graph)
    assert caught.value.maybe_delivered is True
    assert caught.value.action is Action.FIX


def test_read_timeout_may_have_been_delivered(graph, mocked):
    mocked.post(SEND_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(WhatsAppTransportError) as caught:
        send(graph)
    assert caught.value.maybe_delivered is True
    assert caught.value.action is Action.RETRY


def test_connection_dropped_after_sending_may_have_been_delivered(graph, mocked):
    mocked.post(SEND_URL, body=requests.exceptions.ConnectionError("Connection aborted."))
    with pytest.raises(WhatsAppTransportError) as caught:
        send(graph)
    assert caught.value.maybe_delivered is True


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError(
            MaxRetryError(None, "/x", NewConnectionError(None, "Connection refused"))
        ),
    ],
    ids=["connect timeout", "connection refused"],
)
def test_connect_errors_were_not_delivered(graph, mocked, exc):
    mocked.post(SEND_URL, body=exc)
    with pytest.raises(WhatsAppTransportError) as caught:
        send(graph)
    assert caught.value.maybe_delivered is False


def test_refused_connection_on_a_real_closed_port_was_not_delivered():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    graph = GraphClient(base_url=f"http://127.0.0.1:{port}", version=VERSION, connect_timeout=1)

    with pytest.raises(WhatsAppTransportError) as caught:
        send(graph)

    assert caught.value.maybe_delivered is False


def test_token_never_reaches_logs_or_error_text(graph, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    mocked.post(SEND_URL, json=meta_error(190), status=401)
    mocked.post(SEND_URL, body=requests.exceptions.ReadTimeout(f"timed out {SEND_URL}"))
    mocked.get(LIST_URL, body=requests.exceptions.ConnectionError(f"?access_token={TOKEN}"))
    errors = []
    for call in (lambda: send(graph), lambda: send(graph), lambda: list(list_all(graph))):
        with pytest.raises(WhatsAppError) as caught:
            call()
        errors.append(caught.value)

    assert "TRACE123" in caplog.text  # the failure is logged, with Meta's trace id
    assert "phone_number_id=1065403522" in caplog.text
    assert TOKEN not in caplog.text
    assert all(TOKEN not in f"{e} {e!r}" for e in errors)


# --- template listing --------------------------------------------------------------------------


def list_all(graph, **kwargs):
    return graph.list_templates(waba_id="WABA1", access_token=TOKEN, **kwargs)


def page(names, after=None, *, next_url=True):
    data = {"data": [{"name": n, "id": n} for n in names]}
    if after:
        data["paging"] = {"cursors": {"before": "b", "after": after}}
        if next_url:
            data["paging"]["next"] = (
                f"https://graph.facebook.com/v99.0/WABA1/message_templates?access_token={TOKEN}&after={after}"
            )
    return data


def query(call):
    return parse_qs(urlsplit(call.request.url).query)


def test_listing_follows_paging_across_three_pages(graph, mocked):
    mocked.get(LIST_URL, json=page(["a", "b"], "C1"))
    mocked.get(LIST_URL, json=page(["c"], "C2"))
    mocked.get(LIST_URL, json=page(["d"], "C3", next_url=False))

    names = [t["name"] for t in list_all(graph, limit=2)]

    assert names == ["a", "b", "c", "d"]
    assert len(mocked.calls) == 3
    first, second, third = (query(c) for c in mocked.calls)
    assert first == {"fields": [TEMPLATE_FIELDS], "limit": ["2"]}
    assert second["after"] == ["C1"]
    assert third["after"] == ["C2"]
    for call in mocked.calls:
        # The token from Meta's `next` URL is not reused in the query; our header carries it.
        assert urlsplit(call.request.url).netloc == "graph.test"
        assert "access_token" not in query(call)
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_listing_follows_a_next_url_without_cursors_on_the_same_host(graph, mocked):
    mocked.get(
        LIST_URL,
        json={"data": [{"name": "a"}], "paging": {"next": f"{LIST_URL}?page=2&access_token=x"}},
    )
    mocked.get(LIST_URL, json={"data": [{"name": "b"}]})

    assert [t["name"] for t in list_all(graph)] == ["a", "b"]
    assert query(mocked.calls[1]) == {"page": ["2"]}


def test_listing_stops_a_paging_loop(graph, mocked):
    mocked.get(LIST_URL, json=page(["a"], "SAME"))
    mocked.get(LIST_URL, json=page(["b"], "SAME"))

    names = []
    with pytest.raises(WhatsAppError, match="repeats a page") as caught:
        names.extend(t["name"] for t in list_all(graph))

    assert names == ["a", "b"]
    assert caught.value.action is Action.FIX
    assert len(mocked.calls) == 2


def test_listing_caps_the_number_of_pages(graph, mocked):
    for i in range(3):
        mocked.get(LIST_URL, json=page([f"t{i}"], f"C{i}"))
    with pytest.raises(WhatsAppError, match="exceeds 3 pages"):
        list(list_all(graph, max_pages=3))


def test_listing_refuses_to_send_the_token_to_another_host(graph, mocked):
    mocked.get(LIST_URL, json={"data": [], "paging": {"next": "https://evil.test/next"}})
    with pytest.raises(WhatsAppError, match="another host"):
        list(list_all(graph))


def test_listing_error_is_classified(graph, mocked):
    mocked.get(LIST_URL, json=meta_error(80007), status=400)
    with pytest.raises(WhatsAppError) as caught:
        list(list_all(graph))
    assert caught.value.action is Action.RETRY
    assert caught.value.rule.slows_rate


# --- the pooled session --------------------------------------------------------------------------


def test_one_session_per_process_rebuilt_after_a_fork():
    first = get_session()
    assert get_session() is first

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got its own session, then leave at once
        try:
            child = get_session()
            ok = child is not first and get_session() is child
            os.write(write_end, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b"1"
    os.close(read_end)
    assert get_session() is first


def test_success_without_contacts_still_returns_the_wamid(graph, mocked):
    mocked.post(SEND_URL, json={"messages": [{"id": "wamid.Y"}]})
    assert send(graph) == SendResult(wamid="wamid.Y", message_status="", wa_id="")
