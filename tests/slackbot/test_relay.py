"""Inbound SMS relayed to Slack threads, receipts editing posts, and Slack's error responses."""

import logging
from datetime import datetime, timedelta, timezone

from core.store import Store
from tests.slackbot.fake_slack import wait_for

THEM = "+61491570156"
OURS = "+61481070001"


async def push_inbound(harness, http_session, message_id, body, *, sender=THEM, to=OURS, when=None, **extra):
    form = {"message_id": message_id, "from": sender, "to": to, "body": body, **extra}
    if when is not None:
        form["timestamp"] = str(int(when.timestamp()))
    async with http_session.post(harness.webhook_url("inbound"), data=form) as response:
        assert response.status == 200, await response.text()


async def relayed(harness, count, channel="C0FAKE001"):
    await wait_for(lambda: len(harness.slack.posts(channel)) >= count)
    await harness.bot.idle()
    return harness.slack.posts(channel)


async def test_inbound_relayed_once(start_bot, http_session):
    harness = await start_bot()

    await push_inbound(harness, http_session, "IN-0001", "ok")
    await push_inbound(harness, http_session, "IN-0001", "ok")
    await push_inbound(harness, http_session, "IN-0002", "ok")
    posts = await relayed(harness, 2)

    assert len(posts) == 2
    assert all("ok" in post.text for post in posts)
    [second] = await harness.store.messages(direction="in", limit=1)
    assert second.relay_status == "relayed"


async def test_replies_share_one_thread(start_bot, http_session):
    harness = await start_bot()

    await push_inbound(harness, http_session, "IN-0001", "first")
    await push_inbound(harness, http_session, "IN-0002", "second")
    await push_inbound(harness, http_session, "IN-0003", "other person", sender="+61491570157")
    first, second, other = await relayed(harness, 3)

    assert first.thread_ts is None
    assert second.thread_ts == first.ts
    assert other.thread_ts is None
    [conversation] = [c for c in await harness.store.list_conversations() if c.their_number == THEM]
    thread = await harness.store.slack_thread(conversation.id)
    assert (thread.channel, thread.thread_ts) == ("C0FAKE001", first.ts)


async def test_new_thread_after_quiet_days(start_bot, http_session):
    harness = await start_bot(thread_quiet_days=2)
    now = datetime.now(timezone.utc)

    await push_inbound(harness, http_session, "IN-0001", "old", when=now - timedelta(days=3))
    await relayed(harness, 1)
    await push_inbound(harness, http_session, "IN-0002", "new", when=now)
    old, new = await relayed(harness, 2)

    assert new.thread_ts is None
    assert new.ts != old.ts


async def test_relay_uses_channel_map(start_bot, http_session):
    harness = await start_bot(channel_map={OURS: "C0SALES"})

    await push_inbound(harness, http_session, "IN-0001", "hi sales")
    [post] = await relayed(harness, 1, channel="C0SALES")

    assert "hi sales" in post.text
    assert harness.slack.posts("C0FAKE001") == []


async def test_inbound_text_escaped(start_bot, http_session):
    harness = await start_bot()
    body = "if a < b && c > d <!channel> <@U0FAKE001> it's"

    await push_inbound(harness, http_session, "IN-0001", body)
    [post] = await relayed(harness, 1)

    escaped = "if a &lt; b &amp;&amp; c &gt; d &lt;!channel&gt; &lt;@U0FAKE001&gt; it's"
    section_text = post.blocks[0]["text"]["text"]
    assert escaped in section_text
    assert escaped in post.text
    assert "<!channel>" not in section_text
    assert "&#39;" not in section_text


async def test_opt_out_tagged_and_hinted(start_bot, http_session):
    harness = await start_bot()

    await push_inbound(harness, http_session, "IN-0001", "STOP")
    await push_inbound(harness, http_session, "IN-0002", "We have got to STOP this bill", sender="+61491570157")
    stop_post, hint_post = await relayed(harness, 2)

    assert "opted out" in str(stop_post.blocks)
    assert "possible opt-out?" in str(hint_post.blocks)
    assert "opted out" not in str(hint_post.blocks)


async def test_reply_shows_original_message(start_bot, http_session):
    harness = await start_bot()
    outcome = await harness.service.send(to=[THEM], body="Your table is ready")
    [sent] = outcome.recipients

    await push_inbound(harness, http_session, "IN-0001", "thanks", original_message_id=sent.message_id)
    [post] = await relayed(harness, 1)

    assert "Your table is ready" in str(post.blocks)


