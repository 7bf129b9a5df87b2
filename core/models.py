"""Pydantic models of ClickSend's REST v3 SMS wire format.

Requests are strict: they serialize with ClickSend's exact field names
(``from``, ``custom_string``, ``list_id``, ``schedule`` as Unix seconds), leave
out unset fields and reject fields ClickSend does not know.

Responses are lenient, because ClickSend's responses differ from its own
description and between endpoints:

- numbers arrive as strings (``"1436932432"``, ``"1.00"``, ``"0.070000"``);
- a missing ``schedule`` or ``date`` is ``""``, and one documented ``date`` is
  ``"1721099039,"``;
- ``status_code`` is a string in receipts and ``response_code`` an integer in
  some errors;
- the templates list wraps its paginator in a one-item list and spells
  ``total`` as ``totlal``, and the history example is a flat list;
- the price ``_summary.countries`` is an object keyed by country code in the
  example and an array in the schema;
- new fields appear without notice, so every response model keeps unknown
  fields instead of failing.

Money is always ``Decimal`` and timestamps are UTC-aware ``datetime`` values.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Generic, Literal, NamedTuple, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from core.numbers import validate_sender

SUCCESS = "SUCCESS"
"""The per-message ``status`` of a message that ClickSend accepted for delivery."""

DEFAULT_SOURCE = "smsdesk"
"""The ``source`` label sent with every message, shown in ClickSend's dashboard."""


# --- lenient scalar types for responses -------------------------------------


def _parse_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected an amount, got {value!r}")
    if isinstance(value, float):
        # repr gives the shortest text that round-trips, so 0.0792 stays 0.0792
        # instead of the binary expansion Decimal(0.0792) would produce.
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected an amount, got {value!r}") from None


def _parse_decimal_or_zero(value: Any) -> Decimal:
    parsed = _parse_decimal(value)
    return Decimal(0) if parsed is None else parsed


def _parse_int(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        # The common case in history rows; skips the Decimal round trip below.
        return int(value)
    amount = _parse_decimal(value)
    if amount is None:
        return None
    if not amount.is_finite() or amount != amount.to_integral_value():
        # Decimal reads "Infinity" and "NaN", and int() raises OverflowError for an
        # infinity. Pydantic reports only ValueError as a validation error.
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(amount)


def _parse_timestamp(value: Any) -> datetime | None:
    """Parse Unix seconds given as an int or a numeric string into a UTC datetime.

    ``""`` means no time. Trailing commas are dropped because one documented
    send response has ``"date": "1721099039,"``.
    """
    if value is None or isinstance(value, datetime):
        return _require_aware(value) if value is not None else None
    if isinstance(value, str):
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        value = value.strip().rstrip(",").strip()
    seconds = _parse_int(value)
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _parse_text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{value.isoformat()} has no time zone; pass an aware datetime, for example "
            "datetime(2026, 1, 1, 11, 0, tzinfo=ZoneInfo('Australia/Melbourne'))"
        )
    return value


Money = Annotated[Decimal, BeforeValidator(_parse_decimal_or_zero)]
"""An amount of money; ClickSend sends it as a JSON number or a string."""
OptionalMoney = Annotated[Decimal | None, BeforeValidator(_parse_decimal)]
LenientInt = Annotated[int | None, BeforeValidator(_parse_int)]
Timestamp = Annotated[datetime | None, BeforeValidator(_parse_timestamp)]
"""Unix seconds as int or string on the wire, a UTC-aware datetime here; "" is None."""
Text = Annotated[str | None, BeforeValidator(_parse_text)]
"""A string that ClickSend sometimes sends as a number, such as ``status_code``."""


def epoch_seconds(value: datetime) -> int:
    """Convert an aware datetime to the Unix seconds ClickSend expects."""
    return int(_require_aware(value).timestamp())


