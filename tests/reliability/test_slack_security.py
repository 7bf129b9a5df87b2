"""Slack request security: bad signatures are rejected, and only allowed users send or cancel.

Every kind of request the bot serves (slash command, button click, modal
submission, event) is sent forged, stale, from the future, altered after
signing, with another request's signature, replayed, and without signature
headers. Each must get 401 and change nothing: no SMS, no Slack call, no row in
the cache. Then users outside the allow-list try every way to send or cancel.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.reliability.helpers import wait_until
from tests.slackbot.fake_slack import SIGNING_SECRET, TEAM_ID, sign

BOSS = "U0BOSS"  # on the allow-list
ALICE = "U0ALICE"  # not on it
THEM = "+61491570156"
STALE_SECONDS = 6 * 60  # Slack's replay window is five minutes


def cache_rows(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("messages", "outbox", "slack_events", "slack_posts")
        }
    finally:
        connection.close()


# --- requests as Slack sends them -------------------------------------------------------


def command_request(requester, text: str = f"{THEM} Running late", *, user_id: str = BOSS) -> tuple[bytes, str]:
    return requester.command_body(text, user_id=user_id), "application/x-www-form-urlencoded"


def click_request(requester, *, user_id: str = BOSS, action_id: str = "sms_confirm_send", value: str = "token") -> tuple[bytes, str]:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "channel": {"id": "C0FAKE001", "name": "sms"},
        "container": {"type": "message", "channel_id": "C0FAKE001", "message_ts": "1.000001"},
        "trigger_id": "trigger.click",
        "response_url": requester.slack.response_url("click"),
        "actions": [{"type": "button", "action_id": action_id, "block_id": "confirm", "value": value, "action_ts": "1.0"}],
    }
    return ("payload=" + urllib.parse.quote_plus(json.dumps(payload))).encode(), "application/x-www-form-urlencoded"


def compose_submission(requester, *, user_id: str = BOSS, recipients: str = THEM, body: str = "From the form") -> tuple[bytes, str]:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "trigger_id": "trigger.view",
        "view": {
            "id": "V0FAKE",
            "type": "modal",
            "callback_id": "sms_compose",
            "private_metadata": "C0FAKE001",
            "state": {
                "values": {
                    "recipients": {"value": {"type": "plain_text_input", "value": recipients}},
                    "body": {"sms_compose_body": {"type": "plain_text_input", "value": body}},
                    "schedule": {"value": {"type": "datetimepicker", "selected_date_time": None}},
                }
            },
        },
    }
    return ("payload=" + urllib.parse.quote_plus(json.dumps(payload))).encode(), "application/x-www-form-urlencoded"


def event_request(*, user_id: str = BOSS) -> tuple[bytes, str]:
    envelope = {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "type": "event_callback",
        "event_id": "Ev0SECURITY",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "C0FAKE001",
            "user": user_id,
            "text": "reply text",
            "ts": f"{time.time():.6f}",
            "thread_ts": "1.000001",
        },
    }
    return json.dumps(envelope).encode(), "application/json"


REQUEST_KINDS: dict[str, Callable[..., tuple[bytes, str]]] = {
    "command-send": lambda requester: command_request(requester),
    "command-cancel-all": lambda requester: command_request(requester, "cancel all"),
    "confirm-click": lambda requester: click_request(requester),
    "compose-submit": lambda requester: compose_submission(requester),
    "thread-event": lambda requester: event_request(),
}


def now() -> int:
    return int(time.time())


def forged(body: bytes) -> dict[str, str]:
    stamp = str(now())
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign("not-the-signing-secret", stamp, body)}


def stale(body: bytes) -> dict[str, str]:
    stamp = str(now() - STALE_SECONDS)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}


def from_the_future(body: bytes) -> dict[str, str]:
    stamp = str(now() + STALE_SECONDS)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}


def old_signature_new_timestamp(body: bytes) -> dict[str, str]:
    # A captured signature from six minutes ago, sent with a fresh timestamp header.
    return {"X-Slack-Request-Timestamp": str(now()), "X-Slack-Signature": sign(SIGNING_SECRET, str(now() - STALE_SECONDS), body)}


def signature_of_other_body(body: bytes) -> dict[str, str]:
    stamp = str(now())
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, b"command=%2Fsms&text=help")}


def altered_after_signing(body: bytes) -> dict[str, str]:
    # Signed over a body that differs in one byte from the one sent.
    stamp = str(now())
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body[:-1] + b"x")}


def missing_signature(body: bytes) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(now())}


def missing_timestamp(body: bytes) -> dict[str, str]:
    return {"X-Slack-Signature": sign(SIGNING_SECRET, str(now()), body)}


def malformed_signature(body: bytes) -> dict[str, str]:
    stamp = str(now())
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v1=" + sign(SIGNING_SECRET, stamp, body)[3:]}


def non_numeric_timestamp(body: bytes) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": sign(SIGNING_SECRET, "yesterday", body)}


TAMPERING = {
    "forged": forged,
    "stale": stale,
    "future": from_the_future,
    "old-signature-new-timestamp": old_signature_new_timestamp,
    "signature-of-other-body": signature_of_other_body,
    "altered-after-signing": altered_after_signing,
    "missing-signature": missing_signature,
    "missing-timestamp": missing_timestamp,
    "malformed-signature": malformed_signature,
    "non-numeric-timestamp": non_numeric_timestamp,
}


async def post_raw(harness, http_session, body: bytes, content_type: str, headers: dict[str, str]) -> int:
    all_headers = {"Content-Type": content_type, **headers}
    async with http_session.post(harness.requester.url, data=body, headers=all_headers) as response:
        return response.status


@pytest.mark.parametrize("tamper", list(TAMPERING))
@pytest.mark.parametrize("kind", list(REQUEST_KINDS))
async def test_bad_signature_rejected(start_bot, http_session, kind: str, tamper: str) -> None:
    harness = await start_bot(confirm_recipients_above=0)
    body, content_type = REQUEST_KINDS[kind](harness.requester)
    calls_before = len(harness.slack.calls)
    rows_before = cache_rows(harness.settings.cache_path)

    status = await post_raw(harness, http_session, body, content_type, TAMPERING[tamper](body))
    await harness.bot.idle()

    assert status == 401
    assert harness.sandbox.state.messages == {}
    assert harness.slack.calls[calls_before:] == []
    assert harness.slack.responses == []
    assert cache_rows(harness.settings.cache_path) == rows_before


async def test_replayed_command_sends_once(start_bot, http_session) -> None:
    """The same signed request sent twice inside the five-minute window is a replay."""
    harness = await start_bot()
    body, content_type = command_request(harness.requester)
    stamp = str(now())
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}

    first = await post_raw(harness, http_session, body, content_type, headers)
    await wait_until(lambda: harness.sandbox.state.messages, what="the first send")
    replay = await post_raw(harness, http_session, body, content_type, headers)
    await harness.bot.idle()

    assert first == 200
    assert replay == 401
    assert len(harness.sandbox.state.messages) == 1


async def test_replayed_confirm_click_sends_once(start_bot, http_session) -> None:
    harness = await start_bot(confirm_recipients_above=0)
    await harness.requester.command(f"{THEM} Please confirm", user_id=BOSS)
    await wait_until(lambda: harness.slack.responses, what="the confirmation prompt")
    [actions] = [block for block in harness.slack.responses[0]["blocks"] if block["type"] == "actions"]
    token = actions["elements"][0]["value"]
    body, content_type = click_request(harness.requester, value=token)
    stamp = str(now())
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}

    first = await post_raw(harness, http_session, body, content_type, headers)
    replay = await post_raw(harness, http_session, body, content_type, headers)
    await wait_until(lambda: harness.sandbox.state.messages, what="the confirmed send")
    await harness.bot.idle()

    assert first == 200
    assert replay in (200, 401)
    assert len(harness.sandbox.state.messages) == 1


# --- the allow-list ---------------------------------------------------------------------


async def schedule_message(harness) -> str:
    later = datetime.now(UTC) + timedelta(hours=2)
    outcome = await harness.service.send(to=[THEM], body="Scheduled reminder", schedule=later)
    [recipient] = outcome.recipients
    assert recipient.status == "scheduled"
    return recipient.message_id


def scheduled_at_sandbox(harness) -> list[str]:
    return [message.message_id for message in harness.sandbox.state.messages.values() if message.schedule and message.stage == "scheduled"]


async def test_outsider_command_send_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS])

    reply = await harness.requester.command(f"{THEM} hi", user_id=ALICE)
    await harness.bot.idle()

    assert reply.status == 200
    assert "not allowed" in reply.text
    assert harness.sandbox.state.messages == {}
    assert cache_rows(harness.settings.cache_path)["outbox"] == 0


async def test_outsider_template_send_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS])
    await harness.service.create_template("late", "Running {minutes} minutes late")

    reply = await harness.requester.command(f"template use late {THEM} minutes=5", user_id=ALICE)
    await harness.bot.idle()

    assert "not allowed" in reply.text
    assert harness.sandbox.state.messages == {}


async def test_outsider_compose_submit_rejected(start_bot, http_session) -> None:
    harness = await start_bot(allowed_users=[BOSS])
    body, content_type = compose_submission(harness.requester, user_id=ALICE)
    stamp = str(now())

    async with http_session.post(
        harness.requester.url,
        data=body,
        headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)},
    ) as response:
        status = response.status
        answer = await response.json(content_type=None)
    await harness.bot.idle()

    assert status == 200
    assert answer["response_action"] == "errors"
    assert "not allowed" in answer["errors"]["recipients"]
    assert harness.sandbox.state.messages == {}


async def test_outsider_confirm_click_rejected(start_bot) -> None:
    """An allowed user's pending send cannot be confirmed by someone outside the allow-list."""
    harness = await start_bot(allowed_users=[BOSS], confirm_recipients_above=0)
    await harness.requester.command(f"{THEM} Please confirm", user_id=BOSS)
    await wait_until(lambda: harness.slack.responses, what="the confirmation prompt")
    [actions] = [block for block in harness.slack.responses[0]["blocks"] if block["type"] == "actions"]
    token = actions["elements"][0]["value"]

    reply = await harness.requester.click(action_id="sms_confirm_send", value=token, user_id=ALICE)
    await harness.bot.idle()

    assert reply.status == 200
    assert harness.sandbox.state.messages == {}
    assert any("not allowed" in response.get("text", "") for response in harness.slack.responses[1:])


