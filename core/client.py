"""Async client for ClickSend's REST v3 SMS API.

One `ClickSendClient` owns one `aiohttp.ClientSession` with HTTP Basic auth
(API username and API key). Every request goes through `_request`, which
applies the client-side rate limit, maps HTTP errors to `core.errors` classes
in one place and retries what is safe to retry:

- GET, PUT and DELETE, and ``POST /sms/price``, retry on connection errors,
  timeouts, 429 and 5xx with exponential backoff and jitter, honouring
  ``Retry-After`` (or ``ratelimit-reset``) up to a cap.
- ``POST /sms/send`` retries only when no connection was established, because
  ClickSend has no idempotency key and a retried send can go out twice. Any
  failure after the request may have left raises `OutcomeUnknownError` with
  the messages' ``custom_string`` values, so the caller can look them up in
  the history instead of sending again.

Log lines go to ``logging.getLogger(__name__)``: one INFO line per exchange
(method, path, status, duration). They never contain the API key, the
Authorization header or query strings, and phone numbers are masked.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, SecretStr, ValidationError

from core.errors import (
    ClickSendError,
    ConnectError,
    OutcomeUnknownError,
    PartialSendError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    ServerError,
    TransportError,
    make_api_error,
)
from core.models import (
    Account,
    CancelAllRequest,
    CancelAllResult,
    Envelope,
    ExportResult,
    HistoryMessage,
    HistoryQuery,
    InboundMessage,
    MarkReadRequest,
    Page,
    PriceResponse,
    Receipt,
    SendRequest,
    SendResponse,
    SmsMessage,
    Template,
    TemplateRequest,
    TestInboundRequest,
    TestReceiptRequest,
    localize,
)
from core.numbers import mask_number

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://rest.clicksend.com/v3"
DEFAULT_TIMEOUT = 30.0
"""Seconds for a whole exchange, connecting included."""
CONNECT_TIMEOUT = 10.0
"""Seconds to establish a connection; a stall here means nothing was sent."""
USER_AGENT = "smsdesk"

MAX_MESSAGES_PER_REQUEST = 1000
"""ClickSend accepts up to 1000 messages in one send or price request."""
MAX_CONCURRENT_BATCHES = 4
"""Batches of a large send in flight at once. On a 2-core machine over loopback
(aiohttp 3.14), 4 at a time sent 10,000 messages about 30 % faster than 1 at a time.
More than 8 at a time bought little."""
MAX_PAGE_SIZE = 100
"""ClickSend's largest ``limit`` for list endpoints."""

DEFAULT_MAX_RETRIES = 3
INITIAL_RETRY_DELAY = 0.5
"""Seconds before the first retry; doubled for each further retry."""
MAX_RETRY_DELAY = 8.0
"""Cap on the computed backoff in seconds."""
MAX_RETRY_AFTER = 60.0
"""Cap in seconds on a server-requested wait (Retry-After or ratelimit-reset)."""
RETRY_JITTER = 0.25
"""Fraction of the backoff removed at random, so clients do not retry in step."""

# Requests that change nothing or set a state, so repeating them is harmless.
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})

