"""Opt-out and opt-in keywords in inbound SMS.

A reply whose whole text is an opt-out keyword (``STOP``, ``  Stop! ``, ``opt-out``)
puts the sender on the opt-out list, and so does one whose first sentence is
(``Stop. Thank you``). A sentence that merely contains such a word (``Please stop
by at 5``) is not an opt-out: it is classified as "possible" so that a person can
look at it. ``START`` or ``UNSTOP`` takes the number off the list again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

DEFAULT_OPT_OUT_KEYWORDS: Final = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
)
DEFAULT_OPT_IN_KEYWORDS: Final = ("START", "UNSTOP")

# Everyday words that are opt-out keywords on their own but too common inside a
# sentence ("see you at the end of the day") to flag that sentence as a possible opt-out.
_TOO_COMMON_FOR_A_HINT: Final = frozenset({"cancel", "end", "quit"})

OPT_OUT: Final = "opt_out"
OPT_IN: Final = "opt_in"
POSSIBLE_OPT_OUT: Final = "possible"

Classification = Literal["opt_out", "opt_in", "possible"]

_WORD_SEPARATORS: Final = re.compile(r"[\s\-_]+")
_EDGE_PUNCTUATION: Final = re.compile(r"^[\W_]+|[\W_]+$")
_FIRST_SENTENCE: Final = re.compile(r"^\s*([^.!?\n]+)[.!?\n]")


def _configured(settings: object, name: str) -> list[str] | None:
    fields_set = getattr(settings, "model_fields_set", None)
    if fields_set is not None and name not in fields_set:
        return None
    return getattr(settings, name, None) or None


def _normalize(text: str) -> str:
    """Casefold, treat hyphens and underscores as spaces, collapse spaces, strip edge punctuation."""
    words = _WORD_SEPARATORS.sub(" ", text.casefold()).strip()
    return _EDGE_PUNCTUATION.sub("", words).strip()


@dataclass(frozen=True)
class KeywordMatcher:
    """Classify inbound text against configured opt-out and opt-in keywords."""

    opt_out_keywords: frozenset[str]
    opt_in_keywords: frozenset[str]

    @classmethod
    def from_keywords(
        cls,
        opt_out: Iterable[str] | None = None,
        opt_in: Iterable[str] | None = None,
    ) -> KeywordMatcher:
        opt_out = DEFAULT_OPT_OUT_KEYWORDS if opt_out is None else opt_out
        opt_in = DEFAULT_OPT_IN_KEYWORDS if opt_in is None else opt_in
        return cls(
            opt_out_keywords=frozenset(_normalize(keyword) for keyword in opt_out if _normalize(keyword)),
            opt_in_keywords=frozenset(_normalize(keyword) for keyword in opt_in if _normalize(keyword)),
        )

    @classmethod
    def from_settings(cls, settings: object) -> KeywordMatcher:
        """Build the matcher from ``settings.opt_out_keywords`` and ``opt_in_keywords``.

        Only lists that the user set (in the file, the environment or a flag) replace
        this module's defaults; a settings model's own defaults do not.
        """
        return cls.from_keywords(_configured(settings, "opt_out_keywords"), _configured(settings, "opt_in_keywords"))

    def classify(self, text: str) -> Classification | None:
        """Return 'opt_out', 'opt_in', 'possible' or None for an ordinary message."""
        whole = _normalize(text)
        if whole in self.opt_out_keywords:
            return OPT_OUT
        if whole in self.opt_in_keywords:
            return OPT_IN

        first = _FIRST_SENTENCE.match(text)
        if first is not None and _normalize(first.group(1)) in self.opt_out_keywords:
            return OPT_OUT

        if self._mentions_opt_out(whole):
            return POSSIBLE_OPT_OUT
        return None

    def _mentions_opt_out(self, normalized: str) -> bool:
        words = [_EDGE_PUNCTUATION.sub("", word) for word in normalized.split()]
        padded = " " + " ".join(words) + " "
        for keyword in self.opt_out_keywords:
            if keyword in _TOO_COMMON_FOR_A_HINT:
                continue
            if f" {keyword} " in padded:
                return True
        return False