async def test_outsider_cancel_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS])
    message_id = await schedule_message(harness)

    reply = await harness.requester.command(f"cancel {message_id}", user_id=ALICE)
    await harness.bot.idle()

    assert "not allowed" in reply.text
    assert scheduled_at_sandbox(harness) == [message_id]


async def test_outsider_cancel_all_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS])
    message_id = await schedule_message(harness)

    reply = await harness.requester.command("cancel all", user_id=ALICE)
    await harness.bot.idle()

    assert "not allowed" in reply.text
    assert scheduled_at_sandbox(harness) == [message_id]


async def test_outsider_home_cancel_button_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS])
    message_id = await schedule_message(harness)

    reply = await harness.requester.click(action_id="sms_cancel_scheduled", value=message_id, user_id=ALICE)
    await harness.bot.idle()

    assert reply.status == 200
    assert scheduled_at_sandbox(harness) == [message_id]


async def test_outsider_in_wrong_channel_rejected(start_bot) -> None:
    harness = await start_bot(allowed_users=[BOSS], allowed_channels=["C0OPS"])

    reply = await harness.requester.command(f"{THEM} hi", user_id=BOSS, channel_id="C0FAKE001")
    await harness.bot.idle()

    assert "not allowed" in reply.text or "cannot" in reply.text
    assert harness.sandbox.state.messages == {}


