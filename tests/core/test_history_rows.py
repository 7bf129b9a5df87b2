"""read_history_row: the dict fast path must give exactly what HistoryMessage gives."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import AliasChoices, ValidationError

from core import models
from core.errors import ResponseValidationError
from core.models import HistoryFields, HistoryMessage, read_history_row
from core.sync import _HistoryMapper

# One row as ClickSend's history example and the sandbox send it: numbers as strings.
REGULAR_ROW: dict[str, Any] = {
    "direction": "out",
    "date": "1436932432",
    "to": "+61491570156",
    "body": "Your appointment is confirmed",
    "status": "Completed",
    "from": "+61491570999",
    "schedule": "1436932432",
    "status_code": "201",
    "status_text": "Message delivered to the handset",
    "error_code": None,
    "error_text": None,
    "message_id": "B6C6CE43-F0C9-5C9F-CF63-A05F36C13E04",
    "message_parts": "1.00",
    "message_price": "0.079200",
    "from_email": None,
    "list_id": None,
    "custom_string": "ticket-42|sd-0123456789abcdef",
    "contact_id": None,
    "user_id": 518988,
    "subaccount_id": 589721,
    "country": "AU",
    "carrier": "Telstra",
    "first_name": None,
    "last_name": None,
    "_api_username": "demo-user",
}

# Fields that the fast path reads one by one instead of through _HISTORY_TEXT_KEYS.
NON_TEXT_KEYS = {"date", "schedule", "message_parts", "message_price", "user_id", "subaccount_id"}

# Rows that the fast path reads itself; each must match HistoryMessage.
REGULAR_VARIANTS: dict[str, dict[str, Any]] = {
    "as sent": {},
    "integers as JSON numbers": {"date": 1436932432, "schedule": 1436932432, "message_parts": 2},
    "digits for ids": {"user_id": "518988", "subaccount_id": "589721"},
    "parts as digits": {"message_parts": "3"},
    "null fields": {"status_code": None, "body": None, "from": None, "message_parts": None, "message_price": None},
    "empty times": {"schedule": "", "date": ""},
    "price as number": {"message_price": 0.0792},
    "price as integer": {"message_price": 1},
    "price with spaces": {"message_price": " 0.07 "},
    "price exponent": {"message_price": "7E-2"},
    "negative zero price": {"message_price": "-0.000"},
    "inbound": {"direction": "in", "from": "61491570156", "to": "+61491570999"},
    "unknown extra field": {"new_field": {"nested": [1, 2]}},
    "epoch zero": {"date": "0"},
}

# Rows that only HistoryMessage may judge; read_history_row must still match it.
ODD_VARIANTS: dict[str, dict[str, Any]] = {
    "id as number": {"message_id": 12345},
    "status code as number": {"status_code": 201},
    "direction as number": {"direction": 1},
    "date with trailing comma": {"date": "1721099039,"},
    "date with spaces": {"date": " 1436932432 "},
    "date as float": {"date": 1436932432.0},
    "date negative": {"date": -5},
    "date full-width digits": {"date": "\uff11\uff14\uff13\uff16"},
    "parts as float text": {"message_parts": "2.0"},
    "parts as float": {"message_parts": 1.0},
    "parts empty": {"message_parts": ""},
    "parts exponent": {"message_parts": "1e3"},
    "price empty": {"message_price": ""},
    "price spaces only": {"message_price": "   "},
    "user id as float": {"user_id": 5.0},
    "python name of from": {"from_": "+61491570111"},
    "both names of from": {"from_": "+61491570111", "from": "+61491570222"},
}

# Rows that HistoryMessage rejects; read_history_row must reject them too.
INVALID_VARIANTS: dict[str, dict[str, Any]] = {
    "date is a word": {"date": "yesterday"},
    "schedule is a word": {"schedule": "soon"},
    "price is a word": {"message_price": "cheap"},
    "price not a number": {"message_price": "NaN"},
    "price infinite": {"message_price": "Infinity"},
    "price is boolean": {"message_price": True},
    "parts fractional": {"message_parts": "1.50"},
    "parts not a number": {"message_parts": "NaN"},
    "user id is a word": {"user_id": "abc"},
    "body is a list": {"body": ["a"]},
    "country is a number": {"country": {"code": "AU"}},
    "date superscript digit": {"date": "\u00b2"},
}


def row_with(changes: dict[str, Any]) -> dict[str, Any]:
    return {**REGULAR_ROW, **changes}


def lenient_fields(row: Any) -> HistoryFields:
    return HistoryFields.of(HistoryMessage.model_validate(row))


def assert_same_fields(fast: HistoryFields, lenient: HistoryFields) -> None:
    assert fast == lenient
    for name, fast_value, lenient_value in zip(HistoryFields._fields, fast, lenient, strict=True):
        assert type(fast_value) is type(lenient_value), name
    # Decimal("0.0792") == Decimal("0.079200"), but the cache stores the text.
    assert str(fast.message_price) == str(lenient.message_price)
    if fast.date is not None:
        assert fast.date.tzinfo is lenient.date.tzinfo


def test_fast_path_covers_every_field() -> None:
    wire_names = set()
    for name, field in HistoryMessage.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            wire_names.update(alias.choices)
        else:
            wire_names.add(alias or field.alias or name)

    assert set(models._HISTORY_TEXT_KEYS).isdisjoint(NON_TEXT_KEYS)
    assert set(models._HISTORY_TEXT_KEYS) | NON_TEXT_KEYS == wire_names


@pytest.mark.parametrize("changes", REGULAR_VARIANTS.values(), ids=REGULAR_VARIANTS.keys())
def test_regular_rows_match_model(changes: dict[str, Any]) -> None:
    row = row_with(changes)

    fast = models._read_regular_history_row(row)  # raises if the row is not regular

    assert_same_fields(fast, lenient_fields(row))
    assert_same_fields(read_history_row(row), lenient_fields(row))


@pytest.mark.parametrize("changes", ODD_VARIANTS.values(), ids=ODD_VARIANTS.keys())
def test_odd_rows_match_model(changes: dict[str, Any]) -> None:
    row = row_with(changes)

    with pytest.raises(models._IrregularRowError):
        models._read_regular_history_row(row)
    assert_same_fields(read_history_row(row), lenient_fields(row))


@pytest.mark.parametrize("changes", INVALID_VARIANTS.values(), ids=INVALID_VARIANTS.keys())
def test_invalid_rows_rejected_as_by_model(changes: dict[str, Any]) -> None:
    row = row_with(changes)

    with pytest.raises(ValidationError):
        HistoryMessage.model_validate(row)
    with pytest.raises(ValidationError):
        read_history_row(row)


@pytest.mark.parametrize("row", [None, [], "row", 7], ids=["null", "list", "text", "number"])
def test_non_object_rows_rejected_as_by_model(row: Any) -> None:
    with pytest.raises(ValidationError):
        HistoryMessage.model_validate(row)
    with pytest.raises(ValidationError):
        read_history_row(row)


@pytest.mark.parametrize("parts", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_parts_rejected_as_by_model(parts: str) -> None:
    row = row_with({"message_parts": parts})

    with pytest.raises(ValidationError):
        HistoryMessage.model_validate(row)
    with pytest.raises(ValidationError):
        read_history_row(row)


def test_empty_row_matches_model() -> None:
    assert_same_fields(models._read_regular_history_row({}), lenient_fields({}))


def test_regular_row_values() -> None:
    fields = read_history_row(REGULAR_ROW)

    assert fields.date == datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)
    assert fields.message_parts == 1
    assert fields.message_price == Decimal("0.079200")
    assert fields.from_ == "+61491570999"
    assert fields.custom_string == "ticket-42|sd-0123456789abcdef"


def test_missing_parts_and_price_get_model_defaults() -> None:
    row = {key: value for key, value in REGULAR_ROW.items() if key not in ("message_parts", "message_price")}

    fields = read_history_row(row)

    assert fields.message_parts == 0
    assert fields.message_price == Decimal(0)
    assert_same_fields(fields, lenient_fields(row))


def test_mapper_records_match_model_records() -> None:
    rows = [row_with(changes) for changes in [*REGULAR_VARIANTS.values(), *ODD_VARIANTS.values()]]
    rows.append(row_with({"message_id": ""}))
    rows.append(row_with({"to": "not a number"}))

    fast = _HistoryMapper("AU").records(rows)
    lenient = [_HistoryMapper("AU").record(lenient_fields(row)) for row in rows]

    assert fast == [record for record in lenient if record is not None]
    assert len(fast) < len(rows)  # rows without an id or a time are left out


def test_mapper_rejects_invalid_row() -> None:
    rows = [REGULAR_ROW, row_with({"date": "yesterday"})]

    with pytest.raises(ResponseValidationError, match="HistoryMessage"):
        _HistoryMapper("AU").records(rows)
