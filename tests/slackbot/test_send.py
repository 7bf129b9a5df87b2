"""Sending, pricing and cancelling from /sms against the sandbox."""

from core.store import SlackPost
from tests.slackbot.fake_slack import wait_for

SEND_LATENCY_SECONDS = 5


def sandbox_recipients(sandbox):
    return [message.to for message in sandbox.state.messages.values()]


async def test_ack_does_not_wait_for_slow_clicksend(start_bot):
    harness = await start_bot()
    harness.sandbox.state.faults["latency"] = {"/v3/sms/send": SEND_LATENCY_SECONDS}

    reply = await harness.requester.command("+61491570156 hi")

    # The acknowledgement is back while ClickSend is still holding the send request.
    assert reply.status == 200
    assert "Sending" in reply.text
    assert harness.sandbox.state.messages == {}
    assert harness.slack.posts() == []
    await wait_for(lambda: harness.slack.posts("C0FAKE001"), timeout=SEND_LATENCY_SECONDS + 10)
    assert sandbox_recipients(harness.sandbox) == ["+61491570156"]


async def test_send_posts_result_and_records_origin(start_bot):
    harness = await start_bot()

    await harness.requester.command("+61491570157 Running late", user_id="U0ALICE", channel_id="C0FAKE001")
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    assert sandbox_recipients(harness.sandbox) == ["+61491570157"]
    [post] = harness.slack.posts("C0FAKE001")
    assert "1 sent" in post.text
    [message] = await harness.store.messages(direction="out")
    assert message.origin["via"] == "slack"
    assert message.origin["user"] == "U0ALICE"
    assert message.origin["channel"] == "C0FAKE001"
    assert await harness.store.slack_post(message.row_id) == SlackPost(channel="C0FAKE001", ts=post.ts, kind="bot")


async def test_send_to_two_numbers_one_post(start_bot):
    harness = await start_bot()

    await harness.requester.command("+61491570156,+61491570157 hi")
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    assert sorted(sandbox_recipients(harness.sandbox)) == ["+61491570156", "+61491570157"]
    assert len(harness.slack.posts("C0FAKE001")) == 1
    assert "2 sent" in harness.slack.posts("C0FAKE001")[0].text


async def test_invalid_number_reported_to_user(start_bot):
    harness = await start_bot()

    reply = await harness.requester.command("+6149 hi")
    await harness.bot.idle()

    assert reply.status == 200
    assert harness.sandbox.state.messages == {}
    [response] = harness.slack.responses
    assert "+6149" in response["text"]
    assert response["response_type"] == "ephemeral"


async def test_clicksend_down_reported_plainly(start_bot, caplog):
    harness = await start_bot()
    await harness.sandbox.stop()

    reply = await harness.requester.command("+61491570156 hi")
    await wait_for(lambda: harness.slack.responses)
    await harness.bot.idle()

    assert reply.status == 200
    assert "ClickSend unreachable, message not sent" in harness.slack.responses[0]["text"]
    assert "demo-key" not in caplog.text


async def test_price_shows_parts_and_total(start_bot):
    harness = await start_bot()

    reply = await harness.requester.command("price +61491570156,+61491570157 héllo ✓")
    await wait_for(lambda: harness.slack.responses)

    assert reply.status == 200
    text = harness.slack.responses[0]["text"]
    assert "UCS-2" in text
    assert "1 part" in text
    assert "Total" in text
    assert harness.sandbox.state.messages == {}


async def test_cost_above_limit_needs_confirmation(start_bot):
    harness = await start_bot(confirm_above="0.01")

    await harness.requester.command("+61491570156 hi")
    await wait_for(lambda: harness.slack.responses)
    prompt = harness.slack.responses[0]
    [actions] = [block for block in prompt["blocks"] if block["type"] == "actions"]
    token = actions["elements"][0]["value"]

    assert harness.sandbox.state.messages == {}
    assert "Confirm" in prompt["text"]

    first = await harness.requester.click(action_id="sms_confirm_send", value=token)
    second = await harness.requester.click(action_id="sms_confirm_send", value=token)
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    assert first.status == 200
    assert second.status == 200
    assert sandbox_recipients(harness.sandbox) == ["+61491570156"]


