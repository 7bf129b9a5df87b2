"""Webhook pushes of receipts and inbound replies, as ClickSend's URL rules send them.

Receipts go as an `application/x-www-form-urlencoded` POST ("the only
forwarding format we support", ClickSend help). Inbound replies go as a form
POST (`post`), as query parameters of a GET (`get`) or as a JSON POST
(`json`). A failed attempt is retried on the sandbox clock (see
PUSH_RETRY_DELAYS in state.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from sandbox.models import Push

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

# ClickSend's archived help: a push "times out after 15 seconds".
PUSH_TIMEOUT_SECONDS = 15.0


class PushTargetError(ValueError):
    """A webhook URL the sandbox will not call."""


def check_push_url(url: str) -> str:
    """Return `url` if it is an http(s) URL on a loopback address, else raise PushTargetError.

    The sandbox runs on a developer's machine, so it only ever calls back to
    that machine.
    """
    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise PushTargetError(f"The webhook URL {url!r} must be an http:// or https:// URL.")
    host = parsed.host
    if host == "localhost":
        return url
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise PushTargetError(
            f"The sandbox only pushes to loopback addresses, not {host!r}; "
            f"use a URL on 127.0.0.1 or localhost."
        )
    return url


def redact_url(url: str) -> str:
    """Return the URL's origin only, because webhook paths and queries often carry a secret token."""
    parsed = URL(url)
    if not parsed.host:
        return "(invalid URL)"
    hidden = "/***" if parsed.raw_path not in ("", "/") or parsed.raw_query_string else ""
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}{hidden}"


def _text_fields(fields: dict[str, Any]) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in fields.items()}


class Pusher:
    """Performs due pushes over HTTP and records each attempt on the Push."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=PUSH_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def run_due(self) -> int:
        made = 0
        for push in self.state.due_pushes():
            # Another caller may have claimed it while an earlier push was awaited.
            due = push.next_attempt_at
            if due is None or due > self.state.clock.now():
                continue
            await self.attempt(push)
            made += 1
        return made

    async def attempt(self, push: Push) -> bool:
        """Make one attempt; on failure the state schedules the next one."""
        push.next_attempt_at = None  # not due again while this attempt runs
        try:
            status = await self._request(push)
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = f"{type(exc).__name__}: {exc}"
            ok = False
        else:
            outcome = f"HTTP {status}"
            ok = 200 <= status < 300
        self.state.record_push_attempt(push, outcome, ok)
        if not ok:
            logger.info(
                "push %s of %s to %s failed (%s), attempt %d",
                push.push_id, push.kind, redact_url(push.url), outcome, len(push.attempts),
            )
        return ok

    async def _request(self, push: Push) -> int:
        session = self._client()
        if push.webhook_type == "json":
            request = session.post(
                push.url, data=json.dumps(push.fields), headers={"Content-Type": "application/json"}
            )
        elif push.webhook_type == "get":
            query = dict(URL(push.url).query) | _text_fields(push.fields)
            request = session.get(URL(push.url).with_query(query))
        else:
            request = session.post(push.url, data=_text_fields(push.fields))
        async with request as response:
            await response.read()
            return response.status
