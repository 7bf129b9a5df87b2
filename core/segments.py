"""Count SMS parts the way handsets and ClickSend do.

A message is sent as GSM 03.38 (GSM-7) when every character is in the basic or
the extension table, otherwise as UCS-2 (UTF-16 on current networks):

- GSM-7 counts septets. An extension character (``€ [ ] { } ^ ~ | \\`` and form
  feed) is an escape septet plus one, so it counts 2 and its pair is never split
  across two parts.
- UCS-2 counts UTF-16 code units. A character outside the Basic Multilingual
  Plane (most emoji) is a surrogate pair of 2 units that is never split either.
- One part contains 160 septets or 70 units. A longer message is split into parts
  of 153 septets or 67 units, because each part carries a user data header.

Counting works on the decoded text, never on a URL- or JSON-encoded body.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

# The tables map GSM code points to Unicode character names, which the
# package's own codec resolves with unicodedata.lookup too.
from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION

# 0x1B in the basic table is the escape to the extension table, not a character.
_ESCAPE_NAME = "ESCAPE"

GSM7_BASIC: frozenset[str] = frozenset(
    unicodedata.lookup(name) for name in BASIC_CHARACTER_SET.values() if name != _ESCAPE_NAME
)
GSM7_EXTENSION: frozenset[str] = frozenset(
    unicodedata.lookup(name) for name in BASIC_CHARACTER_SET_EXTENSION.values()
)

GSM7_SINGLE_PART_SEPTETS = 160
GSM7_MULTI_PART_SEPTETS = 153
UCS2_SINGLE_PART_UNITS = 70
UCS2_MULTI_PART_UNITS = 67

# Typographic characters that word processors and translators insert, with the
# GSM-7 text that reads the same. One of them alone turns a message into UCS-2.
_GSM7_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, the usual apostrophe
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2026": "...",  # horizontal ellipsis
    }
)

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentInfo:
    """Encoding and SMS part count of one text."""

    encoding: Encoding
    units: int
    """Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2."""
    parts: int
    """Number of SMS parts, 0 for an empty text."""
    units_per_part: int
    """Capacity of each part: 160/153 septets or 70/67 units, depending on `parts`."""
    remaining: int
    """Units still free in the last part."""
    unicode_chars: tuple[str, ...]
    """Distinct characters that forced UCS-2, in order of first appearance."""


def count_segments(text: str) -> SegmentInfo:
    """Count the encoding, units and parts of `text` as it will be sent."""
    unicode_chars = _non_gsm7_chars(text)
    if unicode_chars:
        encoding: Encoding = "UCS-2"
        widths = [_utf16_units(char) for char in text]
        single, multi = UCS2_SINGLE_PART_UNITS, UCS2_MULTI_PART_UNITS
    else:
        encoding = "GSM-7"
        widths = [2 if char in GSM7_EXTENSION else 1 for char in text]
        single, multi = GSM7_SINGLE_PART_SEPTETS, GSM7_MULTI_PART_SEPTETS

    units = sum(widths)
    if units <= single:
        parts = 1 if units else 0
        return SegmentInfo(encoding, units, parts, single, single - units, unicode_chars)

    parts, used_in_last = _pack(widths, multi)
    return SegmentInfo(encoding, units, parts, multi, multi - used_in_last, unicode_chars)


def is_gsm7(text: str) -> bool:
    """Return True when every character of `text` is in the GSM-7 basic or extension table."""
    return not _non_gsm7_chars(text)


def normalize_quotes(text: str) -> str:
    """Replace typographic quotes, dashes and the ellipsis with their GSM-7 look-alikes.

    Other characters are left alone, so a text with an emoji stays UCS-2.
    """
    return text.translate(_GSM7_LOOKALIKES)


def _non_gsm7_chars(text: str) -> tuple[str, ...]:
    # dict.fromkeys keeps the order of first appearance and drops repeats.
    return tuple(
        dict.fromkeys(char for char in text if char not in GSM7_BASIC and char not in GSM7_EXTENSION)
    )


def _utf16_units(char: str) -> int:
    # Characters above U+FFFF are encoded as a surrogate pair.
    return 2 if ord(char) > 0xFFFF else 1


def _pack(widths: list[int], capacity: int) -> tuple[int, int]:
    """Fill parts of `capacity` units in order without splitting any character.

    Returns the number of parts and the units used in the last one. A 2-unit
    character that does not fit in what is left of a part starts the next part,
    so a part can end one unit short of `capacity`.
    """
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:
            parts += 1
            used = 0
        used += width
    return parts, used
