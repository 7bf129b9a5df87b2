"""Hypothesis strategies for malformed HTTP bodies: forms, JSON, binary, nested, oversized, cut short."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

from hypothesis import strategies as st

# Values at the edges of what the parsers accept: numbers in every format,
# timestamps out of range, non-finite floats, empty and control text.
NASTY_VALUES = (
    "",
    " ",
    "0",
    "-1",
    "+61491570156",
    "61491570156",
    "0491570156",
    "+",
    "++61491570156",
    "+999999999999999999999",
    "SMSDESK",
    "1796415093",
    "1796415093.5",
    "99999999999999999999",
    "-99999999999999999999",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "2026-12-04T10:00:00Z",
    "2026-13-45T99:99:99",
    "0000-00-00 00:00:00",
    "201",
    "301",
    "null",
    "true",
    "\x00",
    "\u202e\u200b",
    "STOP",
    "😀" * 30,
    "a" * 5000,
)

CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded; charset=iso-8859-1",
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "",
    "application/json\x7f",
    "\xff\xfe",
)


@dataclass(frozen=True)
class FuzzBody:
    kind: str
    body: bytes
    content_type: str
    declared_length: int | None = None  # a Content-Length other than len(body)


def field_values() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(NASTY_VALUES),
        st.text(max_size=40),
        st.from_regex(r"\+?[0-9 ()-]{0,20}", fullmatch=True),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
    )


def json_values() -> st.SearchStrategy[object]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    )


def field_maps(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, object]]:
    """Mappings that use the route's real field names (and some others) with any values."""
    keys = st.one_of(st.sampled_from(names), st.text(max_size=12))
    values = st.one_of(field_values(), json_values())
    return st.dictionaries(keys, values, max_size=10)


def _form(fields: dict[str, object]) -> bytes:
    return urllib.parse.urlencode({key: "" if value is None else str(value) for key, value in fields.items()}).encode()


def _json(fields: object) -> bytes:
    # allow_nan: Python writes NaN and Infinity, which strict JSON parsers reject.
    return json.dumps(fields, allow_nan=True, default=str).encode()


def bodies(names: tuple[str, ...], *, max_body_bytes: int) -> st.SearchStrategy[FuzzBody]:
    """Request bodies of every kind the routes must survive."""
    fields = field_maps(names)
    content_types = st.one_of(st.sampled_from(CONTENT_TYPES), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30))
    form = st.builds(lambda f, ct: FuzzBody("form", _form(f), ct), fields, content_types)
    raw_form = st.builds(
        lambda pairs, ct: FuzzBody("raw-form", "&".join(pairs).encode("utf-8", "surrogatepass"), ct),
        st.lists(
            st.from_regex(r"[a-z_]{0,12}=?(%[0-9A-Fa-fzZ]{0,2}|[^&]){0,20}", fullmatch=True).filter(
                lambda text: not any(0xD800 <= ord(char) <= 0xDFFF for char in text)
            ),
            max_size=6,
        ),
        content_types,
    )

    as_json = st.builds(lambda f, ct: FuzzBody("json", _json(f), ct), st.one_of(fields, json_values()), content_types)
    wrongly_encoded = st.builds(
        lambda f, encoding, ct: FuzzBody(f"json-{encoding}", json.dumps(f, ensure_ascii=False, default=str).encode(encoding, "replace"), ct),
        fields,
        st.sampled_from(["utf-16", "utf-32", "cp1252", "shift_jis"]),
        content_types,
    )

    binary = st.builds(lambda data, ct: FuzzBody("binary", data, ct), st.binary(max_size=2048), content_types)
    nested = st.builds(
        lambda opener, depth, ct: FuzzBody("nested", opener * depth, ct),
        st.sampled_from([b"[", b'{"a":', b'{"from":[']),
        st.integers(min_value=100, max_value=max_body_bytes // 6),
        st.sampled_from(["application/json", "", "text/plain"]),
    )
    oversized = st.builds(
        lambda prefix, extra, ct: FuzzBody("oversized", prefix + b"x" * (max_body_bytes + extra), ct),
        st.sampled_from([b"from=61491570156&body=", b'{"from": "61491570156", "body": "', b""]),
        st.integers(min_value=1, max_value=max_body_bytes),
        content_types,
    )

    whole = st.one_of(form, raw_form, as_json, wrongly_encoded, binary, nested, oversized)
    return st.one_of(whole, whole.flatmap(_cut_short))


def _cut_short(body: FuzzBody) -> st.SearchStrategy[FuzzBody]:
    """The same body truncated: either with a matching length, or with the full length declared."""
    if not body.body:
        return st.just(body)
    return st.builds(
        lambda cut, in_transit: FuzzBody(
            f"{body.kind}-truncated{'-in-transit' if in_transit else ''}",
            body.body[:cut],
            body.content_type,
            len(body.body) if in_transit else None,
        ),
        st.integers(min_value=0, max_value=len(body.body) - 1),
        st.booleans(),
    )