def localize(value: datetime, zone: tzinfo | None) -> datetime:
    """Attach `zone` to a naive datetime; an aware one is returned unchanged.

    Raises ValueError for a naive datetime without a zone, so a local time is
    never sent as if it were UTC.
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    if zone is None:
        return _require_aware(value)
    return value.replace(tzinfo=zone)


# --- responses ---------------------------------------------------------------


class ResponseModel(BaseModel):
    """Base of every response model: keeps unknown fields and accepts wire names."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class Envelope(ResponseModel):
    """The ``{http_code, response_code, response_msg, data}`` wrapper of every response."""

    http_code: LenientInt = Field(None, validation_alias=AliasChoices("http_code", "status"))
    """HTTP status that ClickSend repeats in the body; the history example calls it ``status``."""
    response_code: Text = None
    """``SUCCESS`` or an error code; some errors send an integer, kept here as text."""
    response_msg: Text = None
    """Free text whose wording changes between versions; do not match on it."""
    data: Any = None
    """The payload: an object, a list, a paginator, a number, ``"{}"`` or null."""


class Currency(ResponseModel):
    """Currency of the account's prices."""

    currency_name_short: str | None = None
    """ISO 4217 code, e.g. ``AUD``."""
    currency_prefix_d: str | None = None
    """Symbol for whole units, e.g. ``$``."""
    currency_prefix_c: str | None = None
    """Symbol for cents, e.g. ``c``."""
    currency_name_long: str | None = None
    """Full name, e.g. ``Australian Dollars``."""
    min_recharge_amount: OptionalMoney = None
    """Smallest top-up in this currency."""
    max_recharge_amount: OptionalMoney = None
    """Largest top-up in this currency."""


class SendResult(ResponseModel):
    """One message of a send or price response, accepted or rejected.

    A rejected message (``INVALID_RECIPIENT``, ``COUNTRY_NOT_ENABLED``, ...)
    comes back inside an HTTP 200 with only some fields, so most are optional.
    """

    to: Text = None
    """Recipient in E.164."""
    body: Text = None
    """Message text as ClickSend received it."""
    from_: Text = Field(None, alias="from")
    """Sender ID or number; ClickSend may replace it with a local number."""
    status: str = ""
    """``SUCCESS`` when accepted, otherwise ClickSend's reason, e.g. ``INVALID_RECIPIENT``."""
    message_id: Text = ""
    """ClickSend's id, an upper-case UUID; may be empty on a rejected message."""
    message_parts: LenientInt = 0
    """Number of SMS parts billed."""
    message_price: Money = Decimal(0)
    """Price of this message in the account currency (all parts)."""
    date: Timestamp = None
    """When ClickSend accepted the message, UTC; None in price responses."""
    schedule: Timestamp = None
    """When the message is or was due to go out, UTC; None for a rejected message."""
    custom_string: Text = None
    """The caller's reference, echoed back; ``""`` when none was sent."""
    direction: str | None = None
    """``out`` for messages we send."""
    list_id: Text = None
    """Contact list the message was sent to, if any."""
    contact_id: Text = None
    """Contact the message was sent to, if any."""
    from_email: str | None = None
    """Address replies are emailed to, if set."""
    user_id: LenientInt = None
    """ClickSend user that sent the message."""
    subaccount_id: LenientInt = None
    """ClickSend subaccount that sent the message."""
    is_shared_system_number: bool | None = None
    """True when ClickSend picked a shared number as the sender."""
    country: str | None = None
    """Recipient country, ISO 3166 alpha-2."""
    carrier: str | None = None
    """Recipient's network; may be ``""``."""

    @property
    def accepted(self) -> bool:
        """True when ClickSend accepted this message for delivery."""
        return self.status == SUCCESS


