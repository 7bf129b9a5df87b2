"""Rebinding keys from `[tui.keys]` and `[tui] send_key`."""

from __future__ import annotations

import pytest

from tui.keys import ALL_ACTIONS, InvalidKeymapError, build_keymap, display_keys


def test_keymap_defaults_to_send_key() -> None:
    assert build_keymap({}, send_key="ctrl+s") == {"send": "ctrl+s"}


def test_keymap_entry_wins_over_send_key() -> None:
    keymap = build_keymap({"send": "ctrl+enter", "next_unread": "n,j"}, send_key="ctrl+s")
    assert keymap["send"] == "ctrl+enter"
    assert keymap["next_unread"] == "n,j"


def test_keymap_rejects_unknown_action() -> None:
    with pytest.raises(InvalidKeymapError) as raised:
        build_keymap({"sned": "ctrl+x"})
    assert "'sned'" in str(raised.value)
    assert "send" in str(raised.value)


def test_keymap_rejects_empty_key() -> None:
    with pytest.raises(InvalidKeymapError, match="next_unread"):
        build_keymap({"next_unread": "  "})


def test_action_ids_are_unique() -> None:
    ids = [action.id for action in ALL_ACTIONS]
    assert len(ids) == len(set(ids))


def test_display_keys() -> None:
    assert display_keys("f1,question_mark") == "F1 / ?"
    assert display_keys("ctrl+s") == "Ctrl+S"
    assert display_keys("slash") == "/"
