"""Writing and sending from the composer with Pilot, against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.events import Paste

from core.store import Store
from sandbox.models import Responder
from tui.screens.confirm_screen import ConfirmScreen
from tui.screens.inbox_screen import InboxScreen
from tui.screens.new_conversation_screen import NewConversationScreen
from tui.screens.schedule_screen import ScheduleScreen
from tui.widgets.composer import Composer
from tui.widgets.live_line import LiveLine
from tui.widgets.thread_view import ThreadView

from .conftest import BASE_TIME, SIZE, make_settings

ALICE = "+61491570156"


def sent_to(sandbox, number: str) -> list:
    return [m for m in sandbox.state.messages.values() if m.to == number]


async def inbox_with_alice(app, pilot, wait_until) -> InboxScreen:
    await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
    screen = app.screen
    await wait_until(lambda: screen.conversation is not None, message="conversation open")
    await pilot.press("r")
    assert screen.query_one(Composer).has_focus
    return screen


async def test_reply_sends_once_and_clears(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Are you open today?", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"Yes until 5")
        await pilot.press("ctrl+s")
        await wait_until(lambda: sent_to(sandbox, ALICE), message="message reached the sandbox")
        assert sent_to(sandbox, ALICE)[0].body == "Yes until 5"
        await wait_until(lambda: screen.query_one(Composer).text == "", message="composer cleared")
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].body == "Yes until 5", message="reply shown in thread"
        )
        assert len(sent_to(sandbox, ALICE)) == 1


async def test_enter_inserts_newline(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press("a", "enter", "b")
        assert screen.query_one(Composer).text == "a\nb"
        assert sent_to(sandbox, ALICE) == []


async def test_paste_multiline_keeps_newline(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        composer = screen.query_one(Composer)
        # A terminal's bracketed paste reaches the app, which hands it to the focused widget.
        app.post_message(Paste("Line one\nLine two"))
        await wait_until(lambda: composer.text == "Line one\nLine two", message="paste in the draft")
        line = screen.query_one(LiveLine)
        await wait_until(lambda: line.chars == len("Line one\nLine two"), message="counter updated")
        assert line.info.parts == 1
        assert line.info.encoding == "GSM-7"
        assert sent_to(sandbox, ALICE) == []
        await pilot.press("ctrl+s")
        await wait_until(lambda: sent_to(sandbox, ALICE), message="sent after ctrl+s")
        await wait_until(lambda: not screen.sending, message="send finished")
        assert [m.body for m in sent_to(sandbox, ALICE)] == ["Line one\nLine two"]


async def test_send_while_in_flight_sends_once(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    sandbox.state.faults["latency"]["/v3/sms/send"] = 1.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"first")
        await pilot.press("ctrl+s")
        await wait_until(lambda: screen.sending, message="send in flight")
        await pilot.press("ctrl+s")
        await wait_until(lambda: not screen.sending, timeout=10, message="first send finished")
        assert len(sent_to(sandbox, ALICE)) == 1
        sandbox.state.faults["latency"].clear()
        await pilot.press(*"second")
        await pilot.press("ctrl+s")
        await wait_until(lambda: len(sent_to(sandbox, ALICE)) == 2, message="second send arrived")
        assert [m.body for m in sent_to(sandbox, ALICE)] == ["first", "second"]


async def test_live_line_counts_unicode(settings, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        screen.query_one(Composer).insert("Café ☕ at 10")
        line = screen.query_one(LiveLine)
        await wait_until(lambda: line.info.encoding == "UCS-2", message="UCS-2 detected")
        assert line.info.unicode_chars == ("☕",)
        assert line.info.remaining == 70 - len("Café ☕ at 10")
        await wait_until(lambda: line.price_text.startswith("price ") and "…" not in line.price_text, message="priced")


async def test_new_conversation_validates(settings, sandbox, make_app, wait_until) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        inbox = app.screen
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, NewConversationScreen), message="dialog open")
        dialog = app.screen
        await pilot.press(*"12")
        assert dialog.number is None
        assert "12" in str(dialog.query_one("#number-feedback").render())
        await pilot.press("enter")
        assert app.screen is dialog
        await pilot.press("backspace", "backspace", *"0491 570 159")
        await wait_until(lambda: dialog.number == "+61491570159", message="number valid")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="dialog closed")
        await wait_until(
            lambda: inbox.conversation is not None and inbox.conversation.their_number == "+61491570159",
            message="conversation opened",
        )
        await wait_until(lambda: inbox.query_one(Composer).has_focus, message="composer focused")
        await pilot.press(*"Hello")
        await pilot.press("ctrl+s")
        await wait_until(lambda: sent_to(sandbox, "+61491570159"), message="sent to the new number")


async def test_confirm_above_cost(tmp_path, sandbox, make_app, seed, wait_until) -> None:
    settings = make_settings(tmp_path, base_url=sandbox.base_url, tui={"confirm_above": "0.01"})
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"costly")
        await pilot.press("ctrl+s")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="confirmation asked")
        assert "above your limit" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await wait_until(lambda: not screen.sending, message="send abandoned")
        assert sent_to(sandbox, ALICE) == []
        assert screen.query_one(Composer).text == "costly"
        await pilot.press("ctrl+s")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="asked again")
        await pilot.press("y")
        await wait_until(lambda: sent_to(sandbox, ALICE), message="sent after yes")


async def test_confirm_opted_out_number(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME - timedelta(minutes=5)), (ALICE, "STOP", BASE_TIME)])
    async with Store.open(settings.cache_path) as store:
        await store.add_opt_out(ALICE, keyword="STOP")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"one more")
        await pilot.press("ctrl+s")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="confirmation asked")
        assert "opted out" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("escape")
        await wait_until(lambda: not screen.sending, message="send abandoned")
        assert sent_to(sandbox, ALICE) == []


async def test_schedule_then_cancel(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"later")
        await pilot.press("ctrl+t")
        await wait_until(lambda: isinstance(app.screen, ScheduleScreen), message="schedule dialog")
        dialog = app.screen
        assert "Australia/Melbourne" in str(dialog.query_one("Static").render()) or "AE" in str(dialog.query_one("Static").render())
        await wait_until(lambda: dialog.when is not None, message="suggested time valid")
        when = dialog.when
        await pilot.press("enter")
        await wait_until(lambda: sent_to(sandbox, ALICE), message="scheduled send reached the sandbox")
        message = sent_to(sandbox, ALICE)[0]
        assert message.stage == "scheduled"
        assert message.schedule == int(when.timestamp())
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].status == "scheduled", message="scheduled shown"
        )
        await wait_until(lambda: thread.entries[-1].message_id, message="message id known")
        thread.focus()
        thread.highlighted = thread.option_count - 1
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="cancel confirmation")
        await pilot.press("y")
        await wait_until(lambda: message.stage == "cancelled", message="cancelled in the sandbox")
        await wait_until(lambda: thread.entries[-1].status == "cancelled", message="cancel shown")


async def test_cancel_all_by_reference(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        backend = app.backend
        later = datetime.now(timezone.utc) + timedelta(days=10)
        await backend.service.send(to=[ALICE], body="keep", schedule=later, custom_string="keep-me")
        await backend.service.send(to=[ALICE], body="drop", schedule=later, custom_string="drop-me")
        await pilot.press("X")
        await wait_until(lambda: app.screen.__class__.__name__ == "CancelAllScreen", message="cancel-all dialog")
        await pilot.press(*"drop-me")
        await pilot.press("enter")
        stages = lambda: {m.body: m.stage for m in sent_to(sandbox, ALICE)}  # noqa: E731
        await wait_until(lambda: stages().get("drop") == "cancelled", message="drop-me cancelled")
        assert stages()["keep"] == "scheduled"


async def test_cancel_all_without_reference(settings, sandbox, make_app, wait_until) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        later = datetime.now(timezone.utc) + timedelta(days=10)
        await app.backend.service.send(to=[ALICE], body="one", schedule=later)
        await app.backend.service.send(to=["+61491570157"], body="two", schedule=later)
        await pilot.press("X")
        await wait_until(lambda: app.screen.__class__.__name__ == "CancelAllScreen", message="cancel-all dialog")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="kept them")
        assert {m.stage for m in sandbox.state.messages.values()} == {"scheduled"}
        await pilot.press("X")
        await wait_until(lambda: app.screen.__class__.__name__ == "CancelAllScreen", message="cancel-all dialog")
        await pilot.press("enter")
        await wait_until(
            lambda: {m.stage for m in sandbox.state.messages.values()} == {"cancelled"}, message="all cancelled"
        )
        await wait_until(
            lambda: any("Cancelled 2 scheduled messages" in str(n.message) for n in app._notifications),
            message="count reported",
        )


async def test_resend_failed(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    sandbox.state.responders[ALICE] = Responder(number=ALICE, kind="fail", delay=0.0, error_code=8)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        await pilot.press(*"will fail")
        await pilot.press("ctrl+s")
        await wait_until(lambda: sent_to(sandbox, ALICE), message="sent")
        await sandbox.advance(120)
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].status == "failed", timeout=10, message="failure shown"
        )
        assert thread.entries[-1].error
        del sandbox.state.responders[ALICE]
        thread.focus()
        thread.highlighted = thread.option_count - 1
        await pilot.press("R")
        await wait_until(lambda: len(sent_to(sandbox, ALICE)) == 2, message="resent")
        assert [m.body for m in sent_to(sandbox, ALICE)] == ["will fail", "will fail"]


async def test_confirm_unfilled_placeholders(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        screen.query_one(Composer).insert("Hi {name}, see you at {time}")
        await pilot.press("ctrl+s")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="confirmation asked")
        question = str(app.screen.query_one("#confirm-question").render())
        assert "{name}, {time}" in question
        await pilot.press("n")
        await wait_until(lambda: not screen.sending, message="send abandoned")
        assert sent_to(sandbox, ALICE) == []


async def test_post_failed_relay_to_slack_again(settings, make_app, seed, wait_until) -> None:
    from core.store import Store

    await seed(settings, [(ALICE, "Can you call me?", BASE_TIME)])
    async with Store.open(settings.cache_path) as store:
        [reply] = await store.messages(direction="in")
        await store.set_relay_status(reply.row_id, "failed", reason="not_in_channel: the bot is not in G0PRIVATE")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox_with_alice(app, pilot, wait_until)
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries and thread.entries[-1].relay_status == "failed", message="failure shown")
        assert thread.entries[-1].relay_error == "not_in_channel: the bot is not in G0PRIVATE"
        thread.focus()
        thread.highlighted = thread.option_count - 1
        await pilot.press("P")

        async def marked_for_retry() -> bool:
            record = await app.backend.store.message(reply.row_id)
            return record is not None and record.relay_status == "retry"

        await wait_until(marked_for_retry, message="marked for the bot to post again")
