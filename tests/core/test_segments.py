import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentInfo,
    count_segments,
    is_gsm7,
    normalize_quotes,
)

EURO = "\u20ac"
APOSTROPHE = "\u2019"
KISS = "\U0001f618"
SUNGLASSES = "\U0001f60e"
WHALE = "\U0001f433"
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"

# (text, encoding, units, parts)
CASES = [
    pytest.param("", "GSM-7", 0, 0, id="empty"),
    pytest.param("hello", "GSM-7", 5, 1, id="ascii"),
    # Extension characters are an escape septet plus one.
    pytest.param(f"Price: 5{EURO}", "GSM-7", 10, 1, id="euro-two-septets"),
    pytest.param("]" * 80, "GSM-7", 160, 1, id="extension-fills-one-part"),
    pytest.param("]" * 81, "GSM-7", 162, 2, id="extension-spills-to-two-parts"),
    # Once the text is UCS-2, extension characters are one UTF-16 unit.
    pytest.param("]" * 69 + KISS, "UCS-2", 71, 2, id="ucs2-extension-one-unit"),
    pytest.param("|" * 69 + "\u221e", "UCS-2", 70, 1, id="ucs2-infinity-fills-one-part"),
    # Emoji outside the BMP are surrogate pairs.
    pytest.param(SUNGLASSES * 70, "UCS-2", 140, 3, id="emoji-70"),
    pytest.param(WHALE * 35, "UCS-2", 70, 1, id="emoji-35"),
    pytest.param(WHALE * 36, "UCS-2", 72, 2, id="emoji-36"),
    pytest.param(FAMILY, "UCS-2", 8, 1, id="zwj-sequence-counts-units"),
    # A typographic apostrophe forces UCS-2.
    pytest.param("x" * 99 + APOSTROPHE, "UCS-2", 100, 2, id="typographic-apostrophe"),
    pytest.param("x" * 99 + "'", "GSM-7", 100, 1, id="ascii-apostrophe"),
    # Counted on decoded text, not on a URL-encoded body.
    pytest.param("a b&c", "GSM-7", 5, 1, id="decoded-not-urlencoded"),
    pytest.param("Hei på deg", "GSM-7", 10, 1, id="gsm-latin-letter"),
    # Boundaries of the single-part and multi-part sizes.
    pytest.param("a" * 160, "GSM-7", 160, 1, id="gsm-160"),
    pytest.param("a" * 161, "GSM-7", 161, 2, id="gsm-161"),
    pytest.param("a" * 306, "GSM-7", 306, 2, id="gsm-153x2"),
    pytest.param("a" * 307, "GSM-7", 307, 3, id="gsm-153x2-plus-1"),
    pytest.param("é" * 70, "GSM-7", 70, 1, id="gsm-basic-accent"),
    pytest.param("ж" * 70, "UCS-2", 70, 1, id="ucs2-70"),
    pytest.param("ж" * 71, "UCS-2", 71, 2, id="ucs2-71"),
    pytest.param("ж" * 134, "UCS-2", 134, 2, id="ucs2-67x2"),
    pytest.param("ж" * 135, "UCS-2", 135, 3, id="ucs2-67x2-plus-1"),
    # An escape pair at septets 153-154 moves whole to part two, which then
    # needs 2 + 152 = 154 septets: one more than fits.
    pytest.param("a" * 152 + EURO + "a" * 152, "GSM-7", 306, 3, id="escape-pair-at-153"),
    pytest.param("a" * 151 + EURO + "a" * 153, "GSM-7", 306, 2, id="escape-pair-ends-part-one"),
    # A surrogate pair at units 67-68 moves whole to part two.
    pytest.param("ж" * 66 + WHALE + "ж" * 66, "UCS-2", 134, 3, id="surrogate-pair-at-67"),
    pytest.param("ж" * 65 + WHALE + "ж" * 67, "UCS-2", 134, 2, id="surrogate-pair-ends-part-one"),
]


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), CASES)
def test_count_segments_table(text, encoding, units, parts):
    info = count_segments(text)

    assert info.encoding == encoding
    assert info.units == units
    assert info.parts == parts


def test_count_segments_single_part_capacity():
    info = count_segments("hello")

    assert info.units_per_part == 160
    assert info.remaining == 155


def test_count_segments_multi_part_capacity():
    info = count_segments("a" * 161)

    assert info.units_per_part == 153
    assert info.remaining == 153 * 2 - 161


def test_count_segments_ucs2_capacity():
    info = count_segments("ж" * 71)

    assert info.units_per_part == 67
    assert info.remaining == 67 * 2 - 71


def test_count_segments_escape_pair_leaves_gap():
    # Part one ends one septet short because the escape pair cannot straddle.
    info = count_segments("a" * 152 + EURO + "a" * 10)

    assert info.parts == 2
    assert info.remaining == 153 - 12


def test_count_segments_surrogate_pair_leaves_gap():
    info = count_segments("ж" * 66 + WHALE + "ж" * 10)

    assert info.parts == 2
    assert info.remaining == 67 - 12


def test_count_segments_empty():
    assert count_segments("") == SegmentInfo("GSM-7", 0, 0, 160, 160, ())


def test_count_segments_names_unicode_chars_in_order():
    info = count_segments(f"We{APOSTROPHE}re open {KISS} and we{APOSTROPHE}ll wait")

    assert info.unicode_chars == (APOSTROPHE, KISS)


def test_count_segments_gsm7_has_no_unicode_chars():
    assert count_segments(f"{EURO}[]").unicode_chars == ()


def test_gsm7_tables_from_package():
    assert "@" in GSM7_BASIC
    assert "\n" in GSM7_BASIC
    assert "\x1b" not in GSM7_BASIC
    assert set(f"{EURO}[]{{}}^~|\\\f") == set(GSM7_EXTENSION)


def test_is_gsm7():
    assert is_gsm7(f"Price: 5{EURO}")
    assert not is_gsm7(f"We{APOSTROPHE}re open")


def test_normalize_quotes_makes_gsm7():
    text = normalize_quotes(f"We{APOSTROPHE}re open \u201c9\u20135\u201d \u2018daily\u2019\u2026")

    assert text == "We're open \"9-5\" 'daily'..."
    assert count_segments(text).encoding == "GSM-7"


def test_normalize_quotes_apostrophe_case_one_part():
    info = count_segments(normalize_quotes("x" * 99 + APOSTROPHE))

    assert info.encoding == "GSM-7"
    assert info.parts == 1


def test_normalize_quotes_keeps_emoji():
    assert normalize_quotes(f"hi {KISS}") == f"hi {KISS}"


GSM7_BASIC_TEXT = st.text(alphabet=sorted(GSM7_BASIC), max_size=700)
ANY_TEXT = st.text(max_size=400)


@given(GSM7_BASIC_TEXT)
def test_basic_gsm7_parts_match_table(text):
    info = count_segments(text)

    if not text:
        expected = 0
    elif len(text) <= 160:
        expected = 1
    else:
        expected = math.ceil(len(text) / 153)
    assert info.parts == expected
    assert info.units == len(text)


@given(ANY_TEXT)
def test_ucs2_units_are_utf16_code_units(text):
    info = count_segments(text)

    if info.encoding == "UCS-2":
        assert info.units == len(text.encode("utf-16-le")) // 2


@given(ANY_TEXT)
def test_remaining_within_part(text):
    info = count_segments(text)

    assert 0 <= info.remaining <= info.units_per_part
    assert info.parts * info.units_per_part >= info.units
