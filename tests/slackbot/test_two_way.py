"""Replies typed in a relay thread go out as SMS, once."""

import time

from tests.slackbot.fake_slack import BOT_ID, BOT_USER_ID, wait_for

THEM = "+61491570156"
OURS = "+61481070001"


async def start_thread(harness, http_session):
    form = {"message_id": "IN-0001", "from": THEM, "to": OURS, "body": "Are you open today?"}
    async with http_session.post(harness.webhook_url("inbound"), data=form) as response:
        assert response.status == 200
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()
    return harness.slack.posts("C0FAKE001")[0].ts


def thread_reply(thread_ts, text="Yes, until 5pm", **extra):
    event = {
        "type": "message",
        "channel": "C0FAKE001",
        "channel_type": "channel",
        "user": "U0ALICE",
        "text": text,
        "ts": f"{time.time():.6f}",
        "thread_ts": thread_ts,
    }
    event.update(extra)
    return event


async def test_thread_reply_sent_once_despite_retry(start_bot, http_session):
    harness = await start_bot()
    thread_ts = await start_thread(harness, http_session)
    event = thread_reply(thread_ts)

    first = await harness.requester.event(event, event_id="Ev0FAKE1")
    retry = await harness.requester.event(event, event_id="Ev0FAKE1", retry_num=1)
    await wait_for(lambda: harness.sandbox.state.messages)
    await harness.bot.idle()

    assert first.status == 200
    assert retry.status == 200
    [sms] = harness.sandbox.state.messages.values()
    assert sms.to == THEM
    assert sms.body == "Yes, until 5pm"
    assert ("C0FAKE001", event["ts"], "outbox_tray") in harness.slack.reactions


async def test_thread_reply_records_origin(start_bot, http_session):
    harness = await start_bot()
    thread_ts = await start_thread(harness, http_session)
    event = thread_reply(thread_ts, text="a &lt; b")

    await harness.requester.event(event, event_id="Ev0FAKE2")
    await wait_for(lambda: harness.sandbox.state.messages)
    await harness.bot.idle()

    [sms] = harness.sandbox.state.messages.values()
    assert sms.body == "a < b"
    [message] = await harness.store.messages(direction="out")
    assert message.origin["user"] == "U0ALICE"
    assert message.origin["kind"] == "thread_reply"


async def test_bot_and_edited_messages_not_sent(start_bot, http_session):
    harness = await start_bot()
    thread_ts = await start_thread(harness, http_session)

    await harness.requester.event(thread_reply(thread_ts, bot_id=BOT_ID, user=BOT_USER_ID), event_id="Ev0BOT")
    await harness.requester.event(thread_reply(thread_ts, bot_id="B0OTHER"), event_id="Ev0OTHERBOT")
    await harness.requester.event(thread_reply(thread_ts, subtype="message_changed"), event_id="Ev0EDIT")
    await harness.requester.event(thread_reply(None), event_id="Ev0TOPLEVEL")
    await harness.bot.idle()

    assert harness.sandbox.state.messages == {}


async def test_reply_in_unknown_thread_ignored(start_bot, http_session):
    harness = await start_bot()
    await start_thread(harness, http_session)

    await harness.requester.event(thread_reply("1.999999"), event_id="Ev0ELSEWHERE")
    await harness.bot.idle()

    assert harness.sandbox.state.messages == {}


async def test_two_way_off_sends_nothing(start_bot, http_session):
    harness = await start_bot(two_way=False)
    thread_ts = await start_thread(harness, http_session)

    await harness.requester.event(thread_reply(thread_ts), event_id="Ev0FAKE3")
    await harness.bot.idle()

    assert harness.sandbox.state.messages == {}


async def test_not_allowed_thread_reply_refused(start_bot, http_session):
    harness = await start_bot(allowed_users=["U0BOSS"])
    thread_ts = await start_thread(harness, http_session)

    await harness.requester.event(thread_reply(thread_ts), event_id="Ev0FAKE4")
    await wait_for(lambda: harness.slack.ephemerals())
    await harness.bot.idle()

    assert harness.sandbox.state.messages == {}
    assert "not allowed" in harness.slack.ephemerals()[0]["text"]


async def test_failed_thread_reply_marked(start_bot, http_session):
    harness = await start_bot()
    thread_ts = await start_thread(harness, http_session)
    await harness.sandbox.stop()
    event = thread_reply(thread_ts)

    await harness.requester.event(event, event_id="Ev0FAKE5")
    await wait_for(lambda: harness.slack.ephemerals())
    await harness.bot.idle()

    assert ("C0FAKE001", event["ts"], "x") in harness.slack.reactions
    assert "ClickSend unreachable" in harness.slack.ephemerals()[0]["text"]


async def test_thread_reply_unknown_outcome_marked(start_bot, http_session):
    harness = await start_bot()
    thread_ts = await start_thread(harness, http_session)
    harness.sandbox.state.faults["drop_after_send"] = 1
    event = thread_reply(thread_ts)

    await harness.requester.event(event, event_id="Ev0FAKE6")
    await wait_for(lambda: harness.slack.ephemerals())
    await harness.bot.idle()

    assert ("C0FAKE001", event["ts"], "hourglass_flowing_sand") in harness.slack.reactions
    assert "unknown whether the SMS was sent" in harness.slack.ephemerals()[0]["text"]
    [message] = await harness.store.messages(direction="out")
    assert message.status == "pending"
