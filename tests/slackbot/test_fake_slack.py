"""The Slack stand-in must behave like Slack for the tests built on it to mean anything."""

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.slackbot.fake_slack import BOT_TOKEN, BOT_USER_ID


@pytest.fixture
async def web_client(fake_slack):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    yield client


async def test_fake_slack_auth_test(web_client):
    response = await web_client.auth_test()

    assert response["user_id"] == BOT_USER_ID


async def test_fake_slack_rejects_wrong_token(fake_slack):
    client = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)

    with pytest.raises(SlackApiError) as info:
        await client.auth_test()

    assert info.value.response["error"] == "invalid_auth"


async def test_fake_slack_post_and_update(fake_slack, web_client):
    posted = await web_client.chat_postMessage(channel="C0FAKE001", text="hello", blocks=[{"type": "divider"}])
    await web_client.chat_update(channel="C0FAKE001", ts=posted["ts"], text="edited")

    [message] = fake_slack.posts("C0FAKE001")
    assert message.text == "edited"
    assert message.updates == 1
    assert message.blocks == [{"type": "divider"}]


async def test_fake_slack_error_on_demand(fake_slack, web_client):
    fake_slack.fail_in_channel("chat.postMessage", "C0FAKE001", "not_in_channel")

    with pytest.raises(SlackApiError) as info:
        await web_client.chat_postMessage(channel="C0FAKE001", text="one")
    await web_client.chat_postMessage(channel="C0FAKE001", text="two")

    assert info.value.response["error"] == "not_in_channel"
    assert [m.text for m in fake_slack.posts()] == ["two"]


async def test_fake_slack_rate_limit_header(fake_slack, web_client):
    fake_slack.rate_limit("chat.postMessage", retry_after=3)

    with pytest.raises(SlackApiError) as info:
        await web_client.chat_postMessage(channel="C0FAKE001", text="one")

    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "3"


async def test_fake_slack_join_private_channel_fails(fake_slack, web_client):
    with pytest.raises(SlackApiError) as info:
        await web_client.conversations_join(channel="G0PRIVATE")

    assert info.value.response["error"] == "method_not_supported_for_channel_type"
    assert "G0PRIVATE" not in fake_slack.joined


async def test_fake_slack_records_response_url(fake_slack, http_session):
    async with http_session.post(fake_slack.response_url("k1"), json={"text": "done"}) as response:
        assert response.status == 200

    assert fake_slack.responses == [{"text": "done", "_key": "k1"}]
