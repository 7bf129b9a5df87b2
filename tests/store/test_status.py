"""Mapping ClickSend's delivery words and codes to cache statuses."""

from __future__ import annotations

import pytest

from core import status


@pytest.mark.parametrize(
    ("word", "code", "expected"),
    [
        ("Scheduled", "200", status.SCHEDULED),
        ("Queued", "200", status.QUEUED),
        ("WaitApproval", "200", status.QUEUED),
        ("Cancelled", "301", status.CANCELLED),
        ("CancelledAfterReview", None, status.CANCELLED),
        ("Sent", "200", status.SENT),
        ("Sent", "201", status.DELIVERED),
        ("Completed", None, status.SENT),
        ("Failed", "301", status.FAILED),
        ("Failed", "300", status.SENT),
        ("Delivered", None, status.DELIVERED),
        ("SomethingNew", None, status.QUEUED),
    ],
)
def test_from_history_table(word: str, code: str | None, expected: str) -> None:
    assert status.from_history(word, code) == expected
