"""Outbox references carried inside ClickSend's ``custom_string``.

Every message that smsdesk sends gets a unique client reference. ClickSend has no
idempotency key, so the reference travels in ``custom_string`` and comes back in
receipts, replies and history rows. A user's own ``custom_string`` is kept in front
of it: ``combine("ticket-42", ref)`` is ``"ticket-42|sd-<16 hex>"`` and ``split``
returns ``("ticket-42", ref)`` for any user text, including text that itself
contains ``|sd-``, because the reference is always the last part.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

_SEPARATOR: Final = "|"
_PREFIX: Final = "sd-"
_BARE_LENGTH: Final = len(_PREFIX) + 16
_HEX_DIGITS: Final = frozenset("0123456789abcdef")
_REFERENCE: Final = re.compile(r"(?:(?P<user>.*)\|)?sd-(?P<ref>[0-9a-f]{16})", re.DOTALL)


def new_reference() -> str:
    """Return a fresh client reference: 16 lowercase hex digits (64 random bits)."""
    return secrets.token_hex(8)


def combine(user_custom_string: str | None, reference: str) -> str:
    """Return the ``custom_string`` to send: the user's text, then the reference."""
    if not user_custom_string:
        return f"{_PREFIX}{reference}"
    return f"{user_custom_string}{_SEPARATOR}{_PREFIX}{reference}"


def split(custom_string: str | None) -> tuple[str | None, str | None]:
    """Split a received ``custom_string`` into (the user's text, our reference).

    A string without a reference (a message sent by another tool) comes back whole
    with reference None; an empty user part comes back as None.
    """
    if not custom_string:
        return None, None
    if len(custom_string) == _BARE_LENGTH and custom_string.startswith(_PREFIX):
        # The usual case, a reference without user text, skips the regular expression.
        ref = custom_string[len(_PREFIX):]
        if _HEX_DIGITS.issuperset(ref):
            return None, ref
    match = _REFERENCE.fullmatch(custom_string)
    if match is None:
        return custom_string, None
    return match.group("user") or None, match.group("ref")
