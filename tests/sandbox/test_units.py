"""Small pieces of the sandbox: the clock, push URL checks, recipient lookup."""

from __future__ import annotations

import pytest

from sandbox import SandboxClock
from sandbox.pushes import PushTargetError, check_push_url, redact_url
from sandbox.state import lookup_recipient, new_message_id


def test_frozen_clock_moves_only_when_advanced() -> None:
    clock = SandboxClock(start=1_767_225_600, frozen=True)
    assert clock.now() == 1_767_225_600
    assert clock.advance(2.5) == 1_767_225_602.5
    assert clock.timestamp() == 1_767_225_602


def test_clock_rejects_going_backwards() -> None:
    clock = SandboxClock(frozen=True)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://localhost/x", "http://[::1]:9000/", "http://127.5.5.5/"]
)
def test_loopback_urls_accepted(url: str) -> None:
    assert check_push_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://example.com/", "http://192.168.1.10/", "file:///etc/passwd", "127.0.0.1:80", "http://[fe80::1]/"]
)
def test_other_urls_rejected(url: str) -> None:
    with pytest.raises(PushTargetError):
        check_push_url(url)


def test_redact_url_keeps_origin_only() -> None:
    assert redact_url("http://127.0.0.1:8080/hooks/s3cret?token=x") == "http://127.0.0.1:8080/***"
    assert redact_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("to", "country", "expected"),
    [
        ("+61491570156", None, ("+61491570156", "AU")),
        ("0491 570 156", None, ("+61491570156", "AU")),
        ("07700 900123", "GB", ("+447700900123", "GB")),
        ("+447700900123", None, ("+447700900123", "GB")),
        ("+12025550143", None, ("+12025550143", "US")),
        ("(202) 555-0143", "US", ("+12025550143", "US")),
        ("+6112", None, (None, "")),
        ("hello", None, (None, "")),
        ("", None, (None, "")),
    ],
)
def test_lookup_recipient(to: str, country: str | None, expected: tuple) -> None:
    number, iso, _ = lookup_recipient(to, country)
    assert (number, iso) == expected


def test_message_ids_are_upper_case_uuid_shaped() -> None:
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    for message_id in ids:
        assert len(message_id) == 36
        assert message_id == message_id.upper()
        assert [len(part) for part in message_id.split("-")] == [8, 4, 4, 4, 12]


def test_fictional_numbers_distinct_and_ordered() -> None:
    from sandbox.accounts import fictional_numbers

    numbers = fictional_numbers(5000)
    assert len(set(numbers)) == 5000
    assert numbers[0] == "+61491570006"
    assert numbers[154] == "+447700900000"
    assert numbers[1154] == "+12015550100"
    assert all(lookup_recipient(n, None)[0] == n for n in numbers[::97])
