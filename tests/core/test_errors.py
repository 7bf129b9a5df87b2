import pytest

from core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClickSendError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    ServerError,
    TransportError,
    error_class_for_status,
    make_api_error,
)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIError),
        (422, APIError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_error_class_for_status(status, error_class):
    assert error_class_for_status(status) is error_class


@pytest.mark.parametrize(
    "error_class",
    [BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, RateLimitError, ServerError,
     ResponseValidationError],
)
def test_api_errors_share_base(error_class):
    assert issubclass(error_class, APIError)
    assert issubclass(error_class, ClickSendError)
    assert not issubclass(error_class, TransportError)


@pytest.mark.parametrize("error_class", [ConnectError, RequestTimeout, OutcomeUnknownError])
def test_transport_errors_share_base(error_class):
    assert issubclass(error_class, TransportError)
    assert issubclass(error_class, ClickSendError)
    assert not issubclass(error_class, APIError)


def test_make_api_error_carries_envelope():
    error = make_api_error(
        method="GET",
        path="/v3/sms/receipts/ABC",
        http_code=404,
        response_code="NOT_FOUND",
        response_msg="Receipt record not found.",
    )

    assert isinstance(error, NotFoundError)
    assert error.http_code == 404
    assert error.response_code == "NOT_FOUND"
    assert error.response_msg == "Receipt record not found."
    assert "/v3/sms/receipts/ABC" in str(error)
    assert "Receipt record not found." in str(error)


def test_make_api_error_integer_response_code():
    # Some ClickSend 400s carry response_code as the integer 400.
    error = make_api_error(method="POST", path="/v3/sms/send", http_code=400, response_code=400,
                           response_msg="Undefined index: body", data={"body": "required"})

    assert isinstance(error, BadRequestError)
    assert error.response_code == "400"
    assert error.data == {"body": "required"}


def test_make_api_error_rate_limit_retry_after():
    error = make_api_error(method="GET", path="/v3/sms/history", http_code=429,
                           response_code="HTTP_TOO_MANY_REQUESTS", retry_after=7.0)

    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "wait and try again" in str(error)


def test_make_api_error_authentication_says_fix():
    error = make_api_error(method="GET", path="/v3/sms/inbound", http_code=401,
                           response_code="UNAUTHORIZED", response_msg="Authorization failed.")

    assert "API username and API key" in str(error)


def test_make_api_error_without_envelope():
    error = make_api_error(method="GET", path="/v3/sms/inbound", http_code=502)

    assert isinstance(error, ServerError)
    assert error.response_code is None
    assert str(error) == "ClickSend GET /v3/sms/inbound failed with HTTP 502 (try again later)"


def test_outcome_unknown_keeps_custom_strings():
    error = OutcomeUnknownError("timed out", custom_strings=["ticket-42", "ticket-43"])

    assert error.custom_strings == ["ticket-42", "ticket-43"]
    assert isinstance(error, TransportError)


def test_connect_error_request_sent_flag():
    assert not ConnectError("refused", request_sent=False).request_sent
    assert ConnectError("reset").request_sent
