"""Deterministic fictional data for the benchmarks."""

from __future__ import annotations

import random

WORDS = (
    "booking confirmed tomorrow delivery parcel invoice reminder appointment please call "
    "thanks running late arrived table ready order shipped payment received window "
    "technician roster shift pickup driver account balance update"
).split()
RARE_WORD = "zephyrine"
"""Placed in 1% of bodies, so a search for it matches about 1,000 of 100,000 messages."""


def numbers(count: int) -> list[str]:
    """Fictional AU mobile numbers in the +614915xxxxx range."""
    return [f"+614915{index:05d}" for index in range(count)]


def bodies(count: int, *, seed: int = 7) -> list[str]:
    generator = random.Random(seed)
    result = []
    for index in range(count):
        words = generator.choices(WORDS, k=18)
        if index % 100 == 0:
            words[generator.randrange(len(words))] = RARE_WORD
        result.append(" ".join(words).capitalize() + ".")
    return result


def history_rows(count: int, *, end: int, conversations: int = 5000, spacing: int = 30) -> list[tuple]:
    """Rows of (message_id, unix time, from, to, body, status), the last one at `end`."""
    contacts = numbers(conversations)
    texts = bodies(count)
    start = end - (count - 1) * spacing
    return [
        (
            f"{index:08X}-0000-4000-8000-{index:012X}",
            start + index * spacing,
            "+61491570999",
            contacts[index % conversations],
            texts[index],
            "Delivered",
        )
        for index in range(count)
    ]


def inbound_forms(count: int) -> list[dict[str, str]]:
    """Inbound pushes as ClickSend's form POST sends them: digits without a leading '+'."""
    contacts = numbers(max(1, count // 4))
    return [
        {
            "message_id": f"IN-{index:08d}",
            "from": contacts[index % len(contacts)].lstrip("+"),
            "to": "61491570999",
            "body": f"Reply number {index}",
            "message": f"Reply number {index}",
            "timestamp": str(1_760_000_000 + index),
            "custom_string": "",
        }
        for index in range(count)
    ]
