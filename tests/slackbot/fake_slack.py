"""A local stand-in for the Slack Web API, for tests.

`FakeSlack` serves the Web API methods the bot calls on 127.0.0.1 (port 0),
records every call, and returns an error on demand: `ratelimited` with a
`Retry-After` header, `not_in_channel`, or any other Slack error string. It also
accepts `response_url` posts and can serve a Socket Mode WebSocket.

`SlackRequester` signs requests the way Slack does (v0 HMAC-SHA256 over
`v0:{timestamp}:{raw body}`) and posts them to the bot's HTTP endpoint, so a test
drives the bot exactly as Slack would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
from aiohttp import web

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0FAKE"


@dataclass
class SlackCall:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    method: str
    error: str
    remaining: int | None  # None fails every matching call
    status: int
    headers: dict[str, str]
    when: Callable[[dict[str, Any]], bool] | None


@dataclass
class PostedMessage:
    """A message as the fake workspace stores it after chat.postMessage and chat.update."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    updates: int = 0


class FakeSlack:
    """Slack Web API stand-in: `async with FakeSlack() as slack: slack.api_url`."""

    def __init__(
        self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN, private_channels: tuple[str, ...] = ()
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.private_channels = set(private_channels)
        self.calls: list[SlackCall] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_url
        self.messages: dict[tuple[str, str], PostedMessage] = {}
        self.reactions: list[tuple[str, str, str]] = []  # (channel, ts, name)
        self.joined: set[str] = set()
        self.views: list[dict[str, Any]] = []
        self.usergroups: dict[str, list[str]] = {}  # user group ID -> member user IDs
        self.latency: dict[str, float] = {}  # Web API method -> seconds to wait before answering
        self._failures: list[_Failure] = []
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.socket_handler: Callable[[web.Request], Any] | None = None

        self._app = web.Application()
        self._app.router.add_post("/api/{method}", self._handle_api)
        self._app.router.add_get("/api/{method}", self._handle_api)
        self._app.router.add_post("/response/{key}", self._handle_response_url)
        self._app.router.add_get("/socket", self._handle_socket)

    # -- lifecycle -------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def root_url(self) -> str:
        assert self._port is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Base URL for `AsyncWebClient(base_url=...)`, with the trailing slash it expects."""
        return f"{self.root_url}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.root_url}/response/{key}"

    # -- fault injection -------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int = 200,
        headers: dict[str, str] | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Fail the next `times` calls of `method` (that match `when`) with `error`.

        `times=None` fails every matching call from now on.
        """
        self._failures.append(_Failure(method, error, times, status, headers or {}, when))

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Fail the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        self.fail(
            method,
            "ratelimited",
            times=times,
            status=429,
            headers={"Retry-After": str(retry_after)},
        )

    def fail_in_channel(self, method: str, channel: str, error: str, *, times: int | None = 1) -> None:
        self.fail(method, error, times=times, when=lambda params: params.get("channel") == channel)

    # -- queries for assertions ------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def posts(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages that chat.postMessage created, in the order they were posted."""
        found = [m for m in self.messages.values() if channel is None or m.channel == channel]
        return sorted(found, key=lambda m: float(m.ts))

    def ephemerals(self) -> list[dict[str, Any]]:
        return [c.params for c in self.calls_to("chat.postEphemeral", ok=True)]

    # -- handlers --------------------------------------------------------

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw = await request.text()
            if raw:
                params.update(json.loads(raw))
        else:
            params.update(dict(await request.post()))
        # The SDK sends blocks, attachments and views as JSON strings in form bodies.
        for key in ("blocks", "attachments", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method or failure.remaining == 0:
                continue
            if failure.when is not None and not failure.when(params):
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
            return failure
        return None

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])

        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            token = str(params.pop("token", ""))
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return self._record(method, params, {"ok": False, "error": "invalid_auth"})

        failure = self._take_failure(method, params)
        if failure is not None:
            body = {"ok": False, "error": failure.error}
            return self._record(method, params, body, status=failure.status, headers=failure.headers)

        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return self._record(method, params, {"ok": False, "error": "unknown_method"})
        return self._record(method, params, handler(params))

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        body: dict[str, Any],
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.calls.append(SlackCall(method, params, bool(body.get("ok")), body.get("error"), body))
        return web.json_response(body, status=status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.text())
        payload["_key"] = request.match_info["key"]
        self.responses.append(payload)
        return web.Response(text="ok")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if self.socket_handler is None:
            raise web.HTTPNotFound()
        return await self.socket_handler(request)

    # -- Web API methods -------------------------------------------------

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake team",
            "user": "smsdesk",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params["channel"]
        ts = self._next_ts()
        message = PostedMessage(
            channel=channel,
            ts=ts,
            text=params.get("text", ""),
            blocks=params.get("blocks"),
            thread_ts=params.get("thread_ts") or None,
        )
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text, "ts": ts}}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params["channel"], params["ts"])
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = params.get("text", message.text)
        if "blocks" in params:
            message.blocks = params["blocks"]
        message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params["channel"]
        if channel in self.private_channels:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.joined.add(channel)
        return {"ok": True, "channel": {"id": channel, "is_private": False}}

    def _api_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = (params["channel"], params["timestamp"], params["name"])
        if entry in self.reactions:
            return {"ok": False, "error": "already_reacted"}
        self.reactions.append(entry)
        return {"ok": True}

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = dict(params.get("view") or {})
        view["id"] = f"V{len(self.views) + 1:06d}"
        self.views.append(view)
        return {"ok": True, "view": view}

    _api_views_update = _api_views_open

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._api_views_open(params)

    def _api_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _api_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ws_root = self.root_url.replace("http://", "ws://")
        return {"ok": True, "url": f"{ws_root}/socket"}