ModelT = TypeVar("ModelT", bound=BaseModel)
BatchT = TypeVar("BatchT", bound=SendResponse)
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class ClickSendClient:
    """Async client for the 20 SMS operations of ClickSend's REST v3 API.

    Use it as an async context manager, or call `aclose` when done::

        async with ClickSendClient(username="demo-user", api_key="demo-key") as client:
            result = await client.send_sms(to="+61491570156", body="Your booking")

    `sleep` and `clock` are injectable so that tests can run retries and the
    rate limit under a controlled clock.
    """

    def __init__(
        self,
        *,
        username: str,
        api_key: str | SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_requests_per_second: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrent_batches: int = MAX_CONCURRENT_BATCHES,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not username:
            raise ValueError("ClickSend API username is empty; set CLICKSEND_USERNAME or pass username=")
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not key.get_secret_value():
            raise ValueError("ClickSend API key is empty; set CLICKSEND_API_KEY or pass api_key=")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {base_url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_requests_per_second is not None and max_requests_per_second <= 0:
            raise ValueError(
                f"max_requests_per_second must be positive or None for no limit, got {max_requests_per_second!r}"
            )
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries!r}")
        if max_concurrent_batches < 1:
            raise ValueError(f"max_concurrent_batches must be 1 or more, got {max_concurrent_batches!r}")

        self.username = username
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = key
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._batch_slots = asyncio.Semaphore(max_concurrent_batches)
        self._rate_limiter = (
            _RateLimiter(max_requests_per_second, clock=clock, sleep=sleep) if max_requests_per_second else None
        )
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"ClickSendClient(username={self.username!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> ClickSendClient:
        self._ensure_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session. The client cannot be used afterwards."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    @property
    def closed(self) -> bool:
        """True after `aclose`."""
        return self._closed

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None and not session.closed:
            warnings.warn(f"{self!r} was not closed; call aclose() or use 'async with'", ResourceWarning, source=self)

    # --- send and price ------------------------------------------------------

    async def send(self, messages: Sequence[SmsMessage]) -> SendResponse:
        """Send messages, in requests of at most 1000, and return every per-message result.

        A message that ClickSend rejects is a result with a non-SUCCESS status,
        not an exception. Raises `OutcomeUnknownError` when a request may have
        reached ClickSend without a readable response, and `PartialSendError`
        when some batches of a large send failed and others were sent.
        """
        return await self._send_batches(messages)

    async def send_sms(
        self,
        *,
        to: str | Sequence[str],
        body: str,
        sender: str | None = None,
        schedule: datetime | None = None,
        custom_string: str | None = None,
        timezone: tzinfo | None = None,
    ) -> SendResponse:
        """Send one text to one or more recipients.

        `schedule` must be an aware datetime, or a naive one together with
        `timezone`, which is then read as local time in that zone.
        """
        messages = _build_messages(
            to=to, body=body, sender=sender, schedule=schedule, custom_string=custom_string, timezone=timezone
        )
        return await self.send(messages)

    async def price(self, messages: Sequence[SmsMessage]) -> PriceResponse:
        """Quote the price of messages without sending them."""
        return await self._price_batches(messages)

    # --- delivery receipts ---------------------------------------------------

    async def list_receipts(self, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[Receipt]:
        """Return one page of unread delivery receipts."""
        envelope = await self._request("GET", "/sms/receipts", params=_page_params(page, limit))
        return _parse(Page[Receipt], envelope)

    def iter_receipts(self, *, limit: int = MAX_PAGE_SIZE) -> AsyncIterator[Receipt]:
        """Yield unread delivery receipts from every page."""
        return _iterate_pages(lambda page: self.list_receipts(page, limit))

    async def get_receipt(self, message_id: str) -> Receipt:
        """Return the receipt of one outbound message, read or not."""
        envelope = await self._request("GET", f"/sms/receipts/{_path_id(message_id)}")
        return _parse(Receipt, envelope)

    async def test_receipt(self, url: str) -> Receipt:
        """Ask ClickSend to push a test delivery receipt to `url` (or ``poll``)."""
        body = TestReceiptRequest(url=url).to_wire()
        envelope = await self._request("POST", "/sms/receipts", json=body)
        return _parse(Receipt, envelope)

    async def mark_receipts_read(self, date_before: datetime | None = None) -> None:
        """Mark delivery receipts read, all of them or those before an aware time."""
        body = MarkReadRequest(date_before=date_before).to_wire()
        await self._request("PUT", "/sms/receipts-read", json=body)

    # --- inbound messages ----------------------------------------------------

    async def list_inbound(self, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[InboundMessage]:
        """Return one page of unread inbound messages."""
        envelope = await self._request("GET", "/sms/inbound", params=_page_params(page, limit))
        return _parse(Page[InboundMessage], envelope)

    def iter_inbound(self, *, limit: int = MAX_PAGE_SIZE) -> AsyncIterator[InboundMessage]:
        """Yield unread inbound messages from every page."""
        return _iterate_pages(lambda page: self.list_inbound(page, limit))

    async def get_inbound(self, original_message_id: str) -> InboundMessage:
        """Return the first reply to one of our outbound messages, read or not."""
        envelope = await self._request("GET", f"/sms/inbound/{_path_id(original_message_id)}")
        return _parse(InboundMessage, envelope)

    async def test_inbound(self, url: str, webhook_type: str | None = None) -> InboundMessage:
        """Ask ClickSend to push a test inbound message to `url` as ``post``, ``get`` or ``json``."""
        body = TestInboundRequest(url=url, webhook_type=webhook_type).to_wire()
        envelope = await self._request("POST", "/sms/inbound", json=body)
        return _parse(InboundMessage, envelope)

    async def mark_inbound_read(self, date_before: datetime | None = None) -> None:
        """Mark inbound messages read, all of them or those before an aware time."""
        body = MarkReadRequest(date_before=date_before).to_wire()
        await self._request("PUT", "/sms/inbound-read", json=body)

    async def mark_inbound_message_read(self, message_id: str) -> int:
        """Mark one inbound message read and return how many copies were marked."""
        envelope = await self._request("PUT", f"/sms/inbound-read/{_path_id(message_id)}")
        # ClickSend returns the count as `data`; several POLL rules make several copies.
        try:
            return int(envelope.data)
        except (TypeError, ValueError):
            return 0

    # --- cancel --------------------------------------------------------------

    async def cancel(self, message_id: str) -> None:
        """Cancel one scheduled message; raises NotFoundError when it is not scheduled."""
        await self._request("PUT", f"/sms/{_path_id(message_id)}/cancel")

    async def cancel_all(self, custom_string: str | None = None) -> int:
        """Cancel every scheduled message, or those with `custom_string`, and return the count."""
        body = CancelAllRequest(custom_string=custom_string).to_wire()
        envelope = await self._request("PUT", "/sms/cancel-all", json=body)
        return _parse(CancelAllResult, envelope).count or 0

    # --- templates -----------------------------------------------------------

    async def list_templates(self, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[Template]:
        """Return one page of templates."""
        envelope = await self._request("GET", "/sms/templates", params=_page_params(page, limit))
        return _parse(Page[Template], envelope)

    def iter_templates(self, *, limit: int = MAX_PAGE_SIZE) -> AsyncIterator[Template]:
        """Yield the templates from every page."""
        return _iterate_pages(lambda page: self.list_templates(page, limit))

    async def create_template(self, name: str, body: str) -> Template:
        """Store a new template and return it with its id."""
        request = TemplateRequest(template_name=name, body=body).to_wire()
        envelope = await self._request("POST", "/sms/templates", json=request)
        return _parse(Template, envelope)

    async def get_template(self, template_id: int) -> Template:
        """Return one template."""
        envelope = await self._request("GET", f"/sms/templates/{_path_id(template_id)}")
        return _parse(Template, envelope)

    async def update_template(self, template_id: int, name: str, body: str) -> Template:
        """Replace a template's name and body."""
        request = TemplateRequest(template_name=name, body=body).to_wire()
        envelope = await self._request("PUT", f"/sms/templates/{_path_id(template_id)}", json=request)
        return _parse(Template, envelope)

    async def delete_template(self, template_id: int) -> None:
        """Delete a template."""
        await self._request("DELETE", f"/sms/templates/{_path_id(template_id)}")

    # --- history and account -------------------------------------------------

    async def history(
        self,
        *,
        q: str | None = None,
        order_by: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        page: int = 1,
        limit: int = MAX_PAGE_SIZE,
    ) -> Page[HistoryMessage]:
        """Return one page of the message history, filtered by `q` (``field:value``) and aware times."""
        _check_page(page, limit)
        query = HistoryQuery(q=q, order_by=order_by, date_from=date_from, date_to=date_to, page=page, limit=limit)
        envelope = await self._request("GET", "/sms/history", params=query.to_params())
        return _parse(Page[HistoryMessage], envelope)

    async def history_rows(
        self,
        *,
        q: str | None = None,
        order_by: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        page: int = 1,
        limit: int = MAX_PAGE_SIZE,
    ) -> Page[Any]:
        """Return one page of the message history like `history`, with each row left as decoded JSON.

        For callers that read many rows with `core.models.read_history_row`, which is
        faster than validating every row as a HistoryMessage.
        """
        _check_page(page, limit)
        query = HistoryQuery(q=q, order_by=order_by, date_from=date_from, date_to=date_to, page=page, limit=limit)
        envelope = await self._request("GET", "/sms/history", params=query.to_params())
        return _parse(Page[Any], envelope)

    def iter_history(
        self,
        *,
        q: str | None = None,
        order_by: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[HistoryMessage]:
        """Yield history rows from every page."""
        return _iterate_pages(
            lambda page: self.history(
                q=q, order_by=order_by, date_from=date_from, date_to=date_to, page=page, limit=limit
            )
        )

    async def export_history(
        self,
        filename: str = "export.csv",
        *,
        q: str | None = None,
        order_by: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
    ) -> str:
        """Ask ClickSend for a CSV export of the history and return its download URL."""
        query = HistoryQuery(filename=filename, q=q, order_by=order_by, date_from=date_from, date_to=date_to)
        envelope = await self._request("GET", "/sms/history/export", params=query.to_params())
        return _parse(ExportResult, envelope).url

    async def get_account(self) -> Account:
        """Return the account, with its balance as Decimal."""
        envelope = await self._request("GET", "/account")
        return _parse(Account, envelope)

    # --- batching ------------------------------------------------------------

    async def _send_batches(self, messages: Sequence[SmsMessage]) -> SendResponse:
        batches = _split_batches(messages)
        if len(batches) == 1:
            return await self._send_batch(batches[0])

        results = await self._run_batches(self._send_batch, batches)
        responses = [result for result in results if isinstance(result, SendResponse)]
        errors = [result for result in results if isinstance(result, ClickSendError)]
        merged = _merge_responses(SendResponse, responses)
        if errors:
            raise PartialSendError(
                f"{len(errors)} of {len(batches)} send requests failed and {len(responses)} succeeded; "
                "record the returned results and check the errors",
                response=merged,
                errors=errors,
            )
        return merged

    async def _price_batches(self, messages: Sequence[SmsMessage]) -> PriceResponse:
        batches = _split_batches(messages)
        if len(batches) == 1:
            return await self._price_batch(batches[0])

        results = await self._run_batches(self._price_batch, batches)
        for result in results:
            if isinstance(result, ClickSendError):
                raise result
        return _merge_responses(PriceResponse, results)

    async def _run_batches(
        self, run: Callable[[list[SmsMessage]], Awaitable[BatchT]], batches: list[list[SmsMessage]]
    ) -> list[BatchT | ClickSendError]:
        """Run `run` on every batch, a few at a time, and return results or errors in batch order."""

        async def run_limited(batch: list[SmsMessage]) -> BatchT:
            async with self._batch_slots:
                return await run(batch)

        results = await asyncio.gather(*(run_limited(batch) for batch in batches), return_exceptions=True)
        outcomes: list[BatchT | ClickSendError] = []
        for result in results:
            # Anything but a ClickSendError is a bug or a cancellation, so it propagates.
            if isinstance(result, BaseException) and not isinstance(result, ClickSendError):
                raise result
            outcomes.append(result)
        return outcomes

    async def _send_batch(self, batch: list[SmsMessage]) -> SendResponse:
        body = SendRequest(messages=batch).to_wire()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("ClickSend send to %s", ", ".join(mask_number(message.to) for message in batch))

        try:
            envelope = await self._request("POST", "/sms/send", json=body, idempotent=False)
            return _parse(SendResponse, envelope)
        except ClickSendError as error:
            if not _send_outcome_unknown(error):
                raise
            logger.warning("ClickSend send of %d messages has an unknown outcome: %s", len(batch), error)
            raise OutcomeUnknownError(
                f"sending {len(batch)} messages failed after the request may have reached ClickSend "
                f"({error}); look them up in the history by custom_string before sending again",
                custom_strings=[message.custom_string or "" for message in batch],
            ) from error

    async def _price_batch(self, batch: list[SmsMessage]) -> PriceResponse:
        body = SendRequest(messages=batch).to_wire()
        # A price quote sends nothing, so repeating it is harmless.
        envelope = await self._request("POST", "/sms/price", json=body, idempotent=True)
        return _parse(PriceResponse, envelope)

    # --- one request ---------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Envelope:
        """Send one request, retrying what is safe to retry, and return the envelope."""
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                return await self._request_once(method, path, json=json, params=params)
            except ClickSendError as error:
                reason = _retry_reason(error, idempotent=idempotent)
                if reason is None or attempt >= self.max_retries:
                    raise
                delay = self._retry_delay(attempt, error)
                attempt += 1
                logger.warning(
                    "Retrying ClickSend %s %s in %.2f s (retry %s of %s): %s",
                    method, path, delay, attempt, self.max_retries, reason,
                )
                await self._sleep(delay)

    async def _request_once(
        self, method: str, path: str, *, json: Any, params: dict[str, str] | None
    ) -> Envelope:
        session = self._get_session()
        if self._rate_limiter is not None:
            await self._rate_limiter.acquire()

        started = self._clock()
        try:
            async with session.request(method, self.base_url + path, json=json, params=params) as response:
                status = response.status
                headers = response.headers
                text = await response.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            elapsed_ms = (self._clock() - started) * 1000
            logger.warning("ClickSend %s %s failed after %.0f ms: %s", method, path, elapsed_ms, type(error).__name__)
            raise _transport_error(method, path, error) from error

        elapsed_ms = (self._clock() - started) * 1000
        logger.info("ClickSend %s %s %s in %.0f ms", method, path, status, elapsed_ms)
        return _read_envelope(method, path, status, headers, text)

    def _get_session(self) -> aiohttp.ClientSession:
        self._ensure_open()
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(CONNECT_TIMEOUT, self.timeout)),
                headers={
                    "Accept": "application/json",
                    "Authorization": _basic_auth(self.username, self._api_key),
                    "User-Agent": USER_AGENT,
                },
            )
        return self._session

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ClickSendClient is closed; create a new one")

    def _retry_delay(self, attempt: int, error: ClickSendError) -> float:
        """Return seconds to wait before retry number `attempt` + 1."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER)
        backoff = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        return backoff * (1 - RETRY_JITTER * self._jitter())


def _basic_auth(username: str, api_key: SecretStr) -> str:
    credentials = f"{username}:{api_key.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def _retry_reason(error: ClickSendError, *, idempotent: bool) -> str | None:
    """Return why `error` is worth a retry, or None when it is not."""
    if isinstance(error, ConnectError) and not error.request_sent:
        # No connection was established, so not even a send can have been applied.
        return "could not connect"
    if not idempotent:
        # The request may have been applied; repeating it could apply it twice.
        return None
    if isinstance(error, TransportError):
        # The connection dropped or timed out; a repeat is harmless for this method.
        return "connection failed or timed out"
    if isinstance(error, RateLimitError):
        # ClickSend asked us to slow down; waiting lets the limit reset.
        return "rate limited (HTTP 429)"
    if isinstance(error, ServerError):
        # 5xx is usually a passing fault on ClickSend's side.
        return f"server error (HTTP {error.http_code})"
    # Other 4xx will fail the same way again.
    return None


def _send_outcome_unknown(error: ClickSendError) -> bool:
    """Return True when a failed send may still have been applied by ClickSend."""
    if isinstance(error, ConnectError) and not error.request_sent:
        return False
    # A 2xx whose body cannot be read means ClickSend probably accepted the request.
    return isinstance(error, TransportError | ServerError | ResponseValidationError)


def _transport_error(method: str, path: str, error: Exception) -> TransportError:
    """Wrap an aiohttp error; the caller raises it `from` the original."""
    where = f"ClickSend {method} {path}"
    if isinstance(error, aiohttp.ClientConnectorError):
        return ConnectError(f"{where}: could not connect ({error.os_error or error}); check the base URL and network",
                            request_sent=False)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return ConnectError(f"{where}: timed out connecting; check the base URL and network", request_sent=False)
    if isinstance(error, asyncio.TimeoutError):
        return RequestTimeout(f"{where}: timed out waiting for the response")
    return ConnectError(f"{where}: connection failed ({type(error).__name__}: {error})", request_sent=True)


def _read_envelope(method: str, path: str, status: int, headers: Any, text: str) -> Envelope:
    """Parse a response body, raising the matching APIError for an error status."""
    try:
        envelope: Envelope | None = Envelope.model_validate_json(text)
    except ValidationError:
        envelope = None

    if status >= 400:
        raise make_api_error(
            method=method,
            path=path,
            http_code=status,
            response_code=envelope.response_code if envelope else None,
            response_msg=envelope.response_msg if envelope else None,
            data=envelope.data if envelope else None,
            retry_after=_retry_after_seconds(headers),
        )
    if envelope is None:
        raise ResponseValidationError(
            f"ClickSend {method} {path} returned HTTP {status} with a body that is not a JSON envelope",
            http_code=status,
        )
    return envelope


def _retry_after_seconds(headers: Any) -> float | None:
    """Read the wait in seconds from Retry-After (seconds or HTTP date) or ratelimit-reset."""
    for name in ("Retry-After", "ratelimit-reset"):
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return None


def _parse(model: type[ModelT], envelope: Envelope) -> ModelT:
    try:
        return model.model_validate(envelope.data)
    except ValidationError as error:
        raise ResponseValidationError(
            f"ClickSend returned data that does not fit {model.__name__}: {error}",
            http_code=envelope.http_code or 200,
            response_code=envelope.response_code,
            response_msg=envelope.response_msg,
        ) from error


def _split_batches(messages: Sequence[SmsMessage]) -> list[list[SmsMessage]]:
    if not messages:
        raise ValueError("no messages to send; pass at least one SmsMessage")
    return [
        list(messages[start : start + MAX_MESSAGES_PER_REQUEST])
        for start in range(0, len(messages), MAX_MESSAGES_PER_REQUEST)
    ]


def _merge_responses(model: type[BatchT], responses: Sequence[BatchT]) -> BatchT:
    """Merge the responses of several batches into one, in batch order."""
    merged: dict[str, Any] = {
        "total_price": sum((response.total_price for response in responses), start=0),
        "total_count": sum(response.total_count or 0 for response in responses),
        "queued_count": sum(response.queued_count or 0 for response in responses),
        "blocked_count": sum(response.blocked_count or 0 for response in responses),
        "messages": [message for response in responses for message in response.messages],
        "currency": next((response.currency for response in responses if response.currency), None),
    }
    summaries = [response.summary for response in responses if isinstance(response, PriceResponse) and response.summary]
    if summaries:
        merged["summary"] = summaries[0]
    return model.model_validate(merged)


async def _iterate_pages(fetch: Callable[[int], Awaitable[Page[Any]]]) -> AsyncIterator[Any]:
    page_number = 1
    while True:
        page = await fetch(page_number)
        for item in page.data:
            yield item
        # An empty page ends the walk even if last_page claims more, so a
        # miscounting server cannot make this loop forever.
        if not page.has_next or not page.data:
            return
        page_number += 1


def _build_messages(
    *,
    to: str | Sequence[str],
    body: str,
    sender: Any,
    schedule: datetime | None,
    custom_string: str | None,
    timezone: tzinfo | None,
) -> list[SmsMessage]:
    # ClickSend returns HTTP 500 for a list in `from`, so reject it before any request.
    if sender is not None and not isinstance(sender, str):
        raise TypeError(
            f"sender must be one string, got {type(sender).__name__} {sender!r}; pass a single sender ID or number"
        )
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("no recipients; pass at least one number in to=")
    if schedule is not None:
        schedule = localize(schedule, timezone)
    return [
        SmsMessage(to=recipient, body=body, from_=sender, schedule=schedule, custom_string=custom_string)
        for recipient in recipients
    ]


def _page_params(page: int, limit: int) -> dict[str, str]:
    _check_page(page, limit)
    return {"page": str(page), "limit": str(limit)}


def _check_page(page: int, limit: int) -> None:
    if page < 1:
        raise ValueError(f"page must be 1 or more, got {page!r}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit!r}")


def _path_id(value: str | int) -> str:
    """Quote an id for use as one path segment, so it cannot change the path."""
    text = str(value)
    if not text:
        raise ValueError("id is empty; pass the ClickSend id of the message or template")
    return quote(text, safe="")


class _RateLimiter:
    """Space requests at least 1/rate seconds apart, in arrival order."""

    def __init__(self, rate: float, *, clock: Clock, sleep: Sleep) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_start = float("-inf")
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            wait = self._next_start - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._next_start = max(self._clock(), self._next_start) + self._interval
