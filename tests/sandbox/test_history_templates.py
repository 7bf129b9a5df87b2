"""History search, sort, paging and export; template CRUD."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from urllib.parse import quote

import aiohttp
import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.models import Responder
from tests.sandbox.helpers import call, send

START = 1_767_225_600


@pytest.fixture
async def filled(make_sandbox) -> SandboxServer:
    """Three messages at START, START+100 and START+200; the one to ...158 fails."""
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    sandbox.state.responders["+61491570158"] = Responder(number="+61491570158", kind="fail", error_code=8)
    await send(sandbox, [{"to": "+61491570157", "body": "bravo", "from": "ACMEPLUMB"}])
    await sandbox.advance(100)
    await send(sandbox, [{"to": "+61491570156", "body": "Alpha"}])
    await sandbox.advance(100)
    await send(sandbox, [{"to": "+61491570158", "body": "charlie"}])
    await sandbox.advance(10)
    return sandbox


async def history(sandbox: SandboxServer, query: str = "") -> dict:
    status, body, _ = await call("GET", f"{sandbox.base_url}/sms/history{query}")
    assert status == 200, body
    return body["data"]


async def test_history_row_is_string_typed(filled: SandboxServer) -> None:
    row = (await history(filled))["data"][0]
    assert row["date"] == str(START)
    assert row["schedule"] == str(START)
    assert row["message_parts"] == "1.00"
    assert row["message_price"] == "0.079200"
    assert row["status_code"] == "201"
    assert row["direction"] == "out"
    assert row["_api_username"] == "demo-user"


async def test_history_default_order_is_date_asc(filled: SandboxServer) -> None:
    rows = (await history(filled))["data"]
    assert [r["body"] for r in rows] == ["bravo", "Alpha", "charlie"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("date:desc", ["charlie", "Alpha", "bravo"]),
        ("body:asc", ["Alpha", "bravo", "charlie"]),
        ("to:desc", ["charlie", "bravo", "Alpha"]),
        ("from:asc", ["Alpha", "charlie", "bravo"]),
        ("status:asc", ["charlie", "bravo", "Alpha"]),
    ],
)
async def test_history_order_by(filled: SandboxServer, order_by: str, expected: list[str]) -> None:
    rows = (await history(filled, f"?order_by={order_by}"))["data"]
    assert [r["body"] for r in rows] == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("status:Failed", ["charlie"]),
        ("status:sent", ["bravo", "Alpha"]),
        ("to:+61491570156", ["Alpha"]),
        ("from:ACMEPLUMB", ["bravo"]),
        ("status:Sent,to:+61491570157", ["bravo"]),
        ("status:Failed,to:+61491570157", []),
    ],
)
async def test_history_q(filled: SandboxServer, q: str, expected: list[str]) -> None:
    rows = (await history(filled, f"?q={quote(q)}"))["data"]
    assert [r["body"] for r in rows] == expected


async def test_history_q_by_message_id(filled: SandboxServer) -> None:
    message_id = next(m.message_id for m in filled.state.messages.values() if m.body == "Alpha")
    rows = (await history(filled, f"?q=message_id:{message_id}"))["data"]
    assert [r["body"] for r in rows] == ["Alpha"]


async def test_history_date_range(filled: SandboxServer) -> None:
    rows = (await history(filled, f"?date_from={START + 50}&date_to={START + 150}"))["data"]
    assert [r["body"] for r in rows] == ["Alpha"]


@pytest.mark.parametrize(
    "query", ["?q=body:hello", "?q=nocolon", "?order_by=price:asc", "?order_by=date:sideways",
              "?date_from=yesterday", "?page=abc", "?page=0"],
)
async def test_history_bad_query_is_400(filled: SandboxServer, query: str) -> None:
    status, body, _ = await call("GET", f"{filled.base_url}/sms/history{query}")
    assert status == 400
    assert body["response_code"] == "BAD_REQUEST"


async def test_history_paging(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    await send(sandbox, [{"to": "+61491570156", "body": f"message {i}"} for i in range(40)])
    first = await history(sandbox, "?limit=15")
    assert (first["total"], first["per_page"], first["current_page"], first["last_page"]) == (40, 15, 1, 3)
    assert (first["from"], first["to"]) == (1, 15)
    assert first["prev_page_url"] is None
    assert "page=2" in first["next_page_url"]
    last = await history(sandbox, "?limit=15&page=3")
    assert len(last["data"]) == 10
    assert (last["from"], last["to"]) == (31, 40)
    assert last["next_page_url"] is None
    assert "page=2" in last["prev_page_url"]
    # limit is clamped to 15..100
    assert (await history(sandbox, "?limit=5"))["per_page"] == 15
    assert (await history(sandbox, "?limit=500"))["per_page"] == 100
    beyond = await history(sandbox, "?page=9")
    assert beyond["data"] == []


async def test_export_serves_csv(filled: SandboxServer) -> None:
    status, body, _ = await call("GET", f"{filled.base_url}/sms/history/export?filename=mine.csv&q=status:Failed")
    assert status == 200
    assert body["response_msg"] == "Download your file here."
    url = body["data"]["url"]
    assert url.startswith(filled.root_url + "/files/")
    assert url.endswith("?filename=mine.csv")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            text = await response.text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["body"] for r in rows] == ["charlie"]
    assert rows[0]["error_code"] == "8"


async def test_template_crud(sandbox: SandboxServer) -> None:
    url = f"{sandbox.base_url}/sms/templates"
    status, created, _ = await call("POST", url, json={"template_name": "Reminder", "body": "Hi {name}"})
    assert status == 200
    assert created["response_msg"] == "New template has been saved."
    template_id = created["data"]["template_id"]
    assert isinstance(template_id, int)

    status, fetched, _ = await call("GET", f"{url}/{template_id}")
    assert fetched["data"] == {"template_id": template_id, "template_name": "Reminder", "body": "Hi {name}"}

    status, updated, _ = await call("PUT", f"{url}/{template_id}", json={"template_name": "Reminder 2", "body": "Hello"})
    assert status == 200
    assert updated["data"]["template_id"] == template_id
    assert updated["data"]["body"] == "Hello"

    _, listing, _ = await call("GET", url)
    assert listing["data"]["total"] == 1
    assert listing["data"]["data"][0]["template_name"] == "Reminder 2"

    status, deleted, _ = await call("DELETE", f"{url}/{template_id}")
    assert status == 200
    assert deleted["data"] is None
    status, missing, _ = await call("GET", f"{url}/{template_id}")
    assert status == 404
    assert missing["response_code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "payload",
    [{"body": "x"}, {"template_name": "x"}, {"template_name": 5, "body": "x"}, {"template_name": " ", "body": "x"}],
)
async def test_template_bad_body_is_400(sandbox: SandboxServer, payload: dict) -> None:
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/templates", json=payload)
    assert status == 400
    assert body["data"]


@pytest.mark.parametrize("template_id", ["999", "abc"])
async def test_template_unknown_is_404(sandbox: SandboxServer, template_id: str) -> None:
    for method in ("GET", "DELETE"):
        status, _, _ = await call(method, f"{sandbox.base_url}/sms/templates/{template_id}")
        assert status == 404
    status, _, _ = await call("PUT", f"{sandbox.base_url}/sms/templates/{template_id}",
                              json={"template_name": "a", "body": "b"})
    assert status == 404


async def test_accounts_do_not_see_each_other(sandbox: SandboxServer) -> None:
    await send(sandbox, [{"to": "+61491570156", "body": "mine"}])
    status, body, _ = await call("GET", f"{sandbox.base_url}/sms/history", username="nocredit",
                                 api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")
    assert status == 200
    assert body["data"]["total"] == 0


async def test_seed_history_pages_through(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    ids = sandbox.state.seed_history("demo-user", 250, start=START - 1000, spacing=2)
    assert len(ids) == 250
    seen = []
    for page in (1, 2, 3):
        data = await history(sandbox, f"?limit=100&page={page}&order_by=date:asc")
        seen += [row["message_id"] for row in data["data"]]
    assert seen == ids
    first = (await history(sandbox, "?limit=15"))["data"][0]
    assert first["date"] == str(START - 1000)
    assert first["status_code"] == "201"
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100")


async def test_history_cache_sees_new_sends(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    sandbox.state.seed_history("demo-user", 20, start=START - 100)
    assert (await history(sandbox))["total"] == 20
    await send(sandbox, [{"to": "+61491570156", "body": "new"}])
    assert (await history(sandbox))["total"] == 21
    assert (await history(sandbox, "?q=status:Queued"))["total"] == 1
    await sandbox.advance(5)
    assert (await history(sandbox, "?q=status:Queued"))["total"] == 0


async def test_template_list_search_and_order(sandbox: SandboxServer) -> None:
    url = f"{sandbox.base_url}/sms/templates"
    for name, body in [("Reminder", "b"), ("alpha", "c"), ("Zeta", "a")]:
        await call("POST", url, json={"template_name": name, "body": body})
    _, listing, _ = await call("GET", f"{url}?order_by=template_name:asc")
    assert [t["template_name"] for t in listing["data"]["data"]] == ["alpha", "Reminder", "Zeta"]
    _, listing, _ = await call("GET", f"{url}?order_by=template_id:desc")
    assert [t["template_name"] for t in listing["data"]["data"]] == ["Zeta", "alpha", "Reminder"]
    _, listing, _ = await call("GET", f"{url}?q=template_name:reminder")
    assert [t["template_name"] for t in listing["data"]["data"]] == ["Reminder"]
    status, _, _ = await call("GET", f"{url}?q=color:red")
    assert status == 400


async def test_history_q_with_operator_or(filled: SandboxServer) -> None:
    q = quote("to:+61491570156,to:+61491570158")
    rows = (await history(filled, f"?q={q}&operator=OR"))["data"]
    assert [r["body"] for r in rows] == ["Alpha", "charlie"]
    rows = (await history(filled, f"?q={q}"))["data"]
    assert rows == []
