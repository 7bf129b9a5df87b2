"""Random malformed bodies: the sandbox returns 200 or 400, never 500, and keeps its envelope."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp
import pytest

from sandbox import SandboxServer

FIELDS = ["messages", "to", "body", "from", "schedule", "custom_string", "source", "country",
          "list_id", "url", "webhook_type", "date_before", "template_name", "show_summary"]

ENDPOINTS = [
    ("POST", "/v3/sms/send"),
    ("POST", "/v3/sms/price"),
    ("POST", "/v3/sms/templates"),
    ("PUT", "/v3/sms/receipts-read"),
    ("PUT", "/v3/sms/inbound-read"),
    ("PUT", "/v3/sms/cancel-all"),
    ("POST", "/v3/sms/receipts"),
    ("POST", "/v3/sms/inbound"),
]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["null", "bool", "int", "float", "str", "number", "list", "object"]
    if depth > 3:
        kinds = kinds[:6]
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, -1, 1, 2**63, 1_767_225_600, rng.randint(-10**6, 10**6)])
    if kind == "float":
        return rng.choice([0.5, -3.25, 1e308, 1_767_225_600.0])
    if kind == "str":
        return rng.choice(["", " ", "+61491570156", "61491570156", "x" * 500, "😀", "\u0000", "poll",
                           "https://example.com/hook", "ACMEPLUMB", "json"])
    if kind == "number":
        return rng.choice(["+61491570156", "+447700900123", "0491570156", "12", "+0000"])
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(FIELDS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def random_body(rng: random.Random) -> Any:
    if rng.random() < 0.6:
        messages = [
            {rng.choice(FIELDS): random_value(rng, 2) for _ in range(rng.randint(0, 6))}
            for _ in range(rng.randint(0, 3))
        ]
        return {"messages": messages, rng.choice(FIELDS): random_value(rng, 1)}
    return random_value(rng)


@pytest.mark.parametrize("seed", range(4))
async def test_random_bodies_never_500(sandbox: SandboxServer, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": aiohttp.encode_basic_auth("demo-user", "demo-key"),
               "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        for _ in range(60):
            body = json.dumps(random_body(rng))
            method, path = rng.choice(ENDPOINTS)
            async with session.request(method, f"{sandbox.root_url}{path}", data=body) as response:
                assert response.status in (200, 400), (method, path, body, await response.text())
                envelope = await response.json()
                assert envelope["http_code"] == response.status
                assert isinstance(envelope["response_msg"], str)
