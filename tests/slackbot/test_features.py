"""Templates, the compose form, the App Home tab, partial failures and manifest checks."""

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.slackbot.fake_slack import wait_for

MANIFEST = Path(__file__).resolve().parents[2] / "slackbot" / "manifest.yml"
NOT_ENABLED = "+4915123456789"  # Germany: not enabled on the sandbox's demo account


def sandbox_recipients(sandbox):
    return sorted(message.to for message in sandbox.state.messages.values())


async def test_partial_failure_shows_both(start_bot):
    harness = await start_bot()

    await harness.requester.command(f"+61491570156,{NOT_ENABLED} hi")
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    [post] = harness.slack.posts("C0FAKE001")
    assert "1 sent, 1 failed" in post.text
    assert "COUNTRY_NOT_ENABLED" in str(post.blocks)
    assert sandbox_recipients(harness.sandbox) == ["+61491570156"]


async def test_template_list_show_and_use(start_bot):
    harness = await start_bot()
    await harness.service.create_template("reminder", "Hi {name}, see you at {time}")

    await harness.requester.command("template list", response_key="list")
    await harness.requester.command("template show Reminder", response_key="show")
    await harness.requester.command('template use reminder +61491570156 name="Sam Lee" time=5pm', response_key="use")
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    by_key = {response["_key"]: response["text"] for response in harness.slack.responses}
    assert "`reminder`" in by_key["list"]
    assert "Hi {name}, see you at {time}" in by_key["show"]
    [sms] = harness.sandbox.state.messages.values()
    assert sms.body == "Hi Sam Lee, see you at 5pm"


async def test_template_use_missing_value_reported(start_bot):
    harness = await start_bot()
    await harness.service.create_template("reminder", "Hi {name}")

    await harness.requester.command("template use reminder +61491570156")
    await wait_for(lambda: harness.slack.responses)
    await harness.bot.idle()

    assert "name" in harness.slack.responses[0]["text"]
    assert harness.sandbox.state.messages == {}


def compose_submission(recipients, body, *, schedule=None, channel_id="C0FAKE001"):
    values = {
        "recipients": {"value": {"type": "plain_text_input", "value": recipients}},
        "body": {"sms_compose_body": {"type": "plain_text_input", "value": body}},
        "schedule": {"value": {"type": "datetimepicker", "selected_date_time": schedule}},
    }
    return {
        "type": "view_submission",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": "T0FAKE"},
        "trigger_id": "trigger.view",
        "view": {
            "id": "V000001",
            "type": "modal",
            "callback_id": "sms_compose",
            "private_metadata": channel_id,
            "hash": "h1",
            "state": {"values": values},
            "blocks": [],
        },
    }


async def test_compose_submission_sends(start_bot):
    harness = await start_bot()
    later = int((datetime.now(timezone.utc) + timedelta(hours=2)).timestamp())

    reply = await harness.requester.interaction(compose_submission("+61491570156", "From the form", schedule=later))
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    assert reply.status == 200
    [sms] = harness.sandbox.state.messages.values()
    assert sms.body == "From the form"
    [message] = await harness.store.messages(direction="out")
    assert message.status == "scheduled"
    assert int(message.schedule_at.timestamp()) == later


async def test_compose_submission_invalid_number(start_bot):
    harness = await start_bot()

    reply = await harness.requester.interaction(compose_submission("+6149", "hi"))

    assert reply.status == 200
    assert reply.json()["response_action"] == "errors"
    assert "+6149" in reply.json()["errors"]["recipients"]
    assert harness.sandbox.state.messages == {}


async def test_compose_typing_shows_parts_and_price(start_bot):
    harness = await start_bot()
    payload = compose_submission("+61491570156", "héllo ✓")
    payload["type"] = "block_actions"
    payload["actions"] = [{"type": "plain_text_input", "action_id": "sms_compose_body", "block_id": "body",
                           "value": "héllo ✓", "action_ts": f"{time.time():.6f}"}]

    reply = await harness.requester.interaction(payload)
    await wait_for(lambda: harness.slack.calls_to("views.update"))
    await harness.bot.idle()

    assert reply.status == 200
    [update] = harness.slack.calls_to("views.update")
    preview = update.params["view"]["blocks"][-1]["elements"][0]["text"]
    assert "1 part, UCS-2" in preview
    assert "price" in preview