async def test_not_in_public_channel_joins_and_posts_once(start_bot, http_session, fake_slack):
    harness = await start_bot()
    fake_slack.fail_in_channel("chat.postMessage", "C0FAKE001", "not_in_channel")

    await push_inbound(harness, http_session, "IN-0001", "hello")
    [post] = await relayed(harness, 1)

    assert "hello" in post.text
    assert len(fake_slack.calls_to("conversations.join")) == 1
    assert "C0FAKE001" in fake_slack.joined
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_private_channel_failure_kept_and_warned_once(start_bot, http_session, fake_slack, caplog):
    harness = await start_bot(channel_map={OURS: "G0PRIVATE"})
    fake_slack.fail_in_channel("chat.postMessage", "G0PRIVATE", "not_in_channel", times=None)
    caplog.set_level(logging.WARNING, logger="slackbot")

    await push_inbound(harness, http_session, "IN-0001", "one")
    await push_inbound(harness, http_session, "IN-0002", "two")
    await wait_for(lambda: len(fake_slack.calls_to("conversations.join")) >= 2)
    await harness.bot.idle()

    messages = await harness.store.messages(direction="in")
    assert [m.relay_status for m in messages] == ["failed", "failed"]
    failures = await harness.store.list_relay_failures()
    assert all("cannot join" in reason for _, reason in failures)
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 2
    warnings = [p for p in fake_slack.posts("C0FAKE001") if "cannot post inbound SMS" in p.text]
    assert len(warnings) == 1
    assert "<#G0PRIVATE>" in warnings[0].text
    assert len(await harness.store.unrelayed_inbound()) == 2


async def test_rate_limited_post_retried_after_retry_after(start_bot, http_session, fake_slack):
    harness = await start_bot()
    fake_slack.rate_limit("chat.postMessage", retry_after=2)

    await push_inbound(harness, http_session, "IN-0001", "hello")
    [post] = await relayed(harness, 1)

    attempts = fake_slack.calls_to("chat.postMessage")
    assert [call.ok for call in attempts] == [False, True]
    assert attempts[0].error == "ratelimited"
    assert "hello" in post.text


async def test_burst_relayed_in_order(start_bot, http_session, fake_slack):
    harness = await start_bot()
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    bodies = [f"message {n:02d}" for n in range(30)]

    for n, body in enumerate(bodies):
        await push_inbound(harness, http_session, f"IN-{n:04d}", body, sender=f"+614915701{n:02d}")
    posts = await relayed(harness, 30)

    assert [post.text.split(": ", 1)[1] for post in posts] == bodies


async def test_receipt_updates_the_send_post(start_bot, http_session):
    harness = await start_bot()
    await harness.requester.command(f"{THEM} hi")
    [post] = await relayed(harness, 1)
    [message] = await harness.store.messages(direction="out")

    form = {"message_id": message.message_id, "status_code": "201", "status_text": "Delivered"}
    async with http_session.post(harness.webhook_url("receipts"), data=form) as response:
        assert response.status == 200
    await wait_for(lambda: harness.slack.messages[("C0FAKE001", post.ts)].updates == 1)

    updated = harness.slack.messages[("C0FAKE001", post.ts)]
    assert "delivered" in str(updated.blocks)
    assert [c.params["ts"] for c in harness.slack.calls_to("chat.update")] == [post.ts]


async def test_webhook_does_not_wait_for_slow_slack(start_bot, http_session, fake_slack):
    harness = await start_bot()
    fake_slack.latency["chat.postMessage"] = 4

    await push_inbound(harness, http_session, "IN-0001", "ok")

    # The push is answered while the Slack post is still in flight, so ClickSend never retries it.
    assert fake_slack.calls_to("chat.postMessage") == []
    [post] = await relayed(harness, 1)
    assert "ok" in post.text


async def test_lasting_rate_limit_waited_out(start_bot, http_session, fake_slack):
    harness = await start_bot()
    # More 429s in a row than the Web API client retries by itself.
    fake_slack.rate_limit("chat.postMessage", retry_after=0, times=5)

    await push_inbound(harness, http_session, "IN-0001", "hello")
    [post] = await relayed(harness, 1)

    assert [call.ok for call in fake_slack.calls_to("chat.postMessage")] == [False] * 5 + [True]
    assert "hello" in post.text


async def test_unmapped_number_warned_once(start_bot, http_session, fake_slack, caplog):
    mapped = "+61481070002"
    harness = await start_bot(default_channel=None, channel_map={mapped: "C0SALES"})
    caplog.set_level(logging.WARNING, logger="slackbot")

    await push_inbound(harness, http_session, "IN-0001", "one")
    await push_inbound(harness, http_session, "IN-0002", "two")
    await push_inbound(harness, http_session, "IN-0003", "three", to=mapped)
    [post] = await relayed(harness, 1, channel="C0SALES")

    assert "three" in post.text
    assert len(fake_slack.posts()) == 1
    assert caplog.text.count("are not relayed to Slack") == 1
    assert THEM not in caplog.text


async def test_failed_relay_posted_again_on_retry(start_bot, http_session, fake_slack):
    harness = await start_bot(channel_map={OURS: "G0PRIVATE"})
    fake_slack.fail_in_channel("chat.postMessage", "G0PRIVATE", "not_in_channel")
    await push_inbound(harness, http_session, "IN-0001", "one")
    await wait_for(lambda: fake_slack.calls_to("conversations.join"))
    await harness.bot.idle()
    [message] = await harness.store.messages(direction="in")

    # The terminal inbox asks for the relay again after someone invited the bot.
    async with Store.open(harness.settings.cache_path) as other_process:
        await other_process.set_relay_status(message.row_id, "retry")
    [post] = await relayed(harness, 1, channel="G0PRIVATE")

    assert "one" in post.text
    [message] = await harness.store.messages(direction="in")
    assert message.relay_status == "relayed"