async def test_outsider_not_in_allowed_group_rejected(start_bot, fake_slack) -> None:
    harness = await start_bot(allowed_groups=["S0TEAM"])
    fake_slack.usergroups = {"S0TEAM": [BOSS]}

    refused = await harness.requester.command(f"{THEM} hi", user_id=ALICE)
    await harness.bot.idle()
    allowed = await harness.requester.command(f"{THEM} hi from the team", user_id=BOSS)
    await wait_until(lambda: harness.sandbox.state.messages, what="the allowed send")
    await harness.bot.idle()

    assert "not allowed" in refused.text
    assert allowed.status == 200
    assert [message.body for message in harness.sandbox.state.messages.values()] == ["hi from the team"]


async def test_allowed_user_sends_and_cancels(start_bot) -> None:
    """The allow-list lets its own users through, so the rejections above come from the allow-list, not a broken bot."""
    harness = await start_bot(allowed_users=[BOSS])
    message_id = await schedule_message(harness)

    await harness.requester.command(f"{THEM} hi", user_id=BOSS)
    await harness.requester.command(f"cancel {message_id}", user_id=BOSS)
    await wait_until(lambda: len(harness.sandbox.state.messages) == 2, what="the allowed send")
    await wait_until(lambda: scheduled_at_sandbox(harness) == [], what="the allowed cancel")
    await harness.bot.idle()
