"""Slack request signature verification with a reason for every rejection.

Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with HMAC-SHA256 and the
app's signing secret. The check must run on the body bytes exactly as they
arrived: a proxy that re-encodes the form body (`a+b` to `a%20b`) breaks the
signature. Requests older than five minutes are rejected as replays, so a server
clock that drifts (no NTP) rejects everything.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from collections.abc import Callable, Mapping

# Slack's documented replay window for request timestamps.
MAX_REQUEST_AGE_SECONDS = 5 * 60


class SignatureError(Exception):
    """The request did not come from Slack, or arrived altered or late.

    The message names the reason and is safe to log: it never contains the secret,
    the signature or the body.
    """


def compute_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_request(
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: Callable[[], float] = time.time,
) -> None:
    """Raise `SignatureError` unless `body` and `headers` carry a valid, fresh Slack signature."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"invalid X-Slack-Request-Timestamp {timestamp[:20]!r}") from None

    age = now() - sent_at
    if abs(age) > MAX_REQUEST_AGE_SECONDS:
        raise SignatureError(
            f"stale timestamp: the request is {age:+.0f} s from this server's clock "
            f"(limit {MAX_REQUEST_AGE_SECONDS} s); check that the clock is synchronised with NTP"
        )

    expected = compute_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError(
            "signature mismatch: the body was altered on the way (a proxy that re-encodes "
            "bodies) or the signing secret is wrong"
        )


class ReplayGuard:
    """Accept each signature once while its timestamp could still pass the age check.

    Slack never sends the same signature twice: a retried event is signed again with a
    new timestamp. A repeated signature is a captured request being replayed.
    """

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._seen: set[str] = set()
        # (time it may be forgotten, signature), oldest first: every signature is kept
        # equally long, so the expired ones are always at the front.
        self._expiry: deque[tuple[float, str]] = deque()

    def first_use(self, signature: str) -> bool:
        now = self._now()
        while self._expiry and self._expiry[0][0] <= now:
            self._seen.discard(self._expiry.popleft()[1])
        if signature in self._seen:
            return False
        # A timestamp up to the maximum age in the future stays acceptable for twice that long.
        self._seen.add(signature)
        self._expiry.append((now + 2 * MAX_REQUEST_AGE_SECONDS, signature))
        return True

    def __len__(self) -> int:
        return len(self._seen)
