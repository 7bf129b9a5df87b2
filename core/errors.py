"""Errors raised by the ClickSend client.

The hierarchy::

    ClickSendError
    ├── PartialSendError            some batches of a large send failed, others were sent
    ├── TransportError              no usable response arrived
    │   ├── ConnectError            the connection failed (refused, DNS, TLS, reset)
    │   ├── RequestTimeout          no complete response within the timeout
    │   └── OutcomeUnknownError     a send may or may not have reached ClickSend
    └── APIError                    ClickSend returned an error status or an unreadable body
        ├── BadRequestError         400
        ├── AuthenticationError     401
        ├── PermissionDeniedError   403
        ├── NotFoundError           404
        ├── RateLimitError          429, carries retry_after
        ├── ServerError             5xx
        └── ResponseValidationError 2xx with a body that does not parse

A message that ClickSend rejects inside a successful send (``INVALID_RECIPIENT``,
``COUNTRY_NOT_ENABLED``, an empty ``message_id``) is not an error: it is the
``status`` of that message in the send result.

Messages name what failed and what to do next. They never contain the API key
or the Authorization header, because the client never passes either to them.
"""

from __future__ import annotations

from typing import Any


class ClickSendError(Exception):
    """Base class of every error the ClickSend client raises."""


class PartialSendError(ClickSendError):
    """A send of more than one batch where some batches failed and others were sent.

    Record the messages in `response` as sent. Each failed batch is one entry
    of `errors`; an `OutcomeUnknownError` among them lists the custom strings
    to look up in the history.
    """

    def __init__(self, message: str, *, response: Any, errors: list[ClickSendError]) -> None:
        super().__init__(message)
        self.response = response
        """A `SendResponse` merged from the batches that succeeded."""
        self.errors = errors
        """One error per failed batch, in batch order."""


class TransportError(ClickSendError):
    """No usable response arrived from ClickSend."""


class ConnectError(TransportError):
    """The connection to ClickSend failed before a response arrived."""

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent
        """False when no connection was established (refused, DNS, TLS, connect
        timeout), so the request provably never left this machine."""


class RequestTimeout(TransportError):
    """ClickSend did not send a complete response within the timeout."""


class OutcomeUnknownError(TransportError):
    """A send failed after its request may have reached ClickSend.

    ClickSend has no idempotency key, so the client does not retry: a retry
    could send the messages twice. Look the messages up in the history by their
    ``custom_string`` values to learn whether they were sent.
    """

    def __init__(self, message: str, *, custom_strings: list[str]) -> None:
        super().__init__(message)
        self.custom_strings = custom_strings
        """The ``custom_string`` of every message in the failed request, in request order."""


class APIError(ClickSendError):
    """ClickSend returned an HTTP error status, or a success status with an unreadable body."""

    def __init__(
        self,
        message: str,
        *,
        http_code: int,
        response_code: str | None = None,
        response_msg: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.http_code = http_code
        """HTTP status of the response."""
        self.response_code = response_code
        """ClickSend's code, e.g. ``"UNAUTHORIZED"``; some 400s send an integer, kept as text."""
        self.response_msg = response_msg
        """ClickSend's free text; its wording changes between versions, so do not match on it."""
        self.data = data
        """The envelope's ``data``: usually None, a field-to-message map on some 400s."""


class BadRequestError(APIError):
    """ClickSend rejected the request as invalid (HTTP 400)."""


class AuthenticationError(APIError):
    """The API username or key is missing or wrong, or the account is not active (HTTP 401)."""


class PermissionDeniedError(APIError):
    """The account may not do this, for example because it is suspended (HTTP 403)."""


class NotFoundError(APIError):
    """The resource or endpoint does not exist (HTTP 404)."""


class RateLimitError(APIError):
    """ClickSend's rate limit was exceeded (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after
        """Seconds to wait before the next request, from Retry-After or ratelimit-reset."""


class ServerError(APIError):
    """ClickSend failed to handle the request (HTTP 5xx)."""


class ResponseValidationError(APIError):
    """ClickSend returned a success status with a body the client cannot read.

    For a send this means ClickSend probably accepted the messages, so the
    client raises `OutcomeUnknownError` from it instead.
    """


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

_NEXT_STEPS: dict[type[APIError], str] = {
    AuthenticationError: "check the ClickSend API username and API key",
    PermissionDeniedError: "check that the ClickSend account is active and allowed to do this",
    NotFoundError: "check the id and the base URL",
    RateLimitError: "wait and try again, or lower the request rate",
    ServerError: "try again later",
}


def error_class_for_status(status: int) -> type[APIError]:
    """Return the error class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, APIError)


def make_api_error(
    *,
    method: str,
    path: str,
    http_code: int,
    response_code: Any = None,
    response_msg: Any = None,
    data: Any = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the error for an HTTP error response to `method` `path`.

    `response_code` is kept as text because some ClickSend 400s send it as an
    integer. `path` must not contain credentials; the client passes only the
    URL path, never the query or the headers.
    """
    error_class = error_class_for_status(http_code)
    code = None if response_code is None else str(response_code)
    text = None if response_msg is None else str(response_msg)

    message = f"ClickSend {method} {path} failed with HTTP {http_code}"
    if code:
        message += f" {code}"
    if text:
        message += f": {text}"
    next_step = _NEXT_STEPS.get(error_class)
    if next_step:
        message += f" ({next_step})"

    fields: dict[str, Any] = {
        "http_code": http_code,
        "response_code": code,
        "response_msg": text,
        "data": data,
    }
    if error_class is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **fields)
    return error_class(message, **fields)
