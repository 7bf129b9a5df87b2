"""Raw HTTP helpers for sandbox tests: the sandbox is exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import aiohttp
from multidict import CIMultiDictProxy


async def call(
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Any = None,
    username: str | None = "demo-user",
    api_key: str = "demo-key",
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """Make one request and return (HTTP status, parsed JSON body, headers)."""
    headers = {}
    if username is not None:
        headers["Authorization"] = aiohttp.encode_basic_auth(username, api_key)
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, json=json, data=data, headers=headers) as response:
            body = await response.json(content_type=None)
            return response.status, body, response.headers


async def send(
    sandbox: Any, messages: list[dict[str, Any]], *, username: str = "demo-user", api_key: str = "demo-key"
) -> Any:
    """POST /sms/send and return the body, asserting the envelope is a 200 SUCCESS."""
    status, body, _ = await call(
        "POST", f"{sandbox.base_url}/sms/send", json={"messages": messages}, username=username, api_key=api_key
    )
    assert status == 200, body
    assert body["response_code"] == "SUCCESS"
    return body
