"""Property-based fuzzing of the Slack HTTP route (slash commands, interactions, events).

Bodies are random Slack-shaped forms, interaction payloads and event envelopes,
plus binary, deeply nested, oversized, non-UTF-8 and cut-short bodies. Most are
correctly signed, so they get past the signature check and reach the parsers and
listeners. Whatever the body, the bot never responds with a 5xx, never logs an
unhandled exception (in the request or in the work it starts after the
acknowledgement), stays up, and a rejected request changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.payloads import FuzzBody, bodies, json_values
from tests.reliability.servers import LoopThread, raw_request, table_counts
from tests.slackbot.conftest import WEBHOOK_TOKEN, make_settings
from tests.slackbot.fake_slack import APP_ID, SIGNING_SECRET, TEAM_ID, FakeSlack, sign

TABLES = ("messages", "outbox", "slack_events", "slack_posts", "slack_threads", "opt_outs")
SLACK_NAMES = ("command", "text", "user_id", "channel_id", "response_url", "trigger_id", "team_id", "payload", "token")
# The body size limit of the web.Application built below (aiohttp's client_max_size default).
MAX_SLACK_BODY_BYTES = 1024**2

CI_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG_SETTINGS = settings(CI_SETTINGS, max_examples=2000)


class UnhandledErrors(logging.Handler):
    """Collects log records that carry an exception, from every logger and thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info:
            return
        # aiohttp logs a request it could not parse at ERROR and responds 400 itself.
        if isinstance(record.exc_info[1], HttpProcessingError):
            return
        self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{record.name}: {record.getMessage()} ({record.exc_info[1]!r})" for record in self.records]


@dataclass
class SlackBotServer:
    loop: LoopThread
    port: int
    cache: Path
    bot: Any
    slack: FakeSlack
    sandbox: Any
    errors: UnhandledErrors

    def response_url(self) -> str:
        return self.slack.response_url("fuzz")


@pytest.fixture
def bot_server(tmp_path: Path) -> Iterator[SlackBotServer]:
    from core.client import ClickSendClient
    from core.events import EventBus
    from core.service import SmsService
    from core.store import Store
    from core.webhooks import build_webhook_routes
    from aiohttp import web
    from sandbox import SandboxServer
    from slackbot import server
    from slackbot.app import SlackBot

    errors = UnhandledErrors()
    logging.getLogger().addHandler(errors)
    cleanups: list[Any] = []

    async def start() -> SlackBotServer:
        slack = FakeSlack(private_channels=("G0PRIVATE",))
        await slack.start()
        cleanups.append(slack.stop)
        sandbox = SandboxServer()
        await sandbox.start()
        cleanups.append(sandbox.stop)
        settings_ = make_settings(fake_slack=slack, sandbox=sandbox, tmp_path=tmp_path, allowed_users=["U0BOSS"])
        client = ClickSendClient(username="demo-user", api_key="demo-key", base_url=sandbox.base_url)
        cleanups.append(client.aclose)
        store = await Store.connect(settings_.cache_path)
        cleanups.append(store.close)
        events = EventBus()
        service = SmsService(client=client, store=store, settings=settings_, events=events)
        bot = SlackBot(settings=settings_, service=service, store=store, events=events)
        await bot.start()
        cleanups.append(bot.close)
        app = web.Application()
        server.add_slack_routes(app, bolt_app=bot.app, signing_secret=SIGNING_SECRET)
        build_webhook_routes(app, store=store, token=WEBHOOK_TOKEN, events=events, settings=settings_)
        runner = await server.start_http(app, host="127.0.0.1", port=0)
        cleanups.append(runner.cleanup)
        return SlackBotServer(loop, server.bound_port(runner), settings_.cache_path, bot, slack, sandbox, errors)

    async def stop() -> None:
        for cleanup in reversed(cleanups):
            await cleanup()

    with LoopThread() as loop:
        try:
            yield loop.run(start())
        finally:
            loop.run(stop())
            logging.getLogger().removeHandler(errors)


# --- Slack-shaped bodies -------------------------------------------------------------------

COMMAND_WORDS = ("send", "price", "cancel", "all", "template", "use", "show", "list", "help", "+61491570156",
                 "0491570157", "+447700900123", "12", "key=value", "\u00a0", "<tel:+61491570156|call>", "&amp;", "*bold*")


@st.composite
def command_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(st.sampled_from(COMMAND_WORDS), st.text(max_size=15)), max_size=8))
    return " ".join(words)


