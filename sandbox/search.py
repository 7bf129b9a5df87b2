"""ClickSend's list search syntax: `q=field:value,field2:value` and `order_by=field:asc|desc`."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.validation import RequestError


class SearchError(RequestError):
    """A `q`, `order_by` or date parameter that cannot be applied."""


def parse_q(raw: str, fields: Sequence[str]) -> list[tuple[str, str]]:
    """Split `q` into (field, value) pairs, rejecting fields the list cannot be searched by."""
    filters = []
    for term in (part.strip() for part in raw.split(",")):
        if not term:
            continue
        name, sep, value = term.partition(":")
        name = name.strip().lower()
        if not sep or name not in fields:
            raise SearchError(
                {"q": f"Cannot search by {term!r}; use field:value with one of "
                      f"{', '.join(fields)}, several joined by commas."}
            )
        filters.append((name, value.strip()))
    return filters


def parse_order(raw: str, fields: Sequence[str], *, default: str) -> tuple[str, bool]:
    """Return (field, descending) from `order_by`; an empty value sorts by `default` ascending."""
    if not raw:
        return default, False
    field, _, direction = raw.partition(":")
    field = field.strip().lower()
    direction = (direction.strip() or "asc").lower()
    if field not in fields or direction not in ("asc", "desc"):
        raise SearchError(
            {"order_by": f"Cannot sort by {raw!r}; use field:asc or field:desc with one of "
                         f"{', '.join(fields)}."}
        )
    return field, direction == "desc"


def matches_all(actual: dict[str, str], filters: list[tuple[str, str]], *, any_match: bool = False) -> bool:
    """Compare each filter with the record's value, ignoring case as ClickSend's searches do.

    NOTE: whether ClickSend matches whole values or substrings is not
    documented; the sandbox compares whole values.
    """
    if not filters:
        return True
    results = [actual[name].lower() == value.lower() for name, value in filters]
    return any(results) if any_match else all(results)