class SendResponse(ResponseModel):
    """The ``data`` of a send: totals and one result per message."""

    total_price: Money = Decimal(0)
    """Sum of the accepted messages' prices in the account currency."""
    total_count: LenientInt = 0
    """Number of messages in the request."""
    queued_count: LenientInt = 0
    """Number of messages accepted."""
    blocked_count: LenientInt = 0
    """Messages blocked by account settings (``COUNTRY_NOT_ENABLED``, sender rules)."""
    messages: list[SendResult] = []
    """One result per message, rejected ones included, in request order."""
    currency: Currency | None = Field(None, validation_alias=AliasChoices("_currency", "currency"))
    """Currency of the prices."""

    @property
    def accepted(self) -> list[SendResult]:
        """Messages ClickSend accepted."""
        return [message for message in self.messages if message.accepted]

    @property
    def rejected(self) -> list[SendResult]:
        """Messages ClickSend rejected, each with its reason in ``status``."""
        return [message for message in self.messages if not message.accepted]


class CountrySummary(ResponseModel):
    """Sending rules for one recipient country in a price response."""

    code: str | None = None
    """ISO 3166 alpha-2 code; the key of the ``countries`` object."""
    name: str | None = None
    """Country name, e.g. ``Australia``."""
    registration_type: LenientInt = None
    """0 nothing to register, 1 number registration, 2 account registration."""
    recipient_count: LenientInt = Field(
        None, validation_alias=AliasChoices("recipient_count", "receipient_count")
    )
    """Recipients in this country; the schema spells it ``receipient_count``."""
    usable_sender_id: bool | None = None
    """True when the account has a sender ID it may use here."""
    selected: bool | None = None
    """True when the country is selected for sending in the account."""
    regulation: dict[str, Any] | None = None
    """ClickSend's regulation record for the country, passed through as is."""


class PriceSummary(ResponseModel):
    """The ``_summary`` of a price response."""

    test_message: str | None = None
    """The text a trial account would send instead of the real body."""
    countries: list[CountrySummary] = []
    """One entry per recipient country."""

    @field_validator("countries", mode="before")
    @classmethod
    def _countries_as_list(cls, value: Any) -> Any:
        # The example sends {"AU": {...}}; the schema describes [{"country": {...}}].
        if isinstance(value, dict):
            return [{"code": code, **(details or {})} for code, details in value.items()]
        if isinstance(value, list):
            return [item.get("country", item) if isinstance(item, dict) else item for item in value]
        return value


class PriceResponse(SendResponse):
    """The ``data`` of a price quote: like a send, with nothing sent."""

    summary: PriceSummary | None = Field(None, validation_alias=AliasChoices("_summary", "summary"))
    """Per-country sending rules, when ClickSend includes them."""


class Receipt(ResponseModel):
    """A delivery receipt for one outbound message."""

    message_id: Text = None
    """Id of the outbound message this receipt is for."""
    status_code: Text = None
    """Gateway code as text: ``"200"`` sent, ``"201"`` delivered, ``"300"``/``"301"``/``"302"`` failed."""
    status_text: Text = None
    """Gateway text for the status code."""
    status: Text = None
    """Status word, present in pushed receipts."""
    timestamp: Timestamp = None
    """When the receipt arrived, UTC."""
    timestamp_send: Timestamp = None
    """When the message was sent, UTC."""
    error_code: Text = None
    """Gateway error code as text, None when there is none."""
    error_text: Text = None
    """Gateway text for the error code."""
    custom_string: Text = None
    """The outbound message's reference, when ClickSend includes it."""
    message_type: str | None = Field(None, validation_alias=AliasChoices("message_type", "_message_type"))
    """``sms`` for SMS receipts."""
    user_id: LenientInt = None
    """ClickSend user that sent the message."""
    subaccount_id: LenientInt = None
    """ClickSend subaccount that sent the message."""
    digits: Text = None
    """Keys pressed, voice receipts only."""


