"""Slack request signature checks, each rejection with its reason."""

import pytest
from multidict import CIMultiDict

from slackbot.signing import ReplayGuard, SignatureError, compute_signature, verify_request
from tests.slackbot.fake_slack import SIGNING_SECRET, sign

NOW = 1_800_000_000
BODY = b"command=%2Fsms&text=a+b"


def headers(timestamp, signature):
    return CIMultiDict({"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature})


def test_compute_signature_matches_slack_scheme():
    assert compute_signature(SIGNING_SECRET, str(NOW), BODY) == sign(SIGNING_SECRET, str(NOW), BODY)


@pytest.mark.parametrize("age", [0, 299, -299])
def test_verify_request_accepts_fresh(age):
    stamp = NOW - age

    verify_request(secret=SIGNING_SECRET, body=BODY, headers=headers(stamp, sign(SIGNING_SECRET, str(stamp), BODY)),
                   now=lambda: NOW)


REJECTED = [
    ("stale", headers(NOW - 360, sign(SIGNING_SECRET, str(NOW - 360), BODY)), BODY, "stale timestamp"),
    ("future", headers(NOW + 360, sign(SIGNING_SECRET, str(NOW + 360), BODY)), BODY, "stale timestamp"),
    ("re-encoded", headers(NOW, sign(SIGNING_SECRET, str(NOW), BODY)), BODY.replace(b"+", b"%20"), "signature mismatch"),
    ("other secret", headers(NOW, sign("other-secret", str(NOW), BODY)), BODY, "signature mismatch"),
    ("no signature", CIMultiDict({"X-Slack-Request-Timestamp": str(NOW)}), BODY, "missing"),
    ("bad timestamp", headers("yesterday", "v0=00"), BODY, "invalid X-Slack-Request-Timestamp"),
]


@pytest.mark.parametrize(("case", "request_headers", "body", "reason"), REJECTED, ids=[r[0] for r in REJECTED])
def test_verify_request_rejects(case, request_headers, body, reason):
    with pytest.raises(SignatureError) as info:
        verify_request(secret=SIGNING_SECRET, body=body, headers=request_headers, now=lambda: NOW)

    assert reason in str(info.value)
    assert SIGNING_SECRET not in str(info.value)


def test_replay_guard_accepts_each_signature_once():
    clock = [0.0]
    guard = ReplayGuard(now=lambda: clock[0])

    assert guard.first_use("v0=aa") is True
    assert guard.first_use("v0=aa") is False
    assert guard.first_use("v0=bb") is True
    clock[0] += 10 * 60 + 1  # long after any timestamp could still pass the age check
    assert guard.first_use("v0=aa") is True


def test_replay_guard_forgets_expired_signatures():
    clock = [0.0]
    guard = ReplayGuard(now=lambda: clock[0])
    for index in range(1000):
        guard.first_use(f"v0={index:04x}")
        clock[0] += 1.0

    # Each signature is kept for 10 minutes after its first use, so the first 600 expire.
    clock[0] = 600 + 599.5
    guard.first_use("v0=new")

    assert len(guard) == 401
    assert guard.first_use("v0=03e7") is False  # the last of the 1,000 is still remembered
    assert guard.first_use("v0=0000") is True
