"""The error-code table and WhatsAppError's parsing of Meta's answers."""

import json

import pytest

from whatsapp.errors import (
    OPT_OUT_CODES,
    RULES,
    Action,
    Scope,
    WhatsAppError,
    WhatsAppTransportError,
    classify,
)

R, D, RC, F, S = Action.RETRY, Action.DEFER, Action.RECIPIENT, Action.FIX, Action.STOP

# Every code of docs/whatsapp.md §4: (code, action, retryable by a later "retry failed").
TABLE = [
    (0, S, True),
    (1, R, True),
    (2, R, True),
    (3, S, True),
    (4, R, True),
    (10, S, True),
    (33, S, False),
    (100, RC, True),
    (190, S, True),
    (200, S, True),
    (250, S, True),
    (299, S, True),
    (368, S, True),
    (80007, R, True),
    (130403, RC, False),
    (130429, R, True),
    (130472, D, True),
    (130497, RC, False),
    (131000, R, True),
    (131005, S, True),
    (131008, RC, True),
    (131009, RC, True),
    (131016, R, True),
    (131021, RC, False),
    (131026, RC, True),
    (131030, RC, True),
    (131031, S, True),
    (131037, S, True),
    (131042, S, True),
    (131045, S, True),
    (131047, F, True),
    (131048, S, True),
    (131049, D, True),
    (131050, RC, False),
    (131051, F, True),
    (131052, RC, True),
    (131053, RC, True),
    (131055, F, True),
    (131056, R, True),
    (131057, R, True),
    (131063, S, True),
    (131064, S, True),
    (132000, F, True),
    (132001, S, True),
    (132005, RC, True),
    (132007, S, True),
    (132008, RC, True),
    (132012, RC, True),
    (132015, S, True),
    (132016, S, False),
    (132018, RC, True),
    (133010, S, True),
    (133016, S, True),
    (134100, S, True),
    (134101, D, True),
    (134102, R, True),
    (135000, R, True),
]


@pytest.mark.parametrize(("code", "action", "retryable"), TABLE, ids=[str(t[0]) for t in TABLE])
def test_every_documented_code_has_its_action(code, action, retryable):
    rule = classify(code)
    assert rule.action is action
    assert rule.retryable is retryable
    assert rule.explanation
    if action is Action.RETRY:
        assert (rule.max_attempts or 0) >= 2
        assert rule.exhausted is not None
    if action is Action.DEFER:
        assert (rule.defer_seconds or 0) > 0


def test_the_table_has_no_code_the_document_lacks():
    documented = {code for code, _, _ in TABLE}
    assert set(RULES) <= documented


def test_the_rule_says_which_errors_flag_the_connection():
    flagged = {code for code, rule in RULES.items() if rule.needs_attention}
    assert flagged == {0, 3, 10, 33, 190, 368, 131005, 131031, 131037, 131042, 131045, 133010}
    assert all(classify(code).needs_attention for code in (200, 250, 299))
    assert all(RULES[code].action == Action.STOP for code in flagged)


def test_the_rule_says_what_an_error_means_for_the_template():
    assert {c: r.template_status for c, r in RULES.items() if r.template_status} == {
        132015: "PAUSED",
        132016: "DISABLED",
    }
    # 132001 is "not in this language, or not approved": read the catalogue, don't guess
    assert RULES[132001].template_status is None
    assert RULES[132001].resync_catalogue
    assert RULES[132001].action == Action.STOP
    assert {c for c, r in RULES.items() if r.scope == Scope.TEMPLATE} == {
        132001,
        132007,
        132015,
        132016,
    }


def test_per_user_limits_fail_the_recipient_until_later_and_131050_opts_out():
    assert {c for c, r in RULES.items() if r.defer_fails} == {130472, 131049}
    assert all(RULES[c].scope == Scope.RECIPIENT for c in (130472, 131049, 131056))
    assert not RULES[131056].defer_fails  # a pair rate limit goes back into the queue
    assert set(OPT_OUT_CODES) == {131050}


def test_every_recipient_rule_is_about_the_person_or_the_row_and_every_fix_the_request():
    for rule in RULES.values():
        if rule.action == Action.RECIPIENT:
            assert rule.scope in (Scope.RECIPIENT, Scope.REQUEST), rule.code
        if rule.action == Action.FIX:
            assert rule.scope == Scope.REQUEST, rule.code


@pytest.mark.parametrize("code", [100, 131008, 131009, 131053, 132005, 132008, 132012, 132018])
def test_a_payload_error_that_can_be_the_rows_own_fails_that_row_retryably(code):
    rule = RULES[code]
    assert (rule.action, rule.retryable, rule.scope) == (Action.RECIPIENT, True, Scope.REQUEST)


def test_errors_about_the_template_or_our_payload_shape_still_pause_at_once():
    # the parameter count, the message type and the 24-hour window are the same for every row
    for code in (132000, 131047, 131051):
        assert RULES[code].action == Action.FIX, code
    assert RULES[132000].resync_catalogue
    # 135000: retried twice, then the row fails (retryable): the breaker catches a pattern
    assert RULES[135000].exhausted == Action.RECIPIENT


def test_rate_limits_slow_the_number_down():
    assert {code for code, rule in RULES.items() if rule.slows_rate} == {4, 80007, 130429}


