"""Payload shape checks that keep malformed signed bodies away from Bolt."""

import json
import urllib.parse

import pytest

from slackbot.payloads import payload_problem

PLAUSIBLE = [
    {"command": "/sms", "text": "help", "user_id": "U1", "channel_id": "C1"},
    {"type": "event_callback", "event": {"type": "message", "subtype": None, "ts": "1.2"}, "event_id": "Ev1"},
    {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}], "enterprise": None},
    {"type": "view_submission", "view": {"callback_id": "sms_compose", "type": "modal"}, "user": {"id": "U1"}},
    {"type": "url_verification", "challenge": "x"},
]

MALFORMED = [
    ([], "not an object"),
    ({"type": "event_callback", "event": []}, "'event' is not an object"),
    ({"type": "event_callback", "event": {}}, "without 'event.type'"),
    ({"type": "event_callback", "event": {"type": "message", "user": 5}}, "'event.user' is not text"),
    ({"type": "event_callback", "event": {"type": "message", "message": "x"}}, "'event.message' is not an object"),
    ({"type": "block_actions", "actions": []}, "without actions"),
    ({"type": "block_actions", "actions": [{"value": "x"}]}, "without a text 'action_id'"),
    ({"type": "block_actions", "actions": ["x"]}, "not a list of objects"),
    ({"type": "view_submission", "view": None}, "'view' is not an object"),
    ({"type": "view_submission", "view": {"type": "modal"}}, "no text 'callback_id'"),
    ({"command": "/sms", "text": ["a"]}, "'text' is not text"),
    ({"type": 3}, "'type' is not text"),
    ({"type": "block_actions", "user": None, "actions": [{"action_id": "a"}]}, "'user' is not an object"),
]


@pytest.mark.parametrize("body", PLAUSIBLE)
def test_payload_problem_accepts_slack_shapes(body):
    assert payload_problem(body) is None


@pytest.mark.parametrize(("body", "problem"), MALFORMED)
def test_payload_problem_names_the_fault(body, problem):
    assert problem in payload_problem(body)


async def test_malformed_signed_body_gets_400(start_bot, caplog):
    harness = await start_bot()
    payload = {"type": "block_actions", "user": {"id": "U0ALICE"}, "actions": []}
    body = ("payload=" + urllib.parse.quote_plus(json.dumps(payload))).encode()

    reply = await harness.requester.post(body, content_type="application/x-www-form-urlencoded")

    assert reply.status == 400
    assert "without actions" in caplog.text


async def test_invalid_json_signed_body_gets_400(start_bot):
    harness = await start_bot()

    reply = await harness.requester.post(b'{"type": "event_callback", "event": ', content_type="application/json")

    assert reply.status == 400
