import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

import sandbox
from core.models import (
    Account,
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
    localize,
)

# ClickSend's official OpenAPI description of the SMS endpoints (the SMS subset
# of api/openapi.yaml in github.com/ClickSend/clicksend-go-v2 at 2125d84), which
# the sandbox ships as package data.
OPENAPI_PATH = Path(sandbox.__file__).parent / "clicksend-sms-openapi.json"

# What each operation's `data` parses into; None means the client ignores it.
DATA_MODELS = {
    "send-sms": SendResponse,
    "calculate-sms-price": PriceResponse,
    "view-sms-receipts": Page[Receipt],
    "create-test-sms-receipt": Receipt,
    "view-specific-sms-receipt": Receipt,
    "mark-sms-receipt-as-read": None,
    "view-inbound-sms": Page[InboundMessage],
    "create-test-inbound-sms": InboundMessage,
    "view-a-specific-inbound-sms-message": InboundMessage,
    "mark-inbound-sms-as-read": None,
    "mark-specific-inbound-sms-message-as-read": None,
    "cancel-sms": None,
    "cancel-all-sms": CancelAllResult,
    "view-sms-templates": Page[Template],
    "create-sms-template": Template,
    "delete-sms-template": None,
    "view-a-specific-sms-template": Template,
    "update-sms-template": Template,
    "view-sms-history": Page[HistoryMessage],
    "export-sms-history": ExportResult,
}


def _operations():
    if not OPENAPI_PATH.exists():
        return []
    spec = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method not in {"get", "post", "put", "delete"}:
                continue
            response = operation["responses"]["200"]["content"]["application/json"]
            schema = schemas[response["schema"]["$ref"].rsplit("/", 1)[-1]]
            request_examples = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
            )
            operations.append((operation["operationId"], method, path, schema.get("example"), request_examples))
    return operations


OPERATIONS = _operations()
needs_openapi = pytest.mark.skipif(
    not OPERATIONS, reason=f"ClickSend OpenAPI description not found at {OPENAPI_PATH}"
)


@needs_openapi
def test_openapi_covers_every_operation():
    assert {operation_id for operation_id, *_ in OPERATIONS} == set(DATA_MODELS)


@needs_openapi
@pytest.mark.parametrize(
    ("operation_id", "example"),
    [(operation_id, example) for operation_id, _, _, example, _ in OPERATIONS],
    ids=[operation_id for operation_id, *_ in OPERATIONS],
)
def test_openapi_example_response_parses(operation_id, example):
    envelope = Envelope.model_validate(example)

    assert envelope.response_code == "SUCCESS"
    assert envelope.http_code == 200
    model = DATA_MODELS[operation_id]
    if model is not None:
        model.model_validate(envelope.data)


@needs_openapi
@pytest.mark.parametrize(
    "example",
    [example["value"] for *_, examples in OPERATIONS for example in examples.values()],
)
def test_openapi_example_request_parses(example):
    request = SendRequest.model_validate(example)

    wire = request.to_wire()
    assert [message["body"] for message in wire["messages"]] == [message["body"] for message in example["messages"]]
    assert [message.get("to") for message in wire["messages"]] == [message.get("to") for message in example["messages"]]


def test_send_response_example_values():
    data = {
        "total_price": 0.0792,
        "total_count": 1,
        "queued_count": 1,
        "messages": [
            {"direction": "out", "date": "1721099039,", "to": "+61411111111", "body": "test message",
             "from": "+61431111112", "schedule": 1721099039, "message_id": "1ABC3200-C38C-6308-BE4B-C7C51D01DCF0",
             "message_parts": 1, "message_price": "0.0792", "custom_string": "", "status": "SUCCESS"},
        ],
        "_currency": {"currency_name_short": "AUD", "min_recharge_amount": "20.00"},
        "blocked_count": 0,
    }

    response = SendResponse.model_validate(data)

    message = response.messages[0]
    assert response.total_price == Decimal("0.0792")
    assert response.currency.currency_name_short == "AUD"
    assert response.currency.min_recharge_amount == Decimal("20.00")
    assert message.date == datetime.fromtimestamp(1721099039, tz=UTC)
    assert message.from_ == "+61431111112"
    assert message.message_price == Decimal("0.0792")


def test_templates_example_paginator_in_list():
    data = [{"totlal": 1, "per_page": 15, "current_page": 1, "last_page": 1, "next_page_url": None,
             "prev_page_url": None, "from": 1, "to": 1,
             "data": [{"template_id": 587713, "body": "hello", "template_name": "qowiei_1920"}]}]

    page = Page[Template].model_validate(data)

    assert page.total == 1
    assert page.data[0].template_id == 587713
    assert not page.has_next


def test_history_example_flat_list():
    page = Page[HistoryMessage].model_validate([{"message_id": "A", "date": 1}, {"message_id": "B", "date": 2}])

    assert page.total == 2
    assert [row.message_id for row in page.data] == ["A", "B"]
    assert not page.has_next