def test_marketing_cap_defers_at_least_a_day():
    assert classify(131049).defer_seconds >= 24 * 3600
    assert classify(130472).defer_seconds > 0


def test_unknown_error_retries_at_most_three_times_and_is_ambiguous():
    rule = classify(131000)
    assert rule.max_attempts <= 3
    assert rule.ambiguous


def test_pair_rate_limit_backs_off_by_powers_of_four():
    rule = classify(131056)
    delays = [rule.retry_delay(n, jitter=False) for n in (1, 2, 3)]
    assert delays == [1.0, 4.0, 16.0]
    assert 0.5 <= rule.retry_delay(3) <= 16.0


@pytest.mark.parametrize(
    "details",
    ["Parameter 'to' is not a valid phone number", "Invalid WhatsApp phone number", "bad wa_id"],
)
def test_131009_about_the_phone_number_fails_only_the_recipient(details):
    rule = classify(131009, details)
    assert rule.action is Action.RECIPIENT
    assert rule.retryable is False


@pytest.mark.parametrize(
    "details", ["", "Parameter 'image.link' is not a valid URL", "Invalid media id due to expiry"]
)
def test_131009_about_anything_else_is_the_rows_payload_retryable_after_a_fix(details):
    rule = classify(131009, details)
    assert (rule.action, rule.retryable, rule.scope) == (Action.RECIPIENT, True, Scope.REQUEST)


def test_unknown_code_pauses_the_campaign_unless_meta_says_server_error():
    assert classify(987654).action is Action.FIX
    assert classify(987654).retryable is True
    assert classify(987654, http_status=400).action is Action.FIX
    assert classify(987654, http_status=503).action is Action.RETRY
    assert classify(None).action is Action.FIX


@pytest.mark.parametrize(
    ("status", "action"),
    [(502, Action.RETRY), (500, Action.RETRY), (429, Action.RETRY), (401, Action.STOP), (404, F)],
)
def test_http_status_decides_only_when_there_is_no_code(status, action):
    assert classify(None, http_status=status).action is action


# --- WhatsAppError.from_response -----------------------------------------------------------------

META_ERROR_BODY = {
    "error": {
        "message": "(#131009) Parameter value is not valid",
        "type": "OAuthException",
        "code": 131009,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Parameter 'to' is not a valid phone number",
        },
        "error_subcode": 2494010,
        "fbtrace_id": "AbCdEfGhIjKlMnOpQrSt",
    }
}


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "dict"])
def test_from_response_reads_metas_error_body(as_bytes):
    body = json.dumps(META_ERROR_BODY).encode() if as_bytes else META_ERROR_BODY

    error = WhatsAppError.from_response(400, body)

    assert error.code == 131009
    assert error.error_subcode == 2494010
    assert error.message == "(#131009) Parameter value is not valid"
    assert error.details == "Parameter 'to' is not a valid phone number"
    assert error.fbtrace_id == "AbCdEfGhIjKlMnOpQrSt"
    assert error.http_status == 400
    assert error.action is Action.RECIPIENT
    assert error.maybe_delivered is False
    assert str(error) == (
        "(#131009) Parameter value is not valid: Parameter 'to' is not a valid phone number"
    )


def test_from_response_on_an_html_502_page_is_a_retry_with_the_status():
    html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body>"

    error = WhatsAppError.from_response(502, html)

    assert error.code is None
    assert error.http_status == 502
    assert error.action is Action.RETRY
    assert "502 Bad Gateway" in str(error)
    assert "<" not in str(error)


@pytest.mark.parametrize("body", [b"", None, b"null", b"[1, 2]", b'{"error": "text"}', b"\xff\xfe"])
def test_from_response_tolerates_empty_and_odd_bodies(body):
    error = WhatsAppError.from_response(500, body)
    assert error.action is Action.RETRY
    assert error.code is None
    assert "HTTP 500" in str(error)


def test_from_response_with_a_body_lacking_the_code_falls_back_to_the_status():
    error = WhatsAppError.from_response(400, {"error": {"message": "Bad things"}})
    assert error.action is Action.FIX
    assert str(error) == "Bad things"


def test_async_webhook_error_object_is_parsed_the_same_way():
    error = WhatsAppError.from_error_object(
        {
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
            "message": "This message was not delivered to maintain healthy ecosystem engagement.",
            "error_data": {"details": "In order to maintain a healthy ecosystem engagement…"},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes",
        }
    )
    assert error.action is Action.DEFER
    assert error.http_status is None
    assert error.title.startswith("This message was not delivered")


def test_string_codes_are_understood():
    error = WhatsAppError.from_response(429, {"error": {"code": "130429", "message": "Rate"}})
    assert error.code == 130429
    assert error.rule.slows_rate


def test_transport_error_says_whether_the_request_may_have_gone_through():
    maybe = WhatsAppTransportError("ReadTimeout talking to the Graph API", maybe_delivered=True)
    never = WhatsAppTransportError("ConnectTimeout talking to the Graph API", maybe_delivered=False)

    assert isinstance(maybe, WhatsAppError)
    assert maybe.action is Action.RETRY
    assert maybe.maybe_delivered is True
    assert never.maybe_delivered is False
    assert "may have been delivered" in str(maybe)
    assert "was not sent" in str(never)
