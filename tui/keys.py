"""Key bindings of the inbox, each with an id so `[tui.keys]` can rebind it.

Textual's keymap (`App.set_keymap`) maps a binding id to a comma-separated
list of keys; the ids below are the names users write in the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding

DEFAULT_SEND_KEY = "ctrl+s"


@dataclass(frozen=True)
class KeyAction:
    """One rebindable action: binding id, default keys, action name and help text."""

    id: str
    keys: str
    action: str
    description: str
    show: bool = True


# Actions available on the inbox screen. Single letters only fire while the
# conversation list or the thread has focus, because the composer consumes
# printable keys; composer actions therefore use ctrl combinations.
INBOX_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("send", DEFAULT_SEND_KEY, "send", "Send"),
    KeyAction("schedule", "ctrl+t", "schedule", "Schedule send"),
    KeyAction("insert_template", "ctrl+g", "insert_template", "Insert template"),
    KeyAction("new_conversation", "c", "new_conversation", "New conversation"),
    KeyAction("reply", "r", "reply", "Reply"),
    KeyAction("next_unread", "n", "next_unread", "Next unread"),
    KeyAction("search", "slash", "search", "Search"),
    KeyAction("mark_read", "m", "mark_read", "Mark read", show=False),
    KeyAction("mark_unread", "u", "mark_unread", "Mark unread", show=False),
    KeyAction("mark_done", "d", "mark_done", "Mark done", show=False),
    KeyAction("copy_message", "y", "copy_message", "Copy message", show=False),
    KeyAction("cancel_scheduled", "x", "cancel_scheduled", "Cancel scheduled message", show=False),
    KeyAction("cancel_all", "X", "cancel_all", "Cancel all scheduled", show=False),
    KeyAction("resend", "R", "resend", "Resend failed message", show=False),
    KeyAction("post_to_slack", "P", "post_to_slack", "Post a reply to Slack again", show=False),
    KeyAction("receipts", "i", "receipts", "Delivery receipts", show=False),
    KeyAction("templates", "t", "templates", "Templates", show=False),
    KeyAction("scheduled", "S", "scheduled", "Scheduled messages", show=False),
    KeyAction("toggle_sort", "o", "toggle_sort", "Sort newest or unread first", show=False),
    KeyAction("activity_log", "l", "toggle_activity_log", "Show or hide the activity log", show=False),
    KeyAction("focus_list", "escape", "focus_list", "Back to the list", show=False),
)

# Actions available on every screen.
APP_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("help", "f1,question_mark", "help", "Help"),
    KeyAction("theme", "f2", "change_theme", "Switch theme", show=False),
)

ALL_ACTIONS: tuple[KeyAction, ...] = INBOX_ACTIONS + APP_ACTIONS


class InvalidKeymapError(ValueError):
    """A `[tui.keys]` entry names an unknown action or has no key."""


def bindings(actions: tuple[KeyAction, ...]) -> list[Binding]:
    """Build Textual bindings from action definitions."""
    return [
        Binding(a.keys, a.action, a.description, show=a.show, id=a.id, priority=a.id == "send")
        for a in actions
    ]


def build_keymap(keys: Mapping[str, str] | None, *, send_key: str | None = None) -> dict[str, str]:
    """Validate `[tui.keys]` (and `tui.send_key`) and return a Textual keymap.

    An entry in `keys` wins over `send_key` for the send action.
    """
    known = {a.id for a in ALL_ACTIONS}
    keymap: dict[str, str] = {}
    if send_key and send_key.strip():
        keymap["send"] = send_key.strip()
    for action_id, key in (keys or {}).items():
        if action_id not in known:
            raise InvalidKeymapError(
                f"unknown action {action_id!r} in [tui.keys]; "
                f"use one of: {', '.join(sorted(known))}"
            )
        if not isinstance(key, str) or not key.strip():
            raise InvalidKeymapError(
                f"[tui.keys] {action_id} = {key!r} has no key; write a key such as \"ctrl+s\""
            )
        keymap[action_id] = key.strip()
    return keymap


def display_keys(keys: str) -> str:
    """Format a binding's key list for the help screen ("f1,question_mark" -> "F1 / ?")."""
    names = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "tab": "Tab"}
    shown = []
    for key in keys.split(","):
        key = key.strip()
        if key in names:
            shown.append(names[key])
        elif len(key) > 1 and key[0] == "f" and key[1:].isdigit():
            shown.append(key.upper())
        elif key.startswith("ctrl+"):
            shown.append("Ctrl+" + key[5:].upper() if len(key) == 6 else "Ctrl+" + key[5:])
        else:
            shown.append(key)
    return " / ".join(shown)