class InboundMessage(ResponseModel):
    """An SMS a recipient sent to one of our numbers."""

    message_id: Text = None
    """Id of this inbound message."""
    from_: Text = Field(None, alias="from")
    """The handset that sent it."""
    to: Text = None
    """Our number that received it."""
    body: Text = None
    """Text of the reply."""
    timestamp: Timestamp = Field(None, validation_alias=AliasChoices("timestamp", "timestamp_send"))
    """When it arrived, UTC; list responses call it ``timestamp_send``."""
    original_message_id: Text = None
    """Id of our outbound message it replies to."""
    original_body: Text = None
    """Text of our outbound message it replies to."""
    custom_string: Text = None
    """Reference of our outbound message; ``""`` when it had none."""
    keyword: Text = Field(None, validation_alias=AliasChoices("_keyword", "keyword"))
    """First word of the body (deprecated by ClickSend)."""
    user_id: LenientInt = None
    """ClickSend user that received the message."""
    subaccount_id: LenientInt = None
    """ClickSend subaccount that received the message."""


class Template(ResponseModel):
    """A stored SMS text."""

    template_id: int
    """ClickSend's id of the template."""
    template_name: str
    """Name shown in lists."""
    body: str
    """Text of the template."""


class HistoryMessage(ResponseModel):
    """One row of the message history, outbound or inbound."""

    message_id: Text = None
    """ClickSend's id of the message, an upper-case UUID."""
    direction: str | None = None
    """``out`` or ``in``."""
    date: Timestamp = None
    """When the message was sent or received, UTC."""
    to: Text = None
    """Recipient in E.164."""
    from_: Text = Field(None, alias="from")
    """Sender ID or number the message went out with."""
    body: Text = None
    """Message text."""
    status: Text = None
    """``Queued``, ``Scheduled``, ``Sent``, ``Completed``, ``Failed``, ``Cancelled``, ..."""
    status_code: Text = None
    """Gateway code as text, None while there is none."""
    status_text: Text = None
    """Text for the status code."""
    schedule: Timestamp = None
    """When the message is or was due to go out, UTC."""
    error_code: Text = None
    """Gateway error code as text, None when there is none."""
    error_text: Text = None
    """Gateway text for the error code."""
    message_parts: LenientInt = 0
    """Number of SMS parts billed; history sends it as text such as ``"1.00"``."""
    message_price: Money = Decimal(0)
    """Price in the account currency; history sends it as text such as ``"0.070000"``."""
    custom_string: Text = None
    """Our reference sent with the message, None or "" when none was sent."""
    list_id: Text = None
    """Contact list the message was sent to, if any."""
    contact_id: Text = None
    """Contact the message was sent to, if any."""
    from_email: str | None = None
    """Address replies are emailed to, if set."""
    user_id: LenientInt = None
    """ClickSend user that sent the message."""
    subaccount_id: LenientInt = None
    """ClickSend subaccount that sent the message."""
    country: str | None = None
    """Recipient country, ISO 3166 alpha-2."""
    carrier: str | None = None
    """Recipient's network; may be ``""``."""
    first_name: str | None = None
    """First name of the contact, when sent to a contact."""
    last_name: str | None = None
    """Last name of the contact, when sent to a contact."""
    api_username: str | None = Field(None, validation_alias=AliasChoices("_api_username", "api_username"))
    """API user that sent the message."""


class HistoryFields(NamedTuple):
    """The fields of a history row that the history sync stores, typed as in HistoryMessage."""

    message_id: str | None
    direction: str | None
    date: datetime | None
    from_: str | None
    to: str | None
    body: str | None
    status: str | None
    status_code: str | None
    status_text: str | None
    error_code: str | None
    error_text: str | None
    custom_string: str | None
    message_parts: int | None
    message_price: Decimal
    country: str | None
    carrier: str | None

    @classmethod
    def of(cls, message: HistoryMessage) -> HistoryFields:
        """Take the fields from a validated row."""
        return cls(
            message.message_id,
            message.direction,
            message.date,
            message.from_,
            message.to,
            message.body,
            message.status,
            message.status_code,
            message.status_text,
            message.error_code,
            message.error_text,
            message.custom_string,
            message.message_parts,
            message.message_price,
            message.country,
            message.carrier,
        )


