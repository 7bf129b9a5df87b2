"""ClickSendClient against a scripted aiohttp server on 127.0.0.1.

The scripted server returns exact status sequences (503 then 200, 429 with
Retry-After, a dropped connection), which the sandbox cannot be configured
to return per request. Retries run under a fake clock, so no test sleeps for real.
"""

import asyncio
import base64
import gc
import json
import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

import sandbox
from core.client import MAX_RETRY_AFTER, ClickSendClient
from core.errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    PartialSendError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    ServerError,
)
from core.models import SmsMessage

API_KEY = "demo-key-5b0f2c"
OPENAPI_PATH = Path(sandbox.__file__).parent / "clicksend-sms-openapi.json"


@dataclass
class RecordedRequest:
    method: str
    path: str
    raw_path: str
    query: dict
    headers: dict
    body: object


@dataclass
class ScriptedServer:
    """An HTTP server that returns scripted replies per (method, path) and records requests."""

    base_url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    replies: dict = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    max_in_flight: int = 0

    def script(self, method, path, *replies):
        """Queue replies for `method` `path`; the last one repeats."""
        self.replies[(method, "/v3" + path)] = list(replies)

    def requests_to(self, method, path):
        return [request for request in self.requests if (request.method, request.path) == (method, "/v3" + path)]

    async def handle(self, request):
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            RecordedRequest(request.method, request.path, request.raw_path, dict(request.query), dict(request.headers), body)
        )
        queue = self.replies.get((request.method, request.path))
        if not queue:
            return envelope_response(None, status=404, response_code="NOT_FOUND", response_msg="Invalid endpoint.")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await reply(request, body)
        finally:
            self.in_flight -= 1


def envelope_response(data, *, status=200, response_code="SUCCESS", response_msg="OK", headers=None):
    payload = {"http_code": status, "response_code": response_code, "response_msg": response_msg, "data": data}
    return web.json_response(payload, status=status, headers=headers)


def envelope(data, **options):
    """A scripted reply that returns a fresh ClickSend envelope each time it is used."""

    async def reply(request, body):
        return envelope_response(data, **options)

    return reply


def raw(status, text=None, payload=None):
    """A scripted reply with a body that is not a ClickSend envelope, or a bare JSON document."""

    async def reply(request, body):
        if payload is not None:
            return web.json_response(payload, status=status)
        return web.Response(status=status, text=text)

    return reply


class FakeClock:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def start_server(handler, port=0):
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def server():
    scripted = ScriptedServer()
    runner, port = await start_server(scripted.handle)
    scripted.base_url = f"http://127.0.0.1:{port}/v3"
    try:
        yield scripted
    finally:
        scripted.release.set()
        await runner.cleanup()


@pytest.fixture
def clock():
    return FakeClock()


def make_client(base_url, clock, **options):
    return ClickSendClient(
        username="demo-user",
        api_key=API_KEY,
        base_url=base_url,
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.0,
        **options,
    )


@pytest.fixture
async def client(server, clock):
    async with make_client(server.base_url, clock) as client:
        yield client


def send_data(*messages, total_price=0.0792):
    return {
        "total_price": total_price,
        "total_count": len(messages),
        "queued_count": sum(1 for message in messages if message["status"] == "SUCCESS"),
        "messages": list(messages),
        "_currency": {"currency_name_short": "AUD"},
        "blocked_count": 0,
    }


def echo_send(price="0.0792"):
    """A send handler that accepts every message of the request."""

    async def reply(request, body):
        results = [
            {"to": message["to"], "status": "SUCCESS", "message_id": f"MSG-{index}", "message_price": price,
             "custom_string": message.get("custom_string", "")}
            for index, message in enumerate(body["messages"])
        ]
        await asyncio.sleep(0.01)  # keeps the request in flight so concurrent batches overlap
        return envelope_response(send_data(*results, total_price=float(price) * len(results)))

    return reply


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- credentials and lifecycle -------------------------------------------------


async def test_basic_auth_header(server, client):
    server.script("GET", "/sms/templates", envelope({"total": 0, "data": []}))

    await client.list_templates()

    expected = "Basic " + base64.b64encode(f"demo-user:{API_KEY}".encode()).decode()
    assert server.requests[0].headers["Authorization"] == expected


def test_repr_hides_api_key(clock):
    client = make_client("http://127.0.0.1:9/v3", clock)

    assert API_KEY not in repr(client)
    assert API_KEY not in str(client)
    assert "demo-user" in repr(client)


