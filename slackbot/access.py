"""Allow-list checks for sending and cancelling SMS from Slack.

The `[slack]` settings name users, user groups and channels. A user may send when
no user or group list is configured, or when they are on `allowed_users` or in
one of the `allowed_groups`. The channel must be on `allowed_channels` when that
list is set. Reading, pricing and template lookups need no permission.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

# Group membership changes rarely; one usergroups.users.list call per group per TTL.
GROUP_CACHE_SECONDS = 300.0
# The check runs before the acknowledgement, so it must leave room in Slack's 3-second window.
GROUP_LOOKUP_TIMEOUT = 1.5


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""  # "user" or "channel": which list rejected the request


class AccessPolicy:
    """Allow-list checks for users, user groups and channels."""

    def __init__(
        self,
        *,
        users: list[str],
        groups: list[str],
        channels: list[str],
        client: AsyncWebClient,
    ) -> None:
        self._users = frozenset(users)
        self._groups = tuple(groups)
        self._channels = frozenset(channels)
        self._client = client
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def check(self, *, user_id: str, channel_id: str | None) -> AccessDecision:
        if self._channels and channel_id not in self._channels:
            return AccessDecision(False, "channel")
        if await self._user_allowed(user_id):
            return AccessDecision(True)
        return AccessDecision(False, "user")

    async def _user_allowed(self, user_id: str) -> bool:
        if not self._users and not self._groups:
            return True
        if user_id in self._users:
            return True
        for group in self._groups:
            if user_id in await self._group_members(group):
                return True
        return False

    async def _group_members(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached is not None and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            response = await asyncio.wait_for(
                self._client.usergroups_users_list(usergroup=group), GROUP_LOOKUP_TIMEOUT
            )
        except (SlackApiError, TimeoutError) as error:
            # Fail closed: an unknown membership does not grant access. A stale list is better
            # than none, so keep the last good one if there is one.
            logger.warning("Could not read members of Slack user group %s: %r", group, error)
            return cached[1] if cached is not None else frozenset()
        members = frozenset(response.get("users", []))
        self._members[group] = (time.monotonic(), members)
        return members
