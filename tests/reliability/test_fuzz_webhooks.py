"""Property-based fuzzing of the ClickSend webhook routes with malformed bodies.

For any body (form, JSON, binary, deeply nested, oversized, wrongly encoded, cut
short, or cut short in transit), any content type and any token, the receiver
never responds with a 5xx, never logs an unhandled error, stays up, and stores
nothing from a request it rejected.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import EventBus
from core.store import Store
from core.webhooks import INBOUND_PATH, MAX_BODY_BYTES, RECEIPTS_PATH, build_webhook_routes
from tests.reliability.payloads import FuzzBody, bodies, field_maps
from tests.reliability.servers import LoopThread, raw_request, table_counts

TOKEN = "fuzz-webhook-token-5d1c"
INBOUND_NAMES = ("from", "sms", "to", "body", "message", "message_id", "messageid", "original_message_id",
                 "originalmessageid", "original_body", "originalmessage", "custom_string", "customstring",
                 "timestamp", "timestamp_send", "keyword")
RECEIPT_NAMES = ("message_id", "messageid", "status_code", "status", "status_text", "error_code", "error_text",
                 "custom_string", "customstring", "timestamp", "timestamp_send")
TABLES = ("messages", "receipts", "conversations", "opt_outs")

CI_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG_SETTINGS = settings(CI_SETTINGS, max_examples=3000)


class ErrorRecords(logging.Handler):
    """Collects ERROR and CRITICAL log records from every logger, across threads."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # aiohttp logs a request it could not parse (bad header bytes, for example) at
        # ERROR and responds 400 itself. That is the HTTP parser working, not a crash.
        if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
            return
        # Garbage collection of another test's event loop can log this at any moment.
        if record.name == "asyncio" and record.getMessage().startswith("Task was destroyed but it is pending"):
            return
        self.records.append(record)

    def messages(self) -> list[str]:
        return [
            f"{record.name}: {record.getMessage()} ({record.exc_info[1]!r})" if record.exc_info else f"{record.name}: {record.getMessage()}"
            for record in self.records
        ]


@dataclass
class Receiver:
    port: int
    cache: Path
    errors: ErrorRecords


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    cache = tmp_path / "cache.sqlite3"
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    with LoopThread() as loop:
        state: dict[str, object] = {}

        async def start() -> int:
            store = await Store.connect(cache)
            app = web.Application()
            build_webhook_routes(app, store=store, token=TOKEN, events=EventBus())
            # No access log: the request path contains the webhook token.
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            state.update(store=store, runner=runner)
            return runner.addresses[0][1]

        async def stop() -> None:
            await state["runner"].cleanup()
            await state["store"].close()

        port = loop.run(start())
        try:
            yield Receiver(port, cache, errors)
        finally:
            loop.run(stop())
            logging.getLogger().removeHandler(errors)


def _path(route: str, token: str, query: str = "") -> str:
    path = (INBOUND_PATH if route == "inbound" else RECEIPTS_PATH).format(token=urllib.parse.quote(token, safe=""))
    return f"{path}?{query}" if query else path


def check_request(receiver: Receiver, *, method: str, route: str, token: str, body: FuzzBody, query: str) -> None:
    before = table_counts(receiver.cache, TABLES)
    errors_before = len(receiver.errors.records)

    headers = {"Content-Type": body.content_type} if body.content_type else {}
    response = raw_request(
        receiver.port,
        method,
        _path(route, token, query),
        body=body.body,
        headers=headers,
        declared_length=body.declared_length,
    )
    # A wrong token gets 404 from a live server, so the request did not take it down.
    probe = raw_request(receiver.port, "GET", _path("inbound", "not-the-token"))
    after = table_counts(receiver.cache, TABLES)
    new_errors = receiver.errors.messages()[errors_before:]

    cut_in_transit = body.declared_length is not None and body.declared_length > len(body.body)
    assert response.status is not None or cut_in_transit, f"no response to a complete {body.kind} request"
    assert response.status is None or response.status < 500, f"{response.status} for {body.kind}: {response.body[:300]!r}"
    assert probe.status == 404
    if cut_in_transit:
        # The client went away mid-body, and aiohttp logs the read error of a request
        # whose response no client can receive.
        new_errors = [error for error in new_errors if "Connection lost" not in error]
    assert new_errors == []
    if response.status != 200:
        assert after == before, f"a rejected {body.kind} request ({response.status}) changed the cache"
    else:
        added = {table: after[table] - before[table] for table in TABLES}
        assert added["messages"] + added["receipts"] <= 1


def requests() -> st.SearchStrategy[dict[str, object]]:
    inbound_bodies = bodies(INBOUND_NAMES, max_body_bytes=MAX_BODY_BYTES)
    receipt_bodies = bodies(RECEIPT_NAMES, max_body_bytes=MAX_BODY_BYTES)
    tokens = st.one_of(st.just(TOKEN), st.just(TOKEN), st.text(max_size=20))
    queries = st.one_of(
        st.just(""),
        field_maps(INBOUND_NAMES).map(lambda fields: urllib.parse.urlencode({k: str(v) for k, v in fields.items()})),
        st.from_regex(r"[a-z_=&%0-9A-F]{0,40}", fullmatch=True),
    )
    return st.one_of(
        st.fixed_dictionaries({"method": st.just("POST"), "route": st.just("inbound"), "token": tokens, "body": inbound_bodies, "query": queries}),
        st.fixed_dictionaries({"method": st.just("GET"), "route": st.just("inbound"), "token": tokens, "body": st.just(FuzzBody("empty", b"", "")), "query": queries}),
        st.fixed_dictionaries({"method": st.just("POST"), "route": st.just("receipts"), "token": tokens, "body": receipt_bodies, "query": st.just("")}),
        st.fixed_dictionaries({"method": st.sampled_from(["PUT", "DELETE", "PATCH"]), "route": st.sampled_from(["inbound", "receipts"]), "token": tokens, "body": inbound_bodies, "query": st.just("")}),
    )


@CI_SETTINGS
@given(request=requests())
def test_webhook_fuzz_never_fails(receiver: Receiver, request: dict[str, object]) -> None:
    check_request(receiver, **request)


@pytest.mark.long
@LONG_SETTINGS
@given(request=requests())
def test_webhook_fuzz_never_fails_long(receiver: Receiver, request: dict[str, object]) -> None:
    check_request(receiver, **request)


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("nested JSON", b"[" * 50_000, "application/json"),
        ("infinite timestamp", b'{"from": "61491570156", "body": "hi", "timestamp": 1e400}', "application/json"),
        ("huge timestamp", b"from=61491570156&body=hi&timestamp=99999999999999999999", "application/x-www-form-urlencoded"),
        ("NUL in body", b"from=61491570156&body=a%00b&message_id=NUL-1", "application/x-www-form-urlencoded"),
        ("UTF-16 JSON", '{"from": "61491570156", "body": "héllo"}'.encode("utf-16"), "application/json"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_webhook_known_bad_inputs(receiver: Receiver, name: str, body: bytes, content_type: str) -> None:
    check_request(receiver, method="POST", route="inbound", token=TOKEN, body=FuzzBody(name, body, content_type), query="")