async def test_api_key_absent_from_logs(server, client, caplog):
    server.script("POST", "/sms/send", envelope(send_data({"to": "+61491570156", "status": "SUCCESS"})))
    server.script("GET", "/sms/inbound", envelope(None, status=401, response_code="UNAUTHORIZED"))
    caplog.set_level(logging.DEBUG, logger="core.client")

    await client.send_sms(to="+61491570156", body="hi")
    with pytest.raises(AuthenticationError):
        await client.list_inbound()

    assert caplog.records
    assert API_KEY not in caplog.text
    assert base64.b64encode(f"demo-user:{API_KEY}".encode()).decode() not in caplog.text
    assert "Authorization" not in caplog.text


async def test_phone_numbers_masked_in_logs(server, client, caplog):
    server.script("POST", "/sms/send", envelope(send_data({"to": "+61491570156", "status": "SUCCESS"})))
    caplog.set_level(logging.DEBUG, logger="core.client")

    await client.send_sms(to="+61491570156", body="hi")

    assert "+61491570156" not in caplog.text
    assert "156" in caplog.text


async def test_one_info_line_per_exchange(server, client, caplog):
    server.script("GET", "/sms/templates/7", envelope({"template_id": 7, "template_name": "a", "body": "b"}))
    caplog.set_level(logging.INFO, logger="core.client")

    await client.get_template(7)

    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert len(lines) == 1
    assert "GET /sms/templates/7 200" in lines[0]


async def test_api_key_absent_from_errors(server, client):
    server.script("GET", "/sms/inbound", envelope(None, status=401, response_code="UNAUTHORIZED",
                                                   response_msg="Authorization failed."))

    with pytest.raises(AuthenticationError) as caught:
        await client.list_inbound()

    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)


async def test_api_key_absent_from_connect_errors(clock):
    async with make_client(f"http://127.0.0.1:{closed_port()}/v3", clock, max_retries=0) as client:
        with pytest.raises(ConnectError) as caught:
            await client.list_inbound()

    assert API_KEY not in str(caught.value)


async def test_use_after_close_raises(server, clock):
    client = make_client(server.base_url, clock)
    await client.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await client.list_templates()
    assert client.closed


async def test_context_manager_closes_session(server, clock):
    server.script("GET", "/sms/templates", envelope({"total": 0, "data": []}))

    async with make_client(server.base_url, clock) as client:
        await client.list_templates()
        session = client._session

    assert session.closed
    assert client.closed


async def test_unclosed_client_warns(server, clock):
    server.script("GET", "/sms/templates", envelope({"total": 0, "data": []}))
    client = make_client(server.base_url, clock)
    await client.list_templates()
    session = client._session

    with pytest.warns(ResourceWarning, match="was not closed"):
        del client
        gc.collect()
    await session.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"username": ""}, "username is empty"),
        ({"api_key": ""}, "API key is empty"),
        ({"timeout": 0}, "timeout must be"),
        ({"max_requests_per_second": 0}, "max_requests_per_second"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_concurrent_batches": 0}, "max_concurrent_batches"),
        ({"base_url": "rest.clicksend.com/v3"}, "must start with http"),
    ],
)
def test_invalid_options_rejected(options, message):
    arguments = {"username": "demo-user", "api_key": API_KEY, **options}

    with pytest.raises(ValueError, match=message):
        ClickSendClient(**arguments)


