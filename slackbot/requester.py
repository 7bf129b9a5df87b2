"""The requesting Slack user of a piece of work, and the reply function for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# Bolt's `respond` (a post to the request's response_url), or a stand-in with its keyword arguments.
Respond = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Requester:
    """The Slack user who requested the work, and the function that replies to them."""

    user_id: str
    channel_id: str | None
    respond: Respond


def user_id_of(body: dict[str, Any]) -> str:
    """Return the user ID of a slash command, interaction or event payload."""
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id") or (body.get("event") or {}).get("user") or "")


def channel_id_of(body: dict[str, Any]) -> str | None:
    """Return the channel a payload came from; a compose form keeps it in private_metadata."""
    if body.get("channel_id"):
        return str(body["channel_id"])
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    view = body.get("view")
    if isinstance(view, dict) and view.get("private_metadata"):
        return str(view["private_metadata"])
    return None