def read_history_row(row: Any) -> HistoryFields:
    """Parse one decoded history row to the values HistoryMessage would give.

    Validating a HistoryMessage runs a Python validator for most of its fields, which
    made parsing a large part of a 100,000-row history sync. So a row whose values
    all have the JSON types that ClickSend normally sends is read with dict lookups and
    exact type checks. Any other row goes through HistoryMessage, so odd values are
    converted or rejected exactly as there.

    Raises pydantic's ValidationError for a row that HistoryMessage rejects.
    """
    try:
        return _read_regular_history_row(row)
    except _IrregularRowError:
        return HistoryFields.of(HistoryMessage.model_validate(row))


class _IrregularRowError(Exception):
    """A history row that only HistoryMessage may judge."""


# Wire names of the HistoryMessage fields typed Text or str | None, which a regular row
# gives as a JSON string or null. _read_regular_history_row reads the other fields one
# by one; a test checks that together they cover every field of HistoryMessage.
_HISTORY_TEXT_KEYS: Final = (
    "message_id", "direction", "to", "from", "body", "status", "status_code", "status_text",
    "error_code", "error_text", "custom_string", "list_id", "contact_id", "from_email", "country",
    "carrier", "first_name", "last_name", "_api_username", "api_username",
)
_TEXT_TYPES: Final = frozenset({str, type(None)})
# 9999-12-31T23:59:59Z, the last second that datetime can hold.
_MAX_REGULAR_SECONDS: Final = 253_402_300_799


def _read_regular_history_row(row: Any) -> HistoryFields:
    # "from_" is the Python name of the "from" field, and HistoryMessage accepts it too.
    if type(row) is not dict or "from_" in row:
        raise _IrregularRowError
    if not _TEXT_TYPES.issuperset(map(type, map(row.get, _HISTORY_TEXT_KEYS))):
        raise _IrregularRowError
    get = row.get
    # These fields are not stored, but a bad value in them still fails HistoryMessage.
    _check_regular_seconds(get("schedule"))
    _read_regular_int(get("user_id"))
    _read_regular_int(get("subaccount_id"))

    seconds = _check_regular_seconds(get("date"))
    return HistoryFields(
        get("message_id"),
        get("direction"),
        None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC),
        get("from"),
        get("to"),
        get("body"),
        get("status"),
        get("status_code"),
        get("status_text"),
        get("error_code"),
        get("error_text"),
        get("custom_string"),
        # A missing message_parts gets HistoryMessage's default of 0, an explicit null stays None.
        _read_regular_int(get("message_parts", 0)),
        _read_regular_money(get("message_price")),
        get("country"),
        get("carrier"),
    )


def _check_regular_seconds(value: Any) -> int | None:
    """Return the Unix seconds of a time given as digits or a JSON integer; None for null or ``""``.

    ``_parse_timestamp`` reads these the same way.
    """
    if value is None or value == "":
        return None
    if type(value) is str and value.isascii() and value.isdigit():
        seconds = int(value)
    elif type(value) is int:
        seconds = value
    else:
        raise _IrregularRowError
    if not 0 <= seconds <= _MAX_REGULAR_SECONDS:
        raise _IrregularRowError
    return seconds


def _read_regular_int(value: Any) -> int | None:
    """Read a whole number given as a JSON integer or ASCII digits, as ``_parse_int`` does.

    History sends ``message_parts`` as ``"1.00"``, so digits followed by ``".00"`` are
    read here too.
    """
    if value is None or type(value) is int:
        return value
    if type(value) is not str or not value.isascii():
        raise _IrregularRowError
    if value.isdigit():
        return int(value)
    if value.endswith(".00") and value[:-3].isdigit():
        return int(value[:-3])
    raise _IrregularRowError


def _read_regular_money(value: Any) -> Decimal:
    """Read an amount given as non-empty text, a JSON number or null, as the Money type does."""
    if type(value) is str:
        try:
            amount = Decimal(value.strip())
        except ArithmeticError:  # decimal.InvalidOperation, which "" raises too
            raise _IrregularRowError from None
    elif value is None:
        return Decimal(0)
    elif type(value) is int or type(value) is float:
        amount = _parse_decimal(value)
    else:
        raise _IrregularRowError
    # Pydantic rejects NaN and infinities in a Decimal field.
    if not amount.is_finite():
        raise _IrregularRowError
    return amount