# --- error mapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "response_code", "error_class"),
    [
        (400, "BAD_REQUEST", BadRequestError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (403, "FORBIDDEN", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
    ],
)
async def test_error_status_maps_to_class(server, client, status, response_code, error_class):
    server.script("GET", "/sms/receipts/ABC", envelope(None, status=status, response_code=response_code,
                                                        response_msg="Receipt record not found."))

    with pytest.raises(error_class) as caught:
        await client.get_receipt("ABC")

    assert caught.value.http_code == status
    assert caught.value.response_code == response_code
    assert caught.value.response_msg == "Receipt record not found."
    assert len(server.requests) == 1


async def test_integer_response_code(server, client):
    server.script("POST", "/sms/templates", envelope({"name": "required"}, status=400, response_code=400,
                                                      response_msg="Undefined index"))

    with pytest.raises(BadRequestError) as caught:
        await client.create_template("a", "b")

    assert caught.value.response_code == "400"
    assert caught.value.data == {"name": "required"}


async def test_error_without_json_body(server, client):
    server.script("GET", "/sms/templates", raw(502, "<html>Bad gateway</html>"))

    with pytest.raises(ServerError) as caught:
        await client.list_templates()

    assert caught.value.http_code == 502
    assert caught.value.response_code is None


# A rejected message inside a 200 is a result, not an exception.
async def test_rejected_message_is_result(server, client):
    server.script("POST", "/sms/send", envelope(send_data(
        {"to": "+61491570156", "status": "SUCCESS", "message_id": "MSG-0001", "message_price": "0.0792"},
        {"to": "+61491570157", "status": "INVALID_RECIPIENT", "message_id": "", "schedule": ""},
    )))

    response = await client.send_sms(to=["+61491570156", "+61491570157"], body="hi")

    assert [message.accepted for message in response.messages] == [True, False]
    assert response.messages[1].status == "INVALID_RECIPIENT"
    assert response.messages[1].message_id == ""
    assert [message.message_id for message in response.accepted] == ["MSG-0001"]


# --- retries -----------------------------------------------------------------------


async def test_get_retries_server_error(server, client, clock):
    server.script("GET", "/sms/templates", envelope(None, status=503), envelope(None, status=500),
                  envelope({"total": 0, "data": []}))

    page = await client.list_templates()

    assert page.data == []
    assert len(server.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


async def test_retries_give_up_after_max(server, clock):
    server.script("GET", "/sms/templates", envelope(None, status=503))

    async with make_client(server.base_url, clock, max_retries=2) as client:
        with pytest.raises(ServerError):
            await client.list_templates()

    assert len(server.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


async def test_backoff_capped(server, clock):
    server.script("GET", "/sms/templates", envelope(None, status=503))

    async with make_client(server.base_url, clock, max_retries=6) as client:
        with pytest.raises(ServerError):
            await client.list_templates()

    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_backoff_jitter_shortens_delay(server, clock):
    server.script("GET", "/sms/templates", envelope(None, status=503), envelope({"total": 0, "data": []}))
    client = ClickSendClient(username="demo-user", api_key=API_KEY, base_url=server.base_url,
                             sleep=clock.sleep, clock=clock, jitter=lambda: 1.0)

    async with client:
        await client.list_templates()

    assert clock.sleeps == [0.5 * 0.75]


async def test_retry_after_honoured(server, client, clock):
    server.script("GET", "/sms/history", envelope(None, status=429, response_code="HTTP_TOO_MANY_REQUESTS",
                                                   headers={"Retry-After": "7"}),
                  envelope({"total": 0, "data": []}))

    await client.history()

    assert clock.sleeps == [7.0]


async def test_retry_after_capped(server, client, clock):
    server.script("GET", "/sms/history", envelope(None, status=429, headers={"Retry-After": "3600"}),
                  envelope({"total": 0, "data": []}))

    await client.history()

    assert clock.sleeps == [MAX_RETRY_AFTER]


async def test_ratelimit_reset_honoured(server, client, clock):
    server.script("GET", "/sms/history", envelope(None, status=429, headers={"ratelimit-reset": "12"}),
                  envelope({"total": 0, "data": []}))

    await client.history()

    assert clock.sleeps == [12.0]


async def test_retry_after_http_date(server, client, clock):
    when = datetime.now(UTC) + timedelta(seconds=30)
    server.script("GET", "/sms/history", envelope(None, status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
                  envelope({"total": 0, "data": []}))

    await client.history()

    assert len(clock.sleeps) == 1
    assert 0 < clock.sleeps[0] <= 31


async def test_rate_limit_error_carries_retry_after(server, clock):
    server.script("GET", "/sms/history", envelope(None, status=429, headers={"Retry-After": "5"}))

    async with make_client(server.base_url, clock, max_retries=0) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.history()

    assert caught.value.retry_after == 5.0


async def test_put_retries_dropped_connection(server, client, clock):
    async def drop(request, body):
        request.transport.close()
        return web.Response()

    # aiohttp itself repeats an idempotent request once after a dropped
    # connection, so three drops make sure the client's own retry runs too.
    server.script("PUT", "/sms/cancel-all", drop, drop, drop, envelope({"count": 2}))

    count = await client.cancel_all()

    assert count == 2
    assert len(server.requests) == 4
    assert clock.sleeps


async def test_price_retried(server, client, clock):
    server.script("POST", "/sms/price", envelope(None, status=503), envelope(send_data(
        {"to": "+61491570156", "status": "SUCCESS", "message_price": "0.0792", "date": ""})))

    quote = await client.price([SmsMessage(to="+61491570156", body="hi")])

    assert quote.total_price == Decimal("0.0792")
    assert len(server.requests) == 2


async def test_create_template_not_retried(server, client, clock):
    server.script("POST", "/sms/templates", envelope(None, status=503))

    with pytest.raises(ServerError):
        await client.create_template("a", "b")

    assert len(server.requests) == 1
    assert clock.sleeps == []


async def test_client_error_not_retried(server, client, clock):
    server.script("GET", "/sms/templates/9", envelope(None, status=404, response_code="NOT_FOUND"))

    with pytest.raises(NotFoundError):
        await client.get_template(9)

    assert len(server.requests) == 1


# --- sends are never retried blindly -----------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_send_server_error_outcome_unknown(server, client, clock, status):
    server.script("POST", "/sms/send", envelope(None, status=status))

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send([SmsMessage(to="+61491570156", body="hi", custom_string="ticket-42"),
                           SmsMessage(to="+61491570157", body="hi", custom_string="ticket-43")])

    assert caught.value.custom_strings == ["ticket-42", "ticket-43"]
    assert isinstance(caught.value.__cause__, ServerError)
    assert len(server.requests) == 1
    assert clock.sleeps == []


async def test_send_dropped_connection_outcome_unknown(server, client):
    async def drop(request, body):
        request.transport.close()
        return web.Response()

    server.script("POST", "/sms/send", drop)

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send_sms(to="+61491570156", body="hi", custom_string="ticket-42")

    assert caught.value.custom_strings == ["ticket-42"]
    assert len(server.requests) == 1


async def test_send_timeout_outcome_unknown(server, clock):
    async def hang(request, body):
        await server.release.wait()
        return envelope_response(None)

    server.script("POST", "/sms/send", hang)

    async with make_client(server.base_url, clock, timeout=0.2) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.send_sms(to="+61491570156", body="hi", custom_string="ticket-42")

    assert isinstance(caught.value.__cause__, RequestTimeout)
    assert len(server.requests) == 1


async def test_send_unreadable_success_outcome_unknown(server, client):
    server.script("POST", "/sms/send", raw(200, "queued"))

    with pytest.raises(OutcomeUnknownError):
        await client.send_sms(to="+61491570156", body="hi", custom_string="ticket-42")


async def test_send_unparsable_data_outcome_unknown(server, client):
    server.script("POST", "/sms/send", envelope({"messages": "queued"}))

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send_sms(to="+61491570156", body="hi", custom_string="ticket-42")

    assert isinstance(caught.value.__cause__, ResponseValidationError)


async def test_unparsable_data_raises_validation_error(server, client):
    server.script("GET", "/sms/templates", envelope({"data": "none"}))

    with pytest.raises(ResponseValidationError, match="Page"):
        await client.list_templates()


async def test_send_rate_limited_not_retried(server, client, clock):
    server.script("POST", "/sms/send", envelope(None, status=429, headers={"Retry-After": "3"}))

    with pytest.raises(RateLimitError):
        await client.send_sms(to="+61491570156", body="hi")

    assert len(server.requests) == 1
    assert clock.sleeps == []


async def test_send_auth_error_raised(server, client):
    server.script("POST", "/sms/send", envelope(None, status=401, response_code="UNAUTHORIZED"))

    with pytest.raises(AuthenticationError):
        await client.send_sms(to="+61491570156", body="hi")


async def test_send_refused_connection_retried(clock):
    port = closed_port()
    scripted = ScriptedServer()
    scripted.script("POST", "/sms/send", envelope(send_data({"to": "+61491570156", "status": "SUCCESS"})))
    runners = []

    async def sleep_then_start(seconds):
        # The server comes up while the client waits, so the retry connects.
        await clock.sleep(seconds)
        if not runners:
            runners.append((await start_server(scripted.handle, port=port))[0])

    client = ClickSendClient(username="demo-user", api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v3",
                             sleep=sleep_then_start, clock=clock, jitter=lambda: 0.0)
    try:
        async with client:
            response = await client.send_sms(to="+61491570156", body="hi")
    finally:
        for runner in runners:
            await runner.cleanup()

    assert response.messages[0].accepted
    assert len(scripted.requests) == 1
    assert clock.sleeps == [0.5]


async def test_send_refused_connection_gives_up(clock):
    async with make_client(f"http://127.0.0.1:{closed_port()}/v3", clock, max_retries=2) as client:
        with pytest.raises(ConnectError) as caught:
            await client.send_sms(to="+61491570156", body="hi")

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert not caught.value.request_sent
    assert clock.sleeps == [0.5, 1.0]


# --- send: request shape and batching ------------------------------------------------


# The custom_string field goes out under its snake_case name.
async def test_send_sms_wire_body(server, client):
    server.script("POST", "/sms/send", echo_send())

    await client.send_sms(to="+61491570156", body="Your booking", custom_string="ticket-42")

    message = server.requests[0].body["messages"][0]
    assert set(message) == {"to", "body", "custom_string", "source"}
    assert message["custom_string"] == "ticket-42"
    assert server.requests[0].headers["Content-Type"].startswith("application/json")


# A list of senders never reaches the network.
async def test_send_sms_sender_list_rejected(server, client):
    with pytest.raises(TypeError, match="sender must be one string"):
        await client.send_sms(to="+61491570156", body="hi", sender=["+61491570157", "ACME"])

    assert server.requests == []


# The schedule is integer Unix seconds; a naive time needs a zone.
async def test_send_sms_schedule_epoch(server, client):
    server.script("POST", "/sms/send", echo_send())

    await client.send_sms(to="+61491570156", body="hi", schedule=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    await client.send_sms(to="+61491570156", body="hi", schedule=datetime(2026, 1, 1, 11, 0),
                          timezone=ZoneInfo("Australia/Melbourne"))

    assert [request.body["messages"][0]["schedule"] for request in server.requests] == [1767225600, 1767225600]


async def test_send_sms_naive_schedule_rejected(server, client):
    with pytest.raises(ValueError, match="has no time zone"):
        await client.send_sms(to="+61491570156", body="hi", schedule=datetime(2026, 1, 1, 11, 0))

    assert server.requests == []


async def test_send_splits_into_batches(server, client):
    server.script("POST", "/sms/send", echo_send(price="0.0500"))
    messages = [SmsMessage(to=f"+614915{index:05d}", body="hi", custom_string=f"ref-{index}") for index in range(2500)]

    response = await client.send(messages)

    assert [len(request.body["messages"]) for request in server.requests] == [1000, 1000, 500]
    assert response.total_count == 2500
    assert response.queued_count == 2500
    assert response.total_price == Decimal("125.0000")
    assert [message.custom_string for message in response.messages] == [f"ref-{index}" for index in range(2500)]


async def test_send_batches_bounded_concurrency(server, clock):
    server.script("POST", "/sms/send", echo_send())
    messages = [SmsMessage(to="+61491570156", body="hi") for _ in range(5000)]

    async with make_client(server.base_url, clock, max_concurrent_batches=2) as client:
        await client.send(messages)

    assert len(server.requests) == 5
    assert server.max_in_flight == 2


async def test_send_partial_failure(server, client):
    async def reject_second_batch(request, body):
        if body["messages"][0]["custom_string"] == "ref-1000":
            return envelope_response(None, status=400, response_code="BAD_REQUEST")
        return await echo_send()(request, body)

    server.script("POST", "/sms/send", reject_second_batch)
    messages = [SmsMessage(to="+61491570156", body="hi", custom_string=f"ref-{index}") for index in range(2001)]

    with pytest.raises(PartialSendError) as caught:
        await client.send(messages)

    assert len(caught.value.response.messages) == 1001
    assert [type(error) for error in caught.value.errors] == [BadRequestError]


async def test_price_splits_and_merges(server, client):
    async def quote(request, body):
        results = [{"to": message["to"], "status": "SUCCESS", "message_price": "0.0792", "date": ""}
                   for message in body["messages"]]
        return envelope_response(send_data(*results, total_price=0.0792 * len(results)))

    server.script("POST", "/sms/price", quote)

    response = await client.price([SmsMessage(to="+61491570156", body="hi") for _ in range(1500)])

    assert [len(request.body["messages"]) for request in server.requests] == [1000, 500]
    assert len(response.messages) == 1500
    assert response.total_price == Decimal("0.0792") * 1500


async def test_price_batch_failure_raised(server, client):
    server.script("POST", "/sms/price", envelope(None, status=400, response_code="BAD_REQUEST"))

    with pytest.raises(BadRequestError):
        await client.price([SmsMessage(to="+61491570156", body="hi") for _ in range(1500)])


async def test_send_empty_rejected(client):
    with pytest.raises(ValueError, match="no messages"):
        await client.send([])


# --- rate limit --------------------------------------------------------------------


async def test_rate_limit_spaces_requests(server, clock):
    server.script("GET", "/sms/templates", envelope({"total": 0, "data": []}))

    async with make_client(server.base_url, clock, max_requests_per_second=2) as client:
        for _ in range(3):
            await client.list_templates()

    assert clock.sleeps == [0.5, 0.5]


async def test_rate_limit_none_by_default(server, client, clock):
    server.script("GET", "/sms/templates", envelope({"total": 0, "data": []}))

    for _ in range(3):
        await client.list_templates()

    assert clock.sleeps == []


# --- paging ------------------------------------------------------------------------


async def test_iter_receipts_walks_pages(server, client):
    async def page(request, body):
        number = int(request.query["page"])
        items = [{"message_id": f"R{number}-{index}", "status_code": "201"} for index in range(2)]
        return envelope_response({"total": 6, "per_page": 2, "current_page": number, "last_page": 3, "data": items})

    server.script("GET", "/sms/receipts", page)

    receipts = [receipt.message_id async for receipt in client.iter_receipts(limit=2)]

    assert receipts == ["R1-0", "R1-1", "R2-0", "R2-1", "R3-0", "R3-1"]
    assert [request.query["page"] for request in server.requests] == ["1", "2", "3"]
    assert {request.query["limit"] for request in server.requests} == {"2"}


async def test_iter_stops_on_empty_page(server, client):
    server.script("GET", "/sms/inbound", envelope({"total": 99, "current_page": 1, "last_page": 9, "data": []}))

    items = [item async for item in client.iter_inbound()]

    assert items == []
    assert len(server.requests) == 1


async def test_history_query_parameters(server, client):
    server.script("GET", "/sms/history", envelope({"total": 0, "data": []}))

    await client.history(q="to:+61491570156", order_by="date:desc", date_from=datetime(2026, 1, 1, tzinfo=UTC),
                         date_to=datetime(2026, 1, 2, tzinfo=UTC), page=2, limit=50)

    assert server.requests[0].query == {"q": "to:+61491570156", "order_by": "date:desc", "date_from": "1767225600",
                                        "date_to": "1767312000", "page": "2", "limit": "50"}


@pytest.mark.parametrize(("page", "limit"), [(0, 10), (1, 0), (1, 101)])
async def test_page_arguments_checked(server, client, page, limit):
    with pytest.raises(ValueError):
        await client.list_receipts(page=page, limit=limit)

    assert server.requests == []


async def test_path_ids_quoted(server, client):
    with pytest.raises(NotFoundError):
        await client.cancel("../send")

    assert server.requests[0].raw_path == "/v3/sms/..%2Fsend/cancel"


# --- every operation, answered with ClickSend's documented examples -----------------


def _documented_examples():
    if not OPENAPI_PATH.exists():
        return {}
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    examples = {}
    for methods in spec["paths"].values():
        for method, operation in methods.items():
            if method in {"get", "post", "put", "delete"}:
                ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                examples[operation["operationId"]] = schemas[ref.rsplit("/", 1)[-1]]["example"]
    return examples


EXAMPLES = _documented_examples()
SCHEDULE = datetime(2026, 1, 1, tzinfo=UTC)

# (operation id, method, path on the server, call, expected JSON body or None, check on the result)
OPERATIONS = [
    ("send-sms", "POST", "/sms/send", lambda c: c.send_sms(to="+61411111111", body="test message"),
     {"messages": [{"to": "+61411111111", "body": "test message", "source": "smsdesk"}]},
     lambda r: r.messages[0].message_id == "1ABC3200-C38C-6308-BE4B-C7C51D01DCF0"),
    ("calculate-sms-price", "POST", "/sms/price", lambda c: c.price([SmsMessage(to="+61411111111", body="string")]),
     {"messages": [{"to": "+61411111111", "body": "string", "source": "smsdesk"}]},
     lambda r: r.total_price == Decimal("0.079") and r.summary.countries[0].code == "AU"),
    ("view-sms-receipts", "GET", "/sms/receipts", lambda c: c.list_receipts(), None,
     lambda r: r.data[0].status_code == "201"),
    ("create-test-sms-receipt", "POST", "/sms/receipts", lambda c: c.test_receipt("https://example.com/dlr"),
     {"url": "https://example.com/dlr"}, lambda r: r.status_code == "201"),
    ("view-specific-sms-receipt", "GET", "/sms/receipts/D6D16B28", lambda c: c.get_receipt("D6D16B28"), None,
     lambda r: r.message_id == "D6D16B28-46AC-484A-AB0A-A08CD08EF75C"),
    ("mark-sms-receipt-as-read", "PUT", "/sms/receipts-read", lambda c: c.mark_receipts_read(SCHEDULE),
     {"date_before": 1767225600}, lambda r: r is None),
    ("view-inbound-sms", "GET", "/sms/inbound", lambda c: c.list_inbound(), None,
     lambda r: r.data[0].from_ == "+61123456789"),
    ("create-test-inbound-sms", "POST", "/sms/inbound", lambda c: c.test_inbound("https://example.com/in", "json"),
     {"url": "https://example.com/in", "webhook_type": "json"}, lambda r: r.to == "+61411111111"),
    ("view-a-specific-inbound-sms-message", "GET", "/sms/inbound/1EF54878", lambda c: c.get_inbound("1EF54878"),
     None, lambda r: r.body == "test"),
    ("mark-inbound-sms-as-read", "PUT", "/sms/inbound-read", lambda c: c.mark_inbound_read(), {},
     lambda r: r is None),
    ("mark-specific-inbound-sms-message-as-read", "PUT", "/sms/inbound-read/F892B812",
     lambda c: c.mark_inbound_message_read("F892B812"), None, lambda r: r == 1),
    ("cancel-sms", "PUT", "/sms/1EF54878/cancel", lambda c: c.cancel("1EF54878"), None, lambda r: r is None),
    ("cancel-all-sms", "PUT", "/sms/cancel-all", lambda c: c.cancel_all("ticket-42"),
     {"custom_string": "ticket-42"}, lambda r: r == 2),
    ("view-sms-templates", "GET", "/sms/templates", lambda c: c.list_templates(), None,
     lambda r: r.data[0].template_id == 587713),
    ("create-sms-template", "POST", "/sms/templates", lambda c: c.create_template("TTemplate 501916", "body"),
     {"template_name": "TTemplate 501916", "body": "body"}, lambda r: r.template_id == 589242),
    ("delete-sms-template", "DELETE", "/sms/templates/589242", lambda c: c.delete_template(589242), None,
     lambda r: r is None),
    ("view-a-specific-sms-template", "GET", "/sms/templates/587713", lambda c: c.get_template(587713), None,
     lambda r: r.template_name == "Template 501916"),
    ("update-sms-template", "PUT", "/sms/templates/587916",
     lambda c: c.update_template(587916, "Template XYZ", "This is a new update template"),
     {"template_name": "Template XYZ", "body": "This is a new update template"},
     lambda r: r.template_id == 587916),
    ("view-sms-history", "GET", "/sms/history", lambda c: c.history(q="status:Sent"), None,
     lambda r: r.data[0].message_price == Decimal("0.0792")),
    ("export-sms-history", "GET", "/sms/history/export", lambda c: c.export_history("SMS_history.csv"), None,
     lambda r: r.startswith("https://")),
]


def test_operations_table_covers_spec():
    if not EXAMPLES:
        pytest.skip(f"ClickSend OpenAPI description not found at {OPENAPI_PATH}")

    assert {operation[0] for operation in OPERATIONS} == set(EXAMPLES)


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "call", "expected_body", "check"),
    OPERATIONS,
    ids=[operation[0] for operation in OPERATIONS],
)
async def test_operation_with_documented_response(server, client, operation_id, method, path, call,
                                                  expected_body, check):
    if operation_id not in EXAMPLES:
        pytest.skip(f"ClickSend OpenAPI description not found at {OPENAPI_PATH}")
    example = EXAMPLES[operation_id]
    server.script(method, path, raw(200, payload=example))

    result = await call(client)

    assert len(server.requests) == 1
    if expected_body is not None:
        assert server.requests[0].body == expected_body
    assert check(result)
