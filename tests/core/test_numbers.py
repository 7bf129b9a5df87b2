import pytest

from core.numbers import (
    InvalidNumberError,
    InvalidSenderError,
    format_number,
    mask_number,
    normalize_number,
    validate_sender,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0491 570 156", "AU", "+61491570156"),
        ("+61 491 570 156", "AU", "+61491570156"),
        # ClickSend sends inbound numbers with the country code and no '+'.
        ("61491570156", "AU", "+61491570156"),
        # 00 is the international prefix in Germany, not a German number.
        ("0044 7700 900123", "DE", "+447700900123"),
        ("07700 900123", "GB", "+447700900123"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("0491570156", "AU", "+61491570156"),
        ("+61491570156", "GB", "+61491570156"),
        ("447700900123", "AU", "+447700900123"),
        ("  +1 202.555.0143 ", "AU", "+12025550143"),
        ("0491 570 156", "au", "+61491570156"),
    ],
)
def test_normalize_number_table(raw, region, expected):
    assert normalize_number(raw, default_region=region) == expected


def test_normalize_number_default_region_is_au():
    assert normalize_number("0491 570 156") == "+61491570156"


def test_inbound_and_outbound_forms_match():
    inbound = normalize_number("61491570156", default_region="AU")
    outbound = normalize_number("0491570156", default_region="AU")
    assert inbound == outbound


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("12345", "AU"),
        ("", "AU"),
        ("   ", "AU"),
        ("1800-FLOWERS", "US"),
        ("hello", "AU"),
        ("+999 1234 5678", "AU"),
        ("0491 570 156 123 456 789", "AU"),
    ],
)
def test_normalize_number_rejects(raw, region):
    with pytest.raises(InvalidNumberError):
        normalize_number(raw, default_region=region)


def test_invalid_number_message_names_input_and_format():
    with pytest.raises(InvalidNumberError) as caught:
        normalize_number("12345", default_region="AU")
    message = str(caught.value)
    assert "'12345'" in message
    assert "international format" in message
    assert "+61" in message
    assert caught.value.raw == "12345"


def test_invalid_number_example_follows_region():
    with pytest.raises(InvalidNumberError) as caught:
        normalize_number("12345", default_region="GB")
    assert "+44" in str(caught.value)


def test_invalid_number_is_value_error():
    with pytest.raises(ValueError):
        normalize_number("12345")


def test_unknown_region_rejected():
    with pytest.raises(ValueError, match="'XX'"):
        normalize_number("0491570156", default_region="XX")


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("ACMEPLUMB", "ACMEPLUMB"),
        ("Acme2", "Acme2"),
        ("A", "A"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),
        ("+61 491 570 156", "+61491570156"),
        ("0491570156", "+61491570156"),
    ],
)
def test_validate_sender_accepts(sender, expected):
    assert validate_sender(sender) == expected


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("Random Co", "spaces"),
        ("ACMEPLUMBING1", "at most 11 characters"),
        ("Acme-Plumb", "letters"),
        ("Café", "letters"),
        ("", "empty"),
        ("12345", "not a valid phone number"),
    ],
)
def test_validate_sender_rejects(sender, reason):
    with pytest.raises(InvalidSenderError) as caught:
        validate_sender(sender)
    message = str(caught.value)
    assert repr(sender) in message
    assert reason in message


def test_validate_sender_message_says_what_to_use():
    with pytest.raises(InvalidSenderError) as caught:
        validate_sender("ACMEPLUMBING1")
    message = str(caught.value)
    assert "has 13" in message
    assert "letters and digits" in message


def test_validate_sender_uses_region_for_numbers():
    assert validate_sender("07700 900123", default_region="GB") == "+447700900123"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+61491570156", "*********156"),
        ("156", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_number(number, expected):
    assert mask_number(number) == expected


def test_mask_number_hides_all_but_three_digits():
    masked = mask_number("+447700900123")
    assert "7700" not in masked
    assert masked.endswith("123")


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+61491570156", "AU", "0491 570 156"),
        ("+61491570156", "GB", "+61 491 570 156"),
        ("ACMEPLUMB", "AU", "ACMEPLUMB"),
    ],
)
def test_format_number(number, region, expected):
    assert format_number(number, default_region=region) == expected


def test_normalize_number_cached_per_region():
    assert normalize_number("0491570156", default_region="AU") == "+61491570156"
    # The same text in another region is a different number, not a cache hit.
    assert normalize_number("07700 900123", default_region="GB") == "+447700900123"
    with pytest.raises(InvalidNumberError):
        normalize_number("07700 900123", default_region="AU")


def test_normalize_number_error_repeats():
    for _ in range(2):
        with pytest.raises(InvalidNumberError):
            normalize_number("12345")
