import aiohttp
import pytest

from tests.slackbot.fake_slack import FakeSlack


@pytest.fixture
async def fake_slack():
    async with FakeSlack(private_channels=("G0PRIVATE",)) as slack:
        yield slack


@pytest.fixture
async def http_session():
    async with aiohttp.ClientSession() as session:
        yield session
