"""smsdesk's own client (the `clicksend` fixture) against the sandbox, one call per operation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sandbox import SandboxServer
from sandbox.models import Responder

AU = "+61491570156"


async def test_client_send_and_history(sandbox: SandboxServer, clicksend) -> None:
    response = await clicksend.send_sms(to=AU, body="Your booking", custom_string="ticket-42")
    [result] = response.messages
    assert result.accepted
    assert result.custom_string == "ticket-42"
    assert result.message_price == Decimal("0.0792")

    await sandbox.advance(5)
    page = await clicksend.history(q=f"message_id:{result.message_id}")
    [row] = page.data
    # The string-typed history row parses into the same types as the send result.
    assert row.message_parts == 1
    assert row.message_price == Decimal("0.0792")
    assert row.date == result.date


async def test_client_rejected_message_is_data(sandbox: SandboxServer, clicksend) -> None:
    response = await clicksend.send_sms(to=[AU, "+33612345678"], body="hi")
    assert [r.accepted for r in response.messages] == [True, False]
    assert response.messages[1].status == "COUNTRY_NOT_ENABLED"
    assert response.blocked_count == 1


async def test_client_receipts_and_inbound(sandbox: SandboxServer, clicksend) -> None:
    sandbox.state.responders[AU] = Responder(number=AU, kind="stop", delay=2)
    response = await clicksend.send_sms(to=AU, body="Sale on now", custom_string="promo-1")
    message_id = response.messages[0].message_id
    await sandbox.advance(10)

    receipt = await clicksend.get_receipt(message_id)
    assert receipt.custom_string == "promo-1"
    receipts = await clicksend.list_receipts()
    assert [r.message_id for r in receipts.data] == [message_id]
    await clicksend.mark_receipts_read()
    assert (await clicksend.list_receipts()).data == []

    inbound = await clicksend.get_inbound(message_id)
    assert inbound.body == "STOP"
    assert inbound.custom_string == "promo-1"
    assert await clicksend.mark_inbound_message_read(inbound.message_id) == 1


async def test_client_schedule_and_cancel(sandbox: SandboxServer, clicksend) -> None:
    later = datetime.fromtimestamp(sandbox.clock.now() + 3600, tz=UTC)
    response = await clicksend.send_sms(to=AU, body="Later", schedule=later, custom_string="b-1")
    message_id = response.messages[0].message_id
    assert sandbox.state.messages[message_id].stage == "scheduled"
    await clicksend.cancel(message_id)
    assert sandbox.state.messages[message_id].stage == "cancelled"
    await clicksend.send_sms(to=AU, body="Later 2", schedule=later, custom_string="b-1")
    assert await clicksend.cancel_all(custom_string="b-1") == 1


async def test_client_templates(sandbox: SandboxServer, clicksend) -> None:
    template = await clicksend.create_template("Reminder", "Hi {name}")
    fetched = await clicksend.get_template(template.template_id)
    assert fetched.body == "Hi {name}"
    await clicksend.update_template(template.template_id, "Reminder", "Hello")
    listing = await clicksend.list_templates()
    assert [t.body for t in listing.data] == ["Hello"]
    await clicksend.delete_template(template.template_id)
    assert (await clicksend.list_templates()).data == []


async def test_client_export_and_account(sandbox: SandboxServer, clicksend) -> None:
    await clicksend.send_sms(to=AU, body="hi")
    url = await clicksend.export_history("mine.csv")
    assert url.startswith(sandbox.root_url + "/files/")
    account = await clicksend.get_account()
    assert account.balance == Decimal("100") - Decimal("0.0792")


async def test_client_sees_auth_errors(sandbox: SandboxServer) -> None:
    from core.client import ClickSendClient
    from core.errors import AuthenticationError, PermissionDeniedError

    async with ClickSendClient(username="demo-user", api_key="wrong", base_url=sandbox.base_url) as client:
        with pytest.raises(AuthenticationError):
            await client.list_templates()
    async with ClickSendClient(username="banned", api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE",
                               base_url=sandbox.base_url) as client:
        with pytest.raises(PermissionDeniedError):
            await client.list_templates()