def test_page_has_next():
    page = Page[Receipt].model_validate({"total": 30, "per_page": 15, "current_page": 1, "last_page": 2, "data": []})

    assert page.has_next


def test_empty_page():
    page = Page[Receipt].model_validate({"total": 0, "current_page": 1, "last_page": 0, "data": []})

    assert page.data == []
    assert not page.has_next


def test_price_summary_countries_object():
    data = {"total_price": 0.079, "messages": [], "_summary": {"countries": {"AU": {"name": "Australia", "recipient_count": 1}}}}

    summary = PriceResponse.model_validate(data).summary

    assert summary.countries[0].code == "AU"
    assert summary.countries[0].recipient_count == 1


def test_price_summary_countries_array():
    data = {"messages": [], "_summary": {"countries": [{"country": {"name": "Australia", "receipient_count": 2}}]}}

    summary = PriceResponse.model_validate(data).summary

    assert summary.countries[0].name == "Australia"
    assert summary.countries[0].recipient_count == 2


def test_price_message_date_empty():
    response = PriceResponse.model_validate(
        {"total_price": 0.079, "messages": [{"to": "+61491570156", "date": "", "schedule": "", "status": "SUCCESS"}]}
    )

    assert response.messages[0].date is None
    assert response.messages[0].schedule is None


# The custom_string field keeps its snake_case wire name.
def test_sms_message_wire_keys():
    message = SmsMessage(to="+61491570156", body="Your booking", custom_string="ticket-42")

    wire = SendRequest(messages=[message]).to_wire()

    assert set(wire) == {"messages"}
    assert set(wire["messages"][0]) == {"to", "body", "custom_string", "source"}
    assert wire["messages"][0]["custom_string"] == "ticket-42"


def test_sms_message_wire_all_names():
    message = SmsMessage(
        to="+61491570156",
        body="hi",
        from_="ACME",
        schedule=datetime(2026, 1, 1, tzinfo=UTC),
        custom_string="ref",
        country="AU",
        from_email="ops@example.com",
    )

    wire = message.to_wire()

    assert set(wire) == {"to", "body", "from", "source", "schedule", "custom_string", "country", "from_email"}
    assert wire["from"] == "ACME"


def test_sms_message_list_id_only():
    wire = SmsMessage(list_id=428, body="hi").to_wire()

    assert wire["list_id"] == "428"
    assert "to" not in wire


def test_sms_message_rejects_unknown_field():
    with pytest.raises(ValidationError, match="customString"):
        SmsMessage(to="+61491570156", body="hi", customString="ticket-42")


def test_sms_message_needs_recipient():
    with pytest.raises(ValidationError, match="needs a recipient"):
        SmsMessage(body="hi")


def test_sms_message_rejects_empty_body():
    with pytest.raises(ValidationError, match="body"):
        SmsMessage(to="+61491570156", body="")


# A list of senders is rejected before anything is sent.
def test_sms_message_rejects_sender_list():
    with pytest.raises(ValueError, match="sender must be one string"):
        SmsMessage(to="+61491570156", body="hi", from_=["+61491570157", "ACME"])


def test_sms_message_rejects_long_alpha_sender():
    with pytest.raises(ValueError, match="ACMEPLUMBING1"):
        SmsMessage(to="+61491570156", body="hi", from_="ACMEPLUMBING1")


def test_sms_message_rejects_alpha_sender_with_space():
    with pytest.raises(ValueError, match="Random Co"):
        SmsMessage(to="+61491570156", body="hi", from_="Random Co")


# The schedule goes out as integer Unix seconds.
def test_schedule_aware_to_epoch():
    message = SmsMessage(to="+61491570156", body="hi", schedule=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))

    assert message.to_wire()["schedule"] == 1767225600


def test_schedule_naive_rejected():
    with pytest.raises(ValidationError, match="has no time zone"):
        SmsMessage(to="+61491570156", body="hi", schedule=datetime(2026, 1, 1, 11, 0))


def test_schedule_naive_localized():
    schedule = localize(datetime(2026, 1, 1, 11, 0), ZoneInfo("Australia/Melbourne"))

    message = SmsMessage(to="+61491570156", body="hi", schedule=schedule)

    assert message.to_wire()["schedule"] == 1767225600


def test_localize_naive_without_zone_rejected():
    with pytest.raises(ValueError, match="has no time zone"):
        localize(datetime(2026, 1, 1, 11, 0), None)


def test_localize_keeps_aware():
    aware = datetime(2026, 1, 1, tzinfo=UTC)

    assert localize(aware, ZoneInfo("Australia/Melbourne")) is aware


def test_schedule_string_rejected():
    with pytest.raises(ValidationError, match="aware datetime or Unix seconds"):
        SmsMessage(to="+61491570156", body="hi", schedule="1767225600")


def test_mark_read_date_before_epoch():
    wire = MarkReadRequest(date_before=datetime(2026, 1, 1, tzinfo=UTC)).to_wire()

    assert wire == {"date_before": 1767225600}


