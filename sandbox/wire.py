"""ClickSend's JSON envelope, paginator and error bodies."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web
from yarl import URL

LIMIT_MIN = 15
LIMIT_MAX = 100
LIMIT_DEFAULT = 15

# Observed error messages. ClickSend returns every error in the same envelope with data null.
UNAUTHORIZED_MSG = "Authorization failed."
SUSPENDED_MSG = "Your account is suspended. Please contact support for more information."
INVALID_ENDPOINT_MSG = "Invalid endpoint. Please try again."
TOO_MANY_ATTEMPTS_MSG = "Too many attempts."

CURRENCY_AUD = {
    "currency_name_short": "AUD",
    "currency_prefix_d": "$",
    "currency_prefix_c": "c",
    "currency_name_long": "Australian Dollars",
}


def envelope(
    data: Any,
    response_msg: str,
    *,
    http_code: int = 200,
    response_code: str = "SUCCESS",
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {
        "http_code": http_code,
        "response_code": response_code,
        "response_msg": response_msg,
        "data": data,
    }
    return web.Response(
        status=http_code,
        text=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def error(http_code: int, response_code: str, response_msg: str, data: Any = None, **kw) -> web.Response:
    return envelope(data, response_msg, http_code=http_code, response_code=response_code, **kw)


def bad_request(fields: dict[str, str], response_msg: str = "Invalid input.") -> web.Response:
    """Return ClickSend's documented 400 body: a field-to-message map in `data`."""
    return error(400, "BAD_REQUEST", response_msg, fields)


def not_found(response_msg: str = INVALID_ENDPOINT_MSG) -> web.Response:
    return error(404, "NOT_FOUND", response_msg)


def price_string(amount: Decimal, places: int = 4) -> str:
    """Format money as ClickSend does in message objects: a string with fixed decimals."""
    return str(amount.quantize(Decimal(1).scaleb(-places)))


def price_number(amount: Decimal) -> int | float:
    """Format `total_price`, which ClickSend sends as a JSON number (`0` as an integer)."""
    if amount == 0:
        return 0
    return float(amount)


class PagingError(ValueError):
    """A `page` or `limit` query parameter that is not a usable integer."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


def read_paging(request: web.Request) -> tuple[int, int]:
    """Read `page` and `limit`, clamping `limit` to ClickSend's documented 15..100.

    NOTE: whether ClickSend clamps a limit outside 15..100 or rejects it is not
    documented; the sandbox clamps, so a client asking for 10 gets 15.
    """
    fields: dict[str, str] = {}
    page = _int_param(request, "page", 1, fields)
    limit = _int_param(request, "limit", LIMIT_DEFAULT, fields)
    if page is not None and page < 1:
        fields["page"] = f"The page must be 1 or more, got {page}."
    if fields:
        raise PagingError(fields)
    return page, min(max(limit, LIMIT_MIN), LIMIT_MAX)


def _int_param(request: web.Request, name: str, default: int, fields: dict[str, str]) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        fields[name] = f"The {name} must be an integer, got {raw!r}."
        return default


def paginate(
    request: web.Request,
    items: Sequence[Any],
    page: int,
    limit: int,
    to_json: Callable[[Any], Any],
) -> dict[str, Any]:
    """Build a Laravel-style paginator as ClickSend returns it for every list.

    Only the items of the requested page are converted with `to_json`.
    """
    total = len(items)
    last_page = math.ceil(total / limit)
    start = (page - 1) * limit
    chunk = [to_json(item) for item in items[start : start + limit]]
    base = request.url.with_query(None)

    def page_url(number: int) -> str:
        query = dict(request.query)
        query["page"] = str(number)
        return str(URL(str(base)).with_query(query))

    return {
        "total": total,
        "per_page": limit,
        "current_page": page,
        "last_page": last_page,
        "next_page_url": page_url(page + 1) if page < last_page else None,
        "prev_page_url": page_url(page - 1) if page > 1 else None,
        "from": start + 1 if chunk else None,
        "to": start + len(chunk) if chunk else None,
        "data": chunk,
    }
