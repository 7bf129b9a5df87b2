"""Templates, scheduled messages, history search with export, and receipts, with Pilot."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

from textual.widgets import DataTable, Input, OptionList

from tui.screens.confirm_screen import ConfirmScreen
from tui.screens.history_screen import HistoryScreen
from tui.screens.inbox_screen import InboxScreen
from tui.screens.receipts_screen import ReceiptsScreen
from tui.screens.scheduled_screen import ScheduledScreen
from tui.screens.template_edit_screen import TemplateEditScreen
from tui.screens.templates_screen import TemplatesScreen
from tui.widgets.composer import Composer
from tui.widgets.thread_view import ThreadView

from .conftest import BASE_TIME, SIZE

ALICE = "+61491570156"
BOB = "+61491570157"


async def inbox(app, wait_until) -> InboxScreen:
    await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
    return app.screen


async def test_templates_create_edit_use_delete(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox(app, wait_until)
        await wait_until(lambda: screen.conversation is not None, message="conversation open")
        await pilot.press("t")
        await wait_until(lambda: isinstance(app.screen, TemplatesScreen), message="templates shown")
        templates = app.screen
        await pilot.press("ctrl+n")
        await wait_until(lambda: isinstance(app.screen, TemplateEditScreen), message="editor shown")
        await pilot.press(*"Opening hours")
        app.screen.query_one("#template-body").load_text("We are open 9 to 5.")
        await pilot.press("ctrl+s")
        await wait_until(lambda: [t.name for t in templates.templates] == ["Opening hours"], message="template created")
        assert [t.template_name for t in sandbox.state.templates.values()] == ["Opening hours"]

        await pilot.press("ctrl+e")
        await wait_until(lambda: isinstance(app.screen, TemplateEditScreen), message="editor shown for edit")
        app.screen.query_one("#template-body").load_text("We are open 8 to 6.")
        await pilot.press("ctrl+s")
        await wait_until(
            lambda: templates.templates and templates.templates[0].body == "We are open 8 to 6.", message="template edited"
        )

        await pilot.press(*"hours")
        await wait_until(lambda: templates.query_one(OptionList).option_count == 1, message="filter matches")
        await pilot.press(*"zzz")
        await wait_until(lambda: templates.query_one(OptionList).option_count == 0, message="filter excludes")
        for _ in range(3):
            await pilot.press("backspace")
        await wait_until(lambda: templates.query_one(OptionList).option_count == 1, message="filter restored")

        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="template used")
        assert screen.query_one(Composer).text == "We are open 8 to 6."

        await pilot.press("ctrl+g")
        await wait_until(lambda: isinstance(app.screen, TemplatesScreen), message="picker shown")
        templates = app.screen
        await wait_until(lambda: templates.templates, message="templates loaded")
        await pilot.press("ctrl+d")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="delete confirmation")
        await pilot.press("y")
        await wait_until(lambda: not sandbox.state.templates, message="template deleted")


async def test_scheduled_screen_cancels(settings, sandbox, make_app, wait_until) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await inbox(app, wait_until)
        await app.backend.service.send(to=[BOB], body="next year", schedule=datetime.now(timezone.utc) + timedelta(days=10))
        await pilot.press("S")
        await wait_until(lambda: isinstance(app.screen, ScheduledScreen), message="scheduled shown")
        scheduled = app.screen
        await wait_until(lambda: scheduled.rows, message="scheduled message listed")
        assert scheduled.rows[0].entry.body == "next year"
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="cancel confirmation")
        await pilot.press("y")
        await wait_until(
            lambda: all(m.stage == "cancelled" for m in sandbox.state.messages.values()), message="cancelled"
        )
        await wait_until(lambda: not scheduled.rows, message="list emptied")


async def test_history_search_filters_and_export(settings, tmp_path, make_app, seed, wait_until) -> None:
    await seed(
        settings,
        [
            (ALICE, "the blue van is outside", BASE_TIME - timedelta(days=30)),
            (BOB, "a blue door", BASE_TIME - timedelta(days=1)),
            (BOB, "nothing here", BASE_TIME),
        ],
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await inbox(app, wait_until)
        await pilot.press("slash")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), message="search shown")
        search = app.screen
        await pilot.press(*"blue", "enter")
        await wait_until(lambda: len(search.results) == 2, message="two matches")
        search.query_one("#search-number", Input).value = "0491 570 156"
        await pilot.press("enter")
        await wait_until(
            lambda: [r.entry.body for r in search.results] == ["the blue van is outside"], message="number filter"
        )
        search.query_one("#search-number", Input).value = ""
        search.query_one("#search-since", Input).value = (BASE_TIME - timedelta(days=2)).date().isoformat()
        await pilot.press("enter")
        await wait_until(lambda: [r.entry.body for r in search.results] == ["a blue door"], message="date filter")
        assert search.query_one(DataTable).row_count == 1

        search.query_one("#search-since", Input).value = "yesterday"
        await pilot.press("enter")
        assert "'yesterday' is not a date" in str(search.query_one("#search-summary").render())

        search.query_one("#search-since", Input).value = ""
        export = tmp_path / "found.csv"
        search.query_one("#search-export-path", Input).value = str(export)
        await pilot.press("enter")
        await wait_until(lambda: len(search.results) == 2, message="filters cleared")
        await pilot.press("ctrl+e")
        await wait_until(export.exists, message="CSV written")
        with export.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(row["body"] for row in rows) == ["a blue door", "the blue van is outside"]
        assert {row["their_number"] for row in rows} == {ALICE, BOB}

        search.query_one(DataTable).focus()
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="result opened")
        await wait_until(
            lambda: app.screen.conversation is not None and app.screen.conversation.their_number == BOB,
            message="conversation of the result",
        )


async def test_receipts_of_a_message(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox(app, wait_until)
        await wait_until(lambda: screen.conversation is not None, message="conversation open")
        await pilot.press("r", *"hello", "ctrl+s")
        await wait_until(lambda: sandbox.state.messages, message="sent")
        await sandbox.advance(120)
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].status == "delivered", timeout=10, message="delivered"
        )
        thread.focus()
        thread.highlighted = thread.option_count - 1
        await pilot.press("i")
        await wait_until(lambda: isinstance(app.screen, ReceiptsScreen), message="receipts shown")
        table = app.screen.query_one(DataTable)
        await wait_until(lambda: table.row_count >= 1, message="receipt rows")
        assert "delivered" in [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_history_table_cells_one_line(settings, make_app, seed, wait_until) -> None:
    body = "\n".join(f"long body line {n}" for n in range(100))
    await seed(settings, [(f"+614915702{n:02d}", body, BASE_TIME - timedelta(minutes=n)) for n in range(50)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await inbox(app, wait_until)
        await pilot.press("slash", *"long", "enter")
        search = app.screen
        await wait_until(lambda: len(search.results) == 50, message="fifty matches")
        table = search.query_one(DataTable)
        await wait_until(lambda: table.row_count == 50, message="fifty rows")
        for row_index in range(table.row_count):
            message = str(table.get_row_at(row_index)[4])
            assert "\n" not in message
            assert message.endswith("…")
        # Tab moves focus from the filters into the table promptly; 1 s is generous on 2 cores.
        for _ in range(6):
            if table.has_focus:
                break
            await pilot.press("tab")
        await wait_until(lambda: table.has_focus, timeout=1, message="table focused with Tab")
        await pilot.press("down")
        await wait_until(lambda: table.cursor_row == 1, timeout=1, message="cursor moved in the table")


async def test_template_placeholders_filled(settings, make_app, seed, wait_until) -> None:
    from tui.screens.template_values_screen import TemplateValuesScreen

    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox(app, wait_until)
        await wait_until(lambda: screen.conversation is not None, message="conversation open")
        await app.backend.create_template(name="Visit", body="Hi {name}, see you at {time}. {{not a field}}")
        await pilot.press("r", "ctrl+g")
        await wait_until(lambda: isinstance(app.screen, TemplatesScreen), message="picker shown")
        await wait_until(lambda: app.screen.templates, message="templates loaded")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, TemplateValuesScreen), message="values asked")
        values = app.screen
        assert values.names == ["name", "time"]
        await pilot.press(*"Sam", "enter")
        await pilot.press("enter")
        assert isinstance(app.screen, TemplateValuesScreen)
        assert "{time}" in str(values.query_one("#template-preview").render())
        await pilot.press(*"9am", "enter")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="values filled")
        assert screen.query_one(Composer).text == "Hi Sam, see you at 9am. {not a field}"


async def test_template_values_cancel(settings, make_app, seed, wait_until) -> None:
    from tui.screens.template_values_screen import TemplateValuesScreen

    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await inbox(app, wait_until)
        await wait_until(lambda: screen.conversation is not None, message="conversation open")
        await app.backend.create_template(name="Visit", body="Hi {name}")
        await pilot.press("r", "ctrl+g")
        await wait_until(lambda: isinstance(app.screen, TemplatesScreen), message="picker shown")
        await wait_until(lambda: app.screen.templates, message="templates loaded")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, TemplateValuesScreen), message="values asked")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="cancelled")
        assert screen.query_one(Composer).text == ""