class CancelAllResult(ResponseModel):
    """The ``data`` of a cancel-all."""

    count: LenientInt = 0
    """Number of scheduled messages cancelled."""


class ExportResult(ResponseModel):
    """The ``data`` of a history export."""

    url: str
    """Download address of the CSV file; it expires after a while."""


class Account(ResponseModel):
    """The parts of ``GET /account`` that smsdesk uses."""

    user_id: LenientInt = None
    """ClickSend's id of the user."""
    username: str | None = None
    """API username."""
    balance: OptionalMoney = None
    """Prepaid credit in the account currency; ClickSend sends text such as ``"4.998000"``."""
    balance_commission: OptionalMoney = None
    """Commission credit; ClickSend sends it as a JSON number."""
    auto_recharge_amount: OptionalMoney = None
    """Top-up amount; ClickSend sends text such as ``"20.00"``."""
    currency: Currency | None = Field(None, validation_alias=AliasChoices("_currency", "currency"))
    """Currency of the balance and prices."""


ItemT = TypeVar("ItemT")


class Page(ResponseModel, Generic[ItemT]):
    """One page of a list, as ClickSend's paginator describes it."""

    total: LenientInt = Field(0, validation_alias=AliasChoices("total", "totlal"))
    """Items in all pages; the templates example spells it ``totlal``."""
    per_page: LenientInt = None
    """Items per page, the ``limit`` of the request."""
    current_page: LenientInt = 1
    """Number of this page, from 1."""
    last_page: LenientInt = 1
    """Number of the last page; 0 for an empty list."""
    next_page_url: str | None = None
    """Address of the next page, None on the last page."""
    prev_page_url: str | None = None
    """Address of the previous page, None on the first page."""
    first_item: LenientInt = Field(None, validation_alias=AliasChoices("from", "first_item"))
    """1-based position of this page's first item in the whole list."""
    last_item: LenientInt = Field(None, validation_alias=AliasChoices("to", "last_item"))
    """1-based position of this page's last item in the whole list."""
    data: list[ItemT] = []
    """The items of this page."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        # The templates example wraps the paginator in a one-item list, and the
        # history example sends the items as a bare list without a paginator.
        if not isinstance(value, list):
            return value
        if len(value) == 1 and isinstance(value[0], dict) and "data" in value[0]:
            return value[0]
        return {"total": len(value), "per_page": len(value), "current_page": 1, "last_page": 1, "data": value}

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return (self.current_page or 1) < (self.last_page or 0)


# --- requests ------------------------------------------------------------------


def _parse_request_time(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, datetime):
        return _require_aware(value)
    raise ValueError(f"expected an aware datetime or Unix seconds, got {type(value).__name__} {value!r}")


RequestTime = Annotated[
    datetime,
    BeforeValidator(_parse_request_time),
    PlainSerializer(epoch_seconds, return_type=int),
]
"""An aware datetime (or Unix seconds) that goes on the wire as integer Unix seconds."""


class RequestModel(BaseModel):
    """Base of every request model: ClickSend's names only, nothing unknown."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON body with ClickSend's names, leaving out unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SmsMessage(RequestModel):
    """One message of a send or price request."""

    body: str = Field(min_length=1)
    """Text to send; ClickSend splits long texts into parts."""
    to: str | None = None
    """Recipient in E.164, e.g. ``+61491570156``; or leave it out and give `list_id`."""
    from_: str | None = Field(None, alias="from")
    """One sender: an approved alpha tag (up to 11 letters and digits) or a number."""
    source: str | None = DEFAULT_SOURCE
    """Label of the sending application, shown in ClickSend's dashboard."""
    schedule: RequestTime | None = None
    """When to send, as an aware datetime; sent as Unix seconds. None sends now."""
    custom_string: str | None = None
    """Our reference, returned with every receipt and reply to this message."""
    list_id: str | None = None
    """Contact list to send to instead of `to`."""
    country: str | None = None
    """Recipient country, ISO 3166 alpha-2, when `to` is in local format."""
    from_email: str | None = None
    """Address to email replies to."""

    @field_validator("from_", mode="before")
    @classmethod
    def _one_sender(cls, value: Any) -> Any:
        # ClickSend returns HTTP 500 when `from` is a list, so reject it here.
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"sender must be one string, got {type(value).__name__} {value!r}; "
                "pass a single sender ID or number"
            )
        if value is not None and any(char.isalpha() for char in value):
            validate_sender(value)
        return value

    @field_validator("list_id", mode="before")
    @classmethod
    def _list_id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _has_recipient(self) -> SmsMessage:
        if not self.to and not self.list_id:
            raise ValueError("a message needs a recipient: set `to` to a number or `list_id` to a contact list")
        return self