async def test_home_tab_lists_and_cancels(start_bot, http_session):
    harness = await start_bot()
    outcome = await harness.service.send(
        to=["+61491570156"], body="later", schedule=datetime.now(timezone.utc) + timedelta(hours=1)
    )
    [scheduled] = outcome.recipients
    form = {"message_id": "IN-0001", "from": "+61491570157", "body": "unread reply"}
    async with http_session.post(harness.webhook_url("inbound"), data=form) as response:
        assert response.status == 200

    await harness.requester.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}, event_id="Ev0HOME")
    await wait_for(lambda: harness.slack.calls_to("views.publish"))
    await harness.bot.idle()
    home = str(harness.slack.calls_to("views.publish")[0].params["view"])

    assert "unread reply" in home
    assert scheduled.message_id in home
    assert "sms_cancel_scheduled" in home

    await harness.requester.click(action_id="sms_cancel_scheduled", value=scheduled.message_id)
    await wait_for(lambda: len(harness.slack.calls_to("views.publish")) == 2)
    await harness.bot.idle()

    [message] = await harness.store.messages(direction="out")
    assert message.status == "cancelled"
    assert scheduled.message_id not in str(harness.slack.calls_to("views.publish")[1].params["view"])


async def test_thread_reply_receipt_adds_reaction(start_bot, http_session):
    harness = await start_bot()
    form = {"message_id": "IN-0001", "from": "+61491570156", "body": "hello?"}
    async with http_session.post(harness.webhook_url("inbound"), data=form) as response:
        assert response.status == 200
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()
    root = harness.slack.posts("C0FAKE001")[0].ts
    reply_ts = f"{time.time():.6f}"
    event = {"type": "message", "channel": "C0FAKE001", "user": "U0ALICE", "text": "hi", "ts": reply_ts,
             "thread_ts": root}
    await harness.requester.event(event, event_id="Ev0REPLY")
    await wait_for(lambda: harness.sandbox.state.messages)
    await harness.bot.idle()
    [message] = await harness.store.messages(direction="out")

    receipt = {"message_id": message.message_id, "status_code": "201", "status_text": "Delivered"}
    async with http_session.post(harness.webhook_url("receipts"), data=receipt) as response:
        assert response.status == 200
    await wait_for(lambda: ("C0FAKE001", reply_ts, "white_check_mark") in harness.slack.reactions)

    assert harness.slack.calls_to("chat.update") == []


def test_manifest_declares_what_the_bot_uses():
    # No YAML parser is a dependency, so this reads the lines that matter as text.
    lines = {line.split("#")[0].strip() for line in MANIFEST.read_text(encoding="utf-8").splitlines()}

    assert "- command: /sms" in lines
    assert "should_escape: false" in lines
    for event in ("app_home_opened", "message.channels", "message.groups"):
        assert f"- {event}" in lines
    for scope in ("commands", "chat:write", "channels:join", "reactions:write", "usergroups:read"):
        assert f"- {scope}" in lines
    assert "home_tab_enabled: true" in lines
    assert "socket_mode_enabled: true" in lines
    assert "request_url: https://smsdesk.example.com/slack/events" in lines


async def test_compose_typing_burst_priced_once(start_bot):
    harness = await start_bot()
    harness.bot.compose.preview_delay = 2.0  # wide enough that the five requests below fall inside it
    for text in ("h", "he", "hel", "hell", "hello"):
        payload = compose_submission("+61491570156", text)
        payload["type"] = "block_actions"
        payload["actions"] = [{"type": "plain_text_input", "action_id": "sms_compose_body", "block_id": "body",
                               "value": text, "action_ts": f"{time.time():.6f}"}]
        await harness.requester.interaction(payload)
    await wait_for(lambda: harness.slack.calls_to("views.update"))
    await harness.bot.idle()

    [update] = harness.slack.calls_to("views.update")
    assert "5 characters" in update.params["view"]["blocks"][-1]["elements"][0]["text"]
