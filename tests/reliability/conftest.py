"""Fixtures for the reliability tests: the Slack bot harness of the Slack bot's own tests.

Importing the fixtures registers them here, so both suites drive the same bot setup
(fake Slack Web API, sandbox, real cache file, HTTP server on 127.0.0.1).
"""

from tests.slackbot.conftest import clean_environment, fake_slack, http_session, start_bot

__all__ = ["clean_environment", "fake_slack", "http_session", "start_bot"]