def test_mark_read_empty_body():
    assert MarkReadRequest().to_wire() == {}


def test_history_query_params():
    query = HistoryQuery(q="status:Sent", date_from=datetime(2026, 1, 1, tzinfo=UTC), page=2, limit=100)

    assert query.to_params() == {"q": "status:Sent", "date_from": "1767225600", "page": "2", "limit": "100"}


# A rejected message is data on the result, not an exception.
def test_rejected_message_is_data():
    data = {
        "total_price": 0.0792,
        "total_count": 2,
        "queued_count": 1,
        "messages": [
            {"to": "+61491570156", "status": "SUCCESS", "message_id": "MSG-0001", "message_price": "0.0792"},
            {"to": "+61491570157", "status": "INVALID_RECIPIENT", "message_id": "", "schedule": "",
             "custom_string": "", "is_shared_system_number": False},
        ],
    }

    response = SendResponse.model_validate(data)

    sent, failed = response.messages
    assert sent.accepted
    assert not failed.accepted
    assert failed.status == "INVALID_RECIPIENT"
    assert failed.message_id == ""
    assert failed.message_price == Decimal(0)
    assert response.accepted == [sent]
    assert response.rejected == [failed]


# The send shape and the history shape parse to the same types.
def test_send_and_history_shapes_agree():
    sent = SendResponse.model_validate(
        {"messages": [{"date": 1436932432, "message_parts": 1, "message_price": 0.07, "status": "SUCCESS"}]}
    ).messages[0]
    history = Page[HistoryMessage].model_validate(
        {"data": [{"date": "1436932432", "message_parts": "1.00", "message_price": "0.070000",
                   "schedule": "1436879372", "status_code": None}]}
    ).data[0]

    expected_date = datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)
    assert sent.date == expected_date
    assert history.date == expected_date
    assert sent.message_parts == 1
    assert history.message_parts == 1
    assert isinstance(history.message_parts, int)
    assert sent.message_price == Decimal("0.07")
    assert history.message_price == Decimal("0.07")
    assert isinstance(sent.message_price, Decimal)
    assert isinstance(history.message_price, Decimal)
    assert history.status_code is None
    assert history.schedule == datetime(2015, 7, 14, 13, 9, 32, tzinfo=UTC)


def test_totals_sum_as_decimal():
    response = SendResponse.model_validate(
        {"messages": [{"message_price": "7.7050", "status": "SUCCESS"}, {"message_price": "7.7050", "status": "SUCCESS"}]}
    )

    assert sum(message.message_price for message in response.messages) == Decimal("15.41")


def test_float_price_keeps_decimal_digits():
    response = SendResponse.model_validate({"total_price": 0.1, "messages": []})

    assert response.total_price == Decimal("0.1")


# A balance sent as text is compared as money, not as text.
def test_account_balance_decimal():
    account = Account.model_validate(
        {"balance": "10.500000", "balance_commission": 0.299954, "auto_recharge_amount": "20.00"}
    )

    assert account.balance == Decimal("10.5")
    assert account.balance_commission == Decimal("0.299954")
    assert not account.balance < Decimal("9.00")


# Integer and string epochs parse to the same UTC instants.
def test_timestamps_are_utc_aware():
    sent = SendResponse.model_validate({"messages": [{"date": 1436871253}]}).messages[0]
    inbound = InboundMessage.model_validate({"timestamp": "1436932432"})

    assert sent.date == datetime(2015, 7, 14, 10, 54, 13, tzinfo=UTC)
    assert sent.date.utcoffset().total_seconds() == 0
    assert inbound.timestamp == datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)


def test_receipt_status_code_string_or_int():
    as_text = Receipt.model_validate({"message_id": "A", "status_code": "201", "timestamp": "1442381791"})
    as_number = Receipt.model_validate({"message_id": "A", "status_code": 201, "timestamp": 1442381791})

    assert as_text.status_code == "201"
    assert as_number.status_code == "201"
    assert as_text.timestamp == as_number.timestamp


def test_inbound_timestamp_send_alias():
    inbound = InboundMessage.model_validate({"timestamp_send": 1722997250, "from": "+61491570156", "_keyword": "reply"})

    assert inbound.timestamp == datetime.fromtimestamp(1722997250, tz=UTC)
    assert inbound.from_ == "+61491570156"
    assert inbound.keyword == "reply"


def test_envelope_integer_response_code():
    envelope = Envelope.model_validate({"http_code": 400, "response_code": 400, "response_msg": "oops", "data": None})

    assert envelope.response_code == "400"


def test_unknown_fields_kept():
    template = Template.model_validate({"template_id": 1, "template_name": "a", "body": "b", "new_field": 5})

    assert template.model_extra == {"new_field": 5}


def test_timestamp_rejects_garbage():
    with pytest.raises(ValidationError, match="date"):
        HistoryMessage.model_validate({"date": "yesterday"})
