"""`GET /sms/history`: search (`q`), sort (`order_by`), date range, row shape."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.accounts import Account
from sandbox.models import OutboundMessage
from sandbox.search import SearchError, matches_all, parse_order, parse_q

if TYPE_CHECKING:
    from sandbox.state import SandboxState

Q_FIELDS = ("status", "to", "from", "message_id", "subaccount_id", "status_code")
ORDER_FIELDS = ("date", "username", "from", "to", "status", "body")


# Cached query results kept per state; older versions are dropped when this many pile up.
_CACHE_SIZE = 32


def query_history(state: SandboxState, username: str, query: Mapping[str, str]) -> list[OutboundMessage]:
    """Return the account's outbound messages, filtered and sorted by the query parameters.

    The result is cached until the state changes, so paging through a large
    history filters and sorts once, not once per page. Callers must not
    modify the returned list.
    """
    key = (username, *(query.get(name, "") for name in ("q", "order_by", "date_from", "date_to", "operator")))
    cached = state.history_cache.get(key)
    if cached is not None and cached[0] == state.version:
        return cached[1]
    selected = _run_query(state, username, query)
    if len(state.history_cache) >= _CACHE_SIZE:
        state.history_cache.clear()
    state.history_cache[key] = (state.version, selected)
    return selected


def _run_query(state: SandboxState, username: str, query: Mapping[str, str]) -> list[OutboundMessage]:
    # NOTE: rows carry a direction field, but whether ClickSend lists inbound
    # messages here is not documented; the sandbox lists outbound messages only.
    messages = [m for m in state.messages.values() if m.username == username]
    filters = parse_q(query.get("q", ""), Q_FIELDS)
    date_from = _date_param(query, "date_from")
    date_to = _date_param(query, "date_to")
    # ClickSend's rule for searches: several conditions are ANDed unless operator=OR.
    any_match = query.get("operator", "AND").upper() == "OR"
    account = state.accounts[username]

    selected = []
    for message in messages:
        if date_from is not None and message.date < date_from:
            continue
        if date_to is not None and message.date > date_to:
            continue
        if filters and not matches_all(_search_values(message, account), filters, any_match=any_match):
            continue
        selected.append(message)

    field, descending = parse_order(query.get("order_by", ""), ORDER_FIELDS, default="date")
    # The sort is stable, so equal keys keep the order in which messages were sent.
    selected.sort(key=lambda m: _sort_key(m, field), reverse=descending)
    return selected


def _date_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise SearchError({name: f"The {name} must be a Unix timestamp, got {raw!r}."}) from None


def _search_values(message: OutboundMessage, account: Account) -> dict[str, str]:
    status, status_code, _ = message.history_status
    return {
        "status": status,
        "to": message.to,
        "from": message.from_,
        "message_id": message.message_id,
        "subaccount_id": str(account.subaccount_id),
        "status_code": status_code or "",
    }


def _sort_key(message: OutboundMessage, field: str) -> Any:
    if field == "date":
        return message.date
    if field == "status":
        return message.history_status[0]
    return {"username": message.username, "from": message.from_, "to": message.to,
            "body": message.body}[field].lower()


def history_row(message: OutboundMessage, account: Account, *, string_types: bool = True) -> dict[str, Any]:
    """Return one history row, by default in ClickSend's string-typed history shape.

    Unlike send responses, ClickSend's history examples give `date`, `schedule`
    and `message_parts` as strings ("1436932432", "1.00") and prices with six
    decimals ("0.070000"), while the description's schema has integers for
    `date` and `message_parts`. The sandbox sends the strings so that clients
    must parse both; `string_types=False` gives the schema's integers.
    """
    status, status_code, status_text = message.history_status
    schedule = message.schedule if message.schedule is not None else message.date
    failed = message.error_code is not None and status == "Failed"
    return {
        "direction": "out",
        "date": str(message.date) if string_types else message.date,
        "to": message.to,
        "body": message.body,
        "status": status,
        "from": message.from_,
        "schedule": str(schedule),
        "status_code": status_code,
        "status_text": status_text,
        "error_code": str(message.error_code) if failed else None,
        "error_text": status_text if failed else None,
        "message_id": message.message_id,
        "message_parts": f"{message.message_parts:.2f}" if string_types else message.message_parts,
        "message_price": str(message.price.quantize(Decimal("0.000001"))),
        "from_email": message.from_email,
        "list_id": None,
        "custom_string": message.custom_string,
        "contact_id": None,
        "user_id": account.user_id,
        "subaccount_id": account.subaccount_id,
        "country": message.country,
        "carrier": message.carrier,
        "first_name": None,
        "last_name": None,
        "_api_username": account.username,
    }


def export_columns() -> list[str]:
    return [
        "date", "direction", "from", "to", "body", "status", "status_code", "status_text",
        "error_code", "error_text", "message_id", "message_parts", "message_price",
        "custom_string", "country", "carrier",
    ]