def slash_commands(server_url: str) -> st.SearchStrategy[FuzzBody]:
    fields = st.fixed_dictionaries(
        {
            "command": st.sampled_from(["/sms", "/sms", "/other", ""]),
            "text": command_texts(),
            "user_id": st.sampled_from(["U0BOSS", "U0ALICE", "", "W0ENTERPRISE"]),
            "channel_id": st.sampled_from(["C0FAKE001", "G0PRIVATE", "D0DIRECT", ""]),
            "team_id": st.just(TEAM_ID),
            "response_url": st.sampled_from([server_url, "", "not a url"]),
            "trigger_id": st.text(max_size=10),
        },
        optional={"api_app_id": st.just(APP_ID), "extra": st.text(max_size=10)},
    )
    return fields.map(lambda form: FuzzBody("slash-command", urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"))


def interactions(server_url: str) -> st.SearchStrategy[FuzzBody]:
    action = st.fixed_dictionaries(
        {
            "action_id": st.sampled_from(["sms_confirm_send", "sms_discard_send", "sms_cancel_scheduled", "sms_compose_body", "other"]),
            "value": st.one_of(st.text(max_size=20), json_values()),
            "type": st.sampled_from(["button", "plain_text_input", "static_select"]),
        }
    )
    view = st.fixed_dictionaries(
        {
            "id": st.text(max_size=8),
            "callback_id": st.sampled_from(["sms_compose", "other"]),
            "private_metadata": st.one_of(st.text(max_size=12), st.just("C0FAKE001")),
            "state": st.one_of(
                json_values(),
                st.fixed_dictionaries({"values": st.dictionaries(
                    st.sampled_from(["recipients", "body", "template", "schedule"]),
                    st.dictionaries(st.text(max_size=8), st.dictionaries(st.sampled_from(["type", "value", "selected_option", "selected_date_time"]), st.one_of(st.text(max_size=30), json_values())), max_size=2),
                    max_size=4,
                )}),
            ),
        }
    )
    payload = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut", "message_action", "nonsense"]),
            "user": st.one_of(st.fixed_dictionaries({"id": st.sampled_from(["U0BOSS", "U0ALICE", ""])}), json_values()),
            "team": st.just({"id": TEAM_ID}),
        },
        optional={
            "actions": st.one_of(st.lists(action, max_size=2), json_values()),
            "view": st.one_of(view, json_values()),
            "channel": st.one_of(st.just({"id": "C0FAKE001"}), json_values()),
            "response_url": st.sampled_from([server_url, ""]),
            "trigger_id": st.text(max_size=8),
            "container": json_values(),
        },
    )
    encoded = st.one_of(payload.map(json.dumps), st.text(max_size=200))
    return encoded.map(
        lambda text: FuzzBody("interaction", ("payload=" + urllib.parse.quote_plus(text)).encode(), "application/x-www-form-urlencoded")
    )


