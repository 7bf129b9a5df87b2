"""Signed requests through the HTTP adapter: verification, acknowledgement, usage and access."""

import json
import logging
import time
import urllib.parse


from tests.slackbot.fake_slack import sign

STALE_SECONDS = 6 * 60


async def test_signed_help_returns_usage(start_bot):
    harness = await start_bot()

    reply = await harness.requester.command("help")

    assert reply.status == 200
    assert "/sms send NUMBER" in reply.text


async def test_stale_timestamp_rejected_and_logged(start_bot, caplog):
    harness = await start_bot()
    caplog.set_level(logging.WARNING, logger="slackbot.server")

    reply = await harness.requester.command("+61491570156 hi", timestamp=int(time.time()) - STALE_SECONDS)

    assert reply.status == 401
    assert "stale timestamp" in caplog.text
    assert harness.sandbox.state.messages == {}


async def test_reencoded_body_rejected_and_logged(start_bot, caplog):
    harness = await start_bot()
    caplog.set_level(logging.WARNING, logger="slackbot.server")
    requester = harness.requester
    signed = requester.command_body("+61491570156 a b", encode=urllib.parse.quote_plus)
    forwarded = requester.command_body("+61491570156 a b", encode=urllib.parse.quote)

    reply = await requester.post(forwarded, content_type="application/x-www-form-urlencoded", signed_body=signed)

    assert b"a+b" in signed
    assert b"a%20b" in forwarded
    assert reply.status == 401
    assert "signature mismatch" in caplog.text
    assert harness.sandbox.state.messages == {}


async def test_forged_signature_rejected(start_bot, caplog):
    harness = await start_bot()
    requester = harness.requester
    body = requester.command_body("+61491570156 hi")
    stamp = str(int(time.time()))

    reply = await requester.post(
        body,
        content_type="application/x-www-form-urlencoded",
        signature=sign("not-the-signing-secret", stamp, body),
        timestamp=int(stamp),
    )

    assert reply.status == 401
    assert harness.sandbox.state.messages == {}


async def test_rejection_log_has_no_secret_or_body(start_bot, caplog):
    harness = await start_bot()
    caplog.set_level(logging.DEBUG)

    await harness.requester.command("+61491570156 secret-body", timestamp=int(time.time()) - STALE_SECONDS)

    assert "test-signing-secret" not in caplog.text
    assert "secret-body" not in caplog.text


async def test_missing_signature_headers_rejected(start_bot, http_session):
    harness = await start_bot()

    async with http_session.post(harness.requester.url, data=b"command=%2Fsms&text=help") as response:
        assert response.status == 401


async def test_no_arguments_acks_and_opens_compose(start_bot):
    harness = await start_bot()

    reply = await harness.requester.command("")
    await harness.bot.idle()

    assert reply.status == 200
    assert "/sms help" in reply.text
    [view] = harness.slack.views
    assert view["callback_id"] == "sms_compose"


async def test_usage_error_acks_with_usage(start_bot):
    harness = await start_bot()

    reply = await harness.requester.command("Running late")

    assert reply.status == 200
    assert "Unknown command 'Running'" in reply.text
    assert "/sms send NUMBER" in reply.text


async def test_not_allowed_user_refused(start_bot):
    harness = await start_bot(allowed_users=["U0BOSS"])

    reply = await harness.requester.command("+61491570156 hi", user_id="U0ALICE")
    await harness.bot.idle()

    assert reply.status == 200
    assert "not allowed to send" in reply.text
    assert "allowed_users" in reply.text
    assert "U0ALICE" in reply.text
    assert harness.sandbox.state.messages == {}


async def test_not_allowed_channel_refused(start_bot):
    harness = await start_bot(allowed_channels=["C0OPS"])

    reply = await harness.requester.command("cancel all", channel_id="C0FAKE001")
    await harness.bot.idle()

    assert reply.status == 200
    assert "cannot be cancelled from this channel (C0FAKE001)" in reply.text
    assert "allowed_channels" in reply.text
    assert harness.slack.responses == []


async def test_not_allowed_user_may_still_price(start_bot):
    harness = await start_bot(allowed_users=["U0BOSS"])

    reply = await harness.requester.command("price +61491570156 hi", user_id="U0ALICE")
    await harness.bot.idle()

    assert reply.status == 200
    assert "not allowed" not in reply.text
    assert "Total" in harness.slack.responses[-1]["text"]


async def test_allowed_user_group_member_sends(start_bot, fake_slack):
    harness = await start_bot(allowed_users=["U0BOSS"], allowed_groups=["S0TEAM"])
    fake_slack.usergroups = {"S0TEAM": ["U0ALICE"]}

    reply = await harness.requester.command("+61491570156 hi", user_id="U0ALICE")
    await harness.bot.idle()

    assert reply.status == 200
    assert "not allowed" not in reply.text
    assert len(harness.sandbox.state.messages) == 1


async def test_url_verification_challenge_answered(start_bot):
    harness = await start_bot()
    body = json.dumps({"token": "legacy", "challenge": "challenge-123", "type": "url_verification"}).encode()

    reply = await harness.requester.post(body, content_type="application/json")

    assert reply.status == 200
    assert reply.json() == {"challenge": "challenge-123"}


async def test_replayed_request_rejected(start_bot, caplog):
    harness = await start_bot()
    body = harness.requester.command_body("help")
    stamp = int(time.time())

    first = await harness.requester.post(body, content_type="application/x-www-form-urlencoded", timestamp=stamp)
    replay = await harness.requester.post(body, content_type="application/x-www-form-urlencoded", timestamp=stamp)

    assert first.status == 200
    assert replay.status == 401
    assert "replayed" in caplog.text