# -- signed requests to the bot -------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Compute Slack's `X-Slack-Signature` for a request body."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class BotReply:
    """The bot's HTTP response to one signed request."""

    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class SlackRequester:
    """Posts signed slash commands, events and interactions to the bot over HTTP."""

    def __init__(
        self,
        *,
        url: str,
        slack: FakeSlack,
        session: aiohttp.ClientSession,
        secret: str = SIGNING_SECRET,
    ) -> None:
        self.url = url
        self.slack = slack
        self.session = session
        self.secret = secret
        self._trigger = itertools.count(1)

    async def post(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signed_body: bytes | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> BotReply:
        """Post `body`, signed over `signed_body` (default: `body`) at `timestamp` (default: now)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or sign(self.secret, stamp, body if signed_body is None else signed_body),
        }
        all_headers.update(headers or {})
        async with self.session.post(self.url, data=body, headers=all_headers) as response:
            return BotReply(response.status, await response.text())

    def command_body(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0FAKE001",
        response_key: str = "cmd",
        encode: Callable[[str], str] = urllib.parse.quote_plus,
    ) -> bytes:
        fields = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "sms",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/sms",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(response_key),
            "trigger_id": f"trigger.{next(self._trigger)}",
        }
        return "&".join(f"{k}={encode(v)}" for k, v in fields.items()).encode()

    async def command(self, text: str, **options: Any) -> BotReply:
        """Send `/sms TEXT` as a signed slash command."""
        post_options = {k: options.pop(k) for k in ("timestamp", "headers") if k in options}
        body = self.command_body(text, **options)
        return await self.post(body, content_type="application/x-www-form-urlencoded", **post_options)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> BotReply:
        """Send an Events API `event_callback`, as a retry when `retry_num` is given.

        Slack signs each delivery afresh, so a retry carries a later timestamp.
        """
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}
            ],
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope).encode()
        if timestamp is None and retry_num is not None:
            timestamp = int(time.time()) + retry_num
        return await self.post(body, content_type="application/json", headers=headers, timestamp=timestamp)

    async def interaction(self, payload: dict[str, Any]) -> BotReply:
        """Send an interactivity payload (block action, view submission) as Slack does: form field `payload`."""
        payload.setdefault("team", {"id": TEAM_ID, "domain": "fake"})
        payload.setdefault("api_app_id", APP_ID)
        payload.setdefault("token", "legacy-verification-token")
        body = ("payload=" + urllib.parse.quote_plus(json.dumps(payload))).encode()
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def click(
        self,
        *,
        action_id: str,
        value: str,
        user_id: str = "U0ALICE",
        channel_id: str = "C0FAKE001",
        response_key: str = "click",
    ) -> BotReply:
        """Click a button in a message, as a `block_actions` interaction."""
        return await self.interaction(
            {
                "type": "block_actions",
                "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
                "channel": {"id": channel_id, "name": "sms"},
                "container": {"type": "message", "channel_id": channel_id, "message_ts": "1.000001"},
                "trigger_id": f"trigger.{next(self._trigger)}",
                "response_url": self.slack.response_url(response_key),
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": "actions",
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )


async def wait_for(predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns a truthy value, or fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate!r}")
        await asyncio.sleep(interval)


class SocketModeStub:
    """The Socket Mode WebSocket side of FakeSlack: sends `hello`, records acknowledgements."""

    def __init__(self, slack: FakeSlack) -> None:
        self.connections: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []
        slack.socket_handler = self._handle

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}})
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return socket

    def open_connections(self) -> list[web.WebSocketResponse]:
        return [socket for socket in self.connections if not socket.closed]

    async def send(self, payload: dict[str, Any]) -> None:
        """Send `payload` on the newest open connection."""
        await self.open_connections()[-1].send_json(payload)

    async def close_all(self) -> None:
        for socket in self.open_connections():
            await socket.close()

    def slash_command_envelope(self, envelope_id: str, text: str, *, user_id: str = "U0ALICE") -> dict[str, Any]:
        return {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": TEAM_ID,
                "channel_id": "C0FAKE001",
                "user_id": user_id,
                "command": "/sms",
                "text": text,
                "api_app_id": APP_ID,
                "response_url": "",
                "trigger_id": "trigger.socket",
            },
        }