class SenderRule(RequestModel):
    """A per-country sender for ClickSend's smart assign feature."""

    recipient_country_code: str
    """Recipient country this rule applies to, ISO 3166 alpha-2."""
    sender_id: str | None = None
    """Sender ID or number to use for that country."""
    sender_type: Literal["shared_longcode"] | None = None
    """Set instead of `sender_id` to use a shared number."""
    sender_country_code: str | None = None
    """Country of the sender, when it differs from the recipient's."""


class SendRequest(RequestModel):
    """Body of ``POST /sms/send`` and ``POST /sms/price``."""

    messages: list[SmsMessage] = Field(min_length=1)
    """Up to 1000 messages per request."""
    senders: list[SenderRule] | None = None
    """Per-country senders; ClickSend falls back to the account default for other countries."""
    shorten_urls: bool | None = None
    """Let ClickSend shorten one URL in each message."""


class TemplateRequest(RequestModel):
    """Body of creating or updating a template."""

    template_name: str = Field(min_length=1)
    """Name shown in lists."""
    body: str = Field(min_length=1)
    """Text of the template."""


class MarkReadRequest(RequestModel):
    """Body of marking receipts or inbound messages read."""

    date_before: RequestTime | None = None
    """Mark only what arrived before this aware time; None marks everything."""


class CancelAllRequest(RequestModel):
    """Body of cancelling every scheduled message, or those with one reference."""

    custom_string: str | None = None
    """Cancel only scheduled messages with this reference; None cancels all.

    NOTE: ClickSend does not document whether the match is exact or case-sensitive.
    """


class TestReceiptRequest(RequestModel):
    """Body of asking ClickSend to push a test delivery receipt."""

    __test__ = False  # not a pytest test class despite the name

    url: str = Field(min_length=1)
    """Webhook address to push to, or ``poll`` to store it for polling."""


class TestInboundRequest(RequestModel):
    """Body of asking ClickSend to push a test inbound message."""

    __test__ = False

    url: str = Field(min_length=1)
    """Webhook address to push the test message to."""
    webhook_type: Literal["post", "get", "json"] | None = None
    """Push format: form POST (ClickSend's default), GET query or JSON POST."""


class HistoryQuery(RequestModel):
    """Query parameters of ``GET /sms/history`` and its export."""

    q: str | None = None
    """Filter as ``field:value[,field:value]``, e.g. ``status:Sent``."""
    order_by: str | None = None
    """Sort as ``field:asc`` or ``field:desc``; ClickSend sorts by ``date:asc`` by default."""
    date_from: RequestTime | None = None
    """Aware start time; sent as Unix seconds."""
    date_to: RequestTime | None = None
    """Aware end time; sent as Unix seconds."""
    page: int | None = None
    """Page number, from 1."""
    limit: int | None = None
    """Items per page; ClickSend accepts 15 to 100."""
    filename: str | None = None
    """Name of the exported CSV file; export only."""

    def to_params(self) -> dict[str, str]:
        """Return the query string parameters as text."""
        return {name: str(value) for name, value in self.to_wire().items()}
