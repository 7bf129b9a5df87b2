"""Phone numbers and sender IDs: E.164 normalization, validation and masking.

Every number that enters smsdesk, typed by a user or sent by ClickSend, goes
through `normalize_number`, so one conversation has one key: the local
`0491 570 156`, the international `+61 491 570 156` and ClickSend's inbound
`61491570156` (no `+`) all become `+61491570156`.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "InvalidNumberError",
    "InvalidSenderError",
    "format_number",
    "mask_number",
    "normalize_number",
    "validate_sender",
]

# Digits with the separators people type. Letters are rejected because
# phonenumbers would otherwise read "1800-FLOWERS" style vanity numbers.
_NUMBER_CHARACTERS = re.compile(r"^\+?[\d\s().\-/]+$")

# ClickSend and the carriers accept alphanumeric sender IDs of 1 to 11 ASCII
# letters and digits. Spaces and punctuation make the message undeliverable.
ALPHA_SENDER_MAX_LENGTH = 11
_ALPHA_SENDER = re.compile(r"^[A-Za-z0-9]+$")

# Digits kept visible by `mask_number`.
_MASK_VISIBLE_DIGITS = 3


class InvalidNumberError(ValueError):
    """A phone number that cannot be turned into a valid E.164 number."""

    def __init__(self, raw: str, reason: str = "it is not a valid phone number", *, default_region: str = "AU") -> None:
        self.raw = raw
        self.default_region = default_region
        example = _example_number(default_region)
        super().__init__(
            f"Invalid phone number {raw!r}: {reason}. Use the international format with "
            f"the country code, such as {example}, or a national number of region "
            f"{default_region}."
        )


class InvalidSenderError(ValueError):
    """A sender that is neither a valid alphanumeric sender ID nor a phone number."""

    def __init__(self, sender: str, reason: str) -> None:
        self.sender = sender
        super().__init__(
            f"Invalid sender {sender!r}: {reason}. Use an approved sender ID of 1 to "
            f"{ALPHA_SENDER_MAX_LENGTH} letters and digits without spaces (such as "
            f"ACMEPLUMB), or a phone number in international format."
        )


def normalize_number(raw: str, *, default_region: str = "AU") -> str:
    """Return `raw` as an E.164 number such as '+61491570156'.

    A number without a leading '+' or international prefix is read as a
    national number of `default_region` first. ClickSend sends inbound
    numbers as digits with the country code but no '+' (`447700900123`), so
    when the national reading is not a valid number, the digits are read
    again as an international number.

    Raises InvalidNumberError when neither reading gives a usable number.
    """
    return _normalize(raw, default_region.upper())


# Parsing takes tens of microseconds per number, and the same numbers come
# back in every send, receipt and inbound message, so results are cached.
# Errors are not cached because lru_cache does not store exceptions.
@functools.lru_cache(maxsize=100_000)
def _normalize(raw: str, region: str) -> str:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"Unknown region {region!r}: use a two-letter ISO 3166 country code such as AU, GB or US."
        )

    text = raw.strip()
    if not text:
        raise InvalidNumberError(raw, "the number is empty", default_region=region)
    if not _NUMBER_CHARACTERS.match(text):
        raise InvalidNumberError(
            raw, "a phone number contains only digits, spaces, '+', '-', '.' and brackets", default_region=region
        )

    candidates = [_parse(text, region)]
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and not digits.startswith("0"):
        candidates.append(_parse("+" + digits, region))
    candidates = [number for number in candidates if number is not None]

    for number in candidates:
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)

    # phonenumbers' metadata leaves out ranges reserved for drama and tests,
    # such as Ofcom's +44 7700 900xxx, which demos and tests use. So a number
    # with the exact length of a mobile number in its country is accepted too.
    for number in candidates:
        reason = phonenumbers.is_possible_number_for_type_with_reason(number, PhoneNumberType.MOBILE)
        if reason == phonenumbers.ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)

    raise InvalidNumberError(raw, _describe_problem(candidates), default_region=region)


def validate_sender(sender: str, *, default_region: str = "AU") -> str:
    """Check a sender before anything is sent and return it in the form ClickSend expects.

    An alphanumeric sender ID (at least one letter) is returned unchanged. A
    sender made of digits is normalized to E.164 with `normalize_number`.
    Raises InvalidSenderError naming the sender and the rule it breaks.
    """
    text = sender.strip()
    if not text:
        raise InvalidSenderError(sender, "the sender is empty")

    looks_like_number = _NUMBER_CHARACTERS.match(text) is not None
    if looks_like_number:
        try:
            return normalize_number(text, default_region=default_region)
        except InvalidNumberError as error:
            raise InvalidSenderError(sender, "it is not a valid phone number") from error

    if " " in text:
        raise InvalidSenderError(sender, "a sender ID cannot contain spaces")
    if not _ALPHA_SENDER.match(text):
        raise InvalidSenderError(sender, "a sender ID can contain only the letters A-Z and a-z and the digits 0-9")
    if len(text) > ALPHA_SENDER_MAX_LENGTH:
        raise InvalidSenderError(
            sender, f"a sender ID has at most {ALPHA_SENDER_MAX_LENGTH} characters and this one has {len(text)}"
        )
    return text


def mask_number(number: str | None) -> str:
    """Return `number` with all but its last three characters replaced by '*', for logs."""
    if not number:
        return ""
    if len(number) <= _MASK_VISIBLE_DIGITS:
        return "*" * len(number)
    return "*" * (len(number) - _MASK_VISIBLE_DIGITS) + number[-_MASK_VISIBLE_DIGITS:]


def format_number(number: str, *, default_region: str = "AU") -> str:
    """Format an E.164 number for people: national format inside `default_region`, else international.

    A value that does not parse (an alphanumeric sender such as 'ACMEPLUMB')
    is returned unchanged.
    """
    try:
        parsed = phonenumbers.parse(number, default_region.upper())
    except NumberParseException:
        return number
    if phonenumbers.region_code_for_number(parsed) == default_region.upper():
        return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _describe_problem(candidates: list[phonenumbers.PhoneNumber]) -> str:
    if not candidates:
        return "it is not a phone number"
    reason = phonenumbers.is_possible_number_with_reason(candidates[0])
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        return "it has too few digits"
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return "it has too many digits"
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return "the country code is unknown"
    return "it is not a valid phone number"


def _example_number(region: str) -> str:
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return "+61491570156"
    return phonenumbers.format_number(example, PhoneNumberFormat.E164)