def events() -> st.SearchStrategy[FuzzBody]:
    event = st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "app_home_opened", "app_mention", "reaction_added", "nonsense"])},
        optional={
            "channel": st.sampled_from(["C0FAKE001", "D0DIRECT", ""]),
            "user": st.sampled_from(["U0BOSS", "U0ALICE", "U0BOT", ""]),
            "text": command_texts(),
            "ts": st.sampled_from(["1.000001", "1.000002", "", "x"]),
            "thread_ts": st.sampled_from(["1.000001", "", "garbage"]),
            "subtype": st.sampled_from(["bot_message", "message_changed", "message_deleted", "file_share"]),
            "bot_id": st.just("B0BOT"),
            "tab": st.sampled_from(["home", "messages"]),
            "message": json_values(),
        },
    )
    envelope = st.fixed_dictionaries(
        {"type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "nonsense"])},
        optional={
            "event": st.one_of(event, json_values()),
            "event_id": st.text(max_size=12),
            "challenge": st.text(max_size=20),
            "team_id": st.just(TEAM_ID),
            "authorizations": json_values(),
        },
    )
    return envelope.map(lambda data: FuzzBody("event", json.dumps(data).encode(), "application/json"))


def slack_bodies(server_url: str) -> st.SearchStrategy[FuzzBody]:
    return st.one_of(
        slash_commands(server_url),
        interactions(server_url),
        events(),
        bodies(SLACK_NAMES, max_body_bytes=MAX_SLACK_BODY_BYTES),
    )


@dataclass(frozen=True)
class Signing:
    mode: str  # "valid", "wrong-secret" or "none"
    age_seconds: int


signings = st.one_of(
    st.just(Signing("valid", 0)),
    st.just(Signing("valid", 0)),
    st.just(Signing("valid", 0)),
    st.builds(Signing, st.sampled_from(["wrong-secret", "none"]), st.just(0)),
    st.builds(Signing, st.just("valid"), st.sampled_from([-400, 400, 10**9])),
)


def signed_headers(body: FuzzBody, signing: Signing) -> dict[str, str]:
    headers = {"Content-Type": body.content_type} if body.content_type else {}
    if signing.mode == "none":
        return headers
    stamp = str(int(time.time()) - signing.age_seconds)
    secret = SIGNING_SECRET if signing.mode == "valid" else "wrong-secret"
    # The signature covers what Slack would have sent: the whole body, even when it arrives cut short.
    headers["X-Slack-Request-Timestamp"] = stamp
    headers["X-Slack-Signature"] = sign(secret, stamp, body.body)
    return headers


def check_slack_request(bot_server: SlackBotServer, body: FuzzBody, signing: Signing) -> None:
    before = table_counts(bot_server.cache, TABLES)
    sandbox_before = len(bot_server.sandbox.state.messages)
    errors_before = len(bot_server.errors.records)

    response = raw_request(
        bot_server.port,
        "POST",
        "/slack/events",
        body=body.body,
        headers=signed_headers(body, signing),
        declared_length=body.declared_length,
    )
    bot_server.loop.run(bot_server.bot.idle())
    probe = raw_request(bot_server.port, "POST", "/slack/events", body=b"text=probe", headers={"Content-Type": "application/x-www-form-urlencoded"})
    after = table_counts(bot_server.cache, TABLES)
    new_errors = bot_server.errors.messages()[errors_before:]

    cut_in_transit = body.declared_length is not None and body.declared_length > len(body.body)
    assert response.status is not None or cut_in_transit, f"no response to a complete {body.kind} request"
    assert response.status is None or response.status < 500, f"{response.status} for {body.kind}: {response.body[:300]!r}"
    assert probe.status == 401
    if cut_in_transit:
        # The client went away mid-body, and aiohttp logs the read error of a request
        # whose response no client can receive.
        new_errors = [error for error in new_errors if "Connection lost" not in error]
    assert new_errors == []
    if signing != Signing("valid", 0):
        # 400 comes from aiohttp itself for a request line or header it cannot parse.
        assert response.status in (None, 400, 401, 413)
    if response.status is None or response.status >= 400:
        assert after == before, f"a rejected {body.kind} request ({response.status}) changed the cache"
        assert len(bot_server.sandbox.state.messages) == sandbox_before


def fuzz_cases(bot_server: SlackBotServer) -> st.SearchStrategy[tuple[FuzzBody, Signing]]:
    return st.tuples(slack_bodies(bot_server.response_url()), signings)


@CI_SETTINGS
@given(data=st.data())
def test_slack_route_fuzz_never_fails(bot_server: SlackBotServer, data: st.DataObject) -> None:
    body, signing = data.draw(fuzz_cases(bot_server))
    check_slack_request(bot_server, body, signing)


@pytest.mark.long
@LONG_SETTINGS
@given(data=st.data())
def test_slack_route_fuzz_never_fails_long(bot_server: SlackBotServer, data: st.DataObject) -> None:
    body, signing = data.draw(fuzz_cases(bot_server))
    check_slack_request(bot_server, body, signing)


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("nested JSON", b"[" * 50_000, "application/json"),
        ("nested payload", b"payload=" + urllib.parse.quote_plus("[" * 50_000).encode(), "application/x-www-form-urlencoded"),
        ("non-UTF-8", b"command=%2Fsms&text=\xff\xfe", "application/x-www-form-urlencoded"),
        ("JSON list", b"[1, 2, 3]", "application/json"),
        ("payload not JSON", b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("empty", b"", "application/x-www-form-urlencoded"),
        ("JSON number", b"1.5", "application/json"),
        ("payload number", b"payload=1.5", "application/x-www-form-urlencoded"),
        ("payload list", b"payload=%5B%5D", "application/x-www-form-urlencoded"),
        ("actions not a list", b"payload=" + urllib.parse.quote_plus(json.dumps({"type": "block_actions", "user": {"id": "U0BOSS"}, "actions": 5})).encode(), "application/x-www-form-urlencoded"),
        ("user not an object", b"payload=" + urllib.parse.quote_plus(json.dumps({"type": "block_actions", "user": 5, "actions": [{"action_id": "sms_confirm_send", "value": "x"}]})).encode(), "application/x-www-form-urlencoded"),
        ("view not an object", b"payload=" + urllib.parse.quote_plus(json.dumps({"type": "view_submission", "user": {"id": "U0BOSS"}, "view": 5})).encode(), "application/x-www-form-urlencoded"),
        ("view state not an object", b"payload=" + urllib.parse.quote_plus(json.dumps({"type": "view_submission", "user": {"id": "U0BOSS"}, "view": {"callback_id": "sms_compose", "state": 5}})).encode(), "application/x-www-form-urlencoded"),
        ("event not an object", json.dumps({"type": "event_callback", "event_id": "Ev1", "event": 5}).encode(), "application/json"),
        ("event fields wrong types", json.dumps({"type": "event_callback", "event_id": "Ev2", "event": {"type": "message", "channel": 5, "user": [], "ts": {}, "thread_ts": 1.5}}).encode(), "application/json"),
        ("home opened no user", json.dumps({"type": "event_callback", "event_id": "Ev3", "event": {"type": "app_home_opened", "tab": "home"}}).encode(), "application/json"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_slack_known_bad_inputs(bot_server: SlackBotServer, name: str, body: bytes, content_type: str) -> None:
    check_slack_request(bot_server, FuzzBody(name, body, content_type), Signing("valid", 0))