async def test_many_recipients_need_confirmation(start_bot):
    harness = await start_bot(confirm_recipients_above=1)

    await harness.requester.command("+61491570156,+61491570157 hi")
    await wait_for(lambda: harness.slack.responses)
    await harness.bot.idle()

    assert "2 recipients" in harness.slack.responses[0]["blocks"][0]["text"]["text"]
    assert harness.sandbox.state.messages == {}


async def test_opted_out_number_needs_confirmation(start_bot):
    harness = await start_bot()
    await harness.store.add_opt_out("+61491570156", keyword="STOP")

    await harness.requester.command("+61491570156 hello")
    await wait_for(lambda: harness.slack.responses)
    await harness.bot.idle()

    assert "opted out" in harness.slack.responses[0]["blocks"][0]["text"]["text"]
    assert harness.sandbox.state.messages == {}


async def test_discard_button_sends_nothing(start_bot):
    harness = await start_bot(confirm_recipients_above=0)

    await harness.requester.command("+61491570156 hi")
    await wait_for(lambda: harness.slack.responses)
    [actions] = [b for b in harness.slack.responses[0]["blocks"] if b["type"] == "actions"]
    token = actions["elements"][1]["value"]
    await harness.requester.click(action_id="sms_discard_send", value=token)
    await harness.requester.click(action_id="sms_confirm_send", value=token)
    await harness.bot.idle()

    assert harness.sandbox.state.messages == {}
    assert harness.slack.responses[-1]["text"] == "Not sent."


async def test_cancel_scheduled_message(start_bot):
    harness = await start_bot()
    outcome = await harness.service.send(
        to=["+61491570156"], body="later", schedule=_in_one_hour()
    )
    [message] = outcome.recipients

    reply = await harness.requester.command(f"cancel {message.message_id}")
    await wait_for(lambda: harness.slack.responses)

    assert reply.status == 200
    assert "Cancelled" in harness.slack.responses[0]["text"]


def _in_one_hour():
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(hours=1)



async def test_confirm_after_expiry_sends_nothing(start_bot):
    harness = await start_bot(confirm_recipients_above=0)

    reply = await harness.requester.click(action_id="sms_confirm_send", value="token-from-before-a-restart")
    await wait_for(lambda: harness.slack.responses)
    await harness.bot.idle()

    assert reply.status == 200
    assert "expired" in harness.slack.responses[0]["text"]
    assert harness.sandbox.state.messages == {}


async def test_every_command_acks_before_slow_clicksend(start_bot):
    harness = await start_bot()
    await harness.service.create_template("reminder", "Hi {name}")
    harness.sandbox.state.faults["latency"] = {"*": 10}
    commands = {
        "send": "send +61491570156 hi",
        "price": "price +61491570156 hi",
        "cancel": "cancel MSG-UNKNOWN",
        "cancel-all": "cancel all",
        "list": "template list",
        "show": "template show reminder",
        "use": "template use reminder +61491570157 name=Sam",
    }

    replies = {key: await harness.requester.command(text, response_key=key) for key, text in commands.items()}

    # Every acknowledgement is back while ClickSend still holds every request.
    assert {key: reply.status for key, reply in replies.items()} == {key: 200 for key in commands}
    assert harness.slack.responses == []
    assert harness.sandbox.state.messages == {}
    expected = {"price", "cancel", "cancel-all", "list", "show"}
    await wait_for(lambda: expected <= {r["_key"] for r in harness.slack.responses}, timeout=60)
    await wait_for(lambda: len(harness.slack.posts("C0FAKE001")) == 2, timeout=60)
    await harness.bot.idle()
    assert sorted(m.to for m in harness.sandbox.state.messages.values()) == ["+61491570156", "+61491570157"]


async def test_listener_error_reported_plainly(start_bot, caplog):
    harness = await start_bot(confirm_recipients_above=0)
    await harness.store.close()  # the cache goes away under a running bot

    reply = await harness.requester.click(action_id="sms_confirm_send", value="any-token")
    await wait_for(lambda: harness.slack.responses)

    assert reply.status == 500
    assert "Whoever runs smsdesk can find the cause in its log" in harness.slack.responses[0]["text"]
    assert "StoreClosedError" in caplog.text
