"""Shape checks on signed Slack payloads before Bolt dispatches them.

Bolt 1.x's matchers and built-in middleware index Slack payloads without
checking them (`body["event"]["type"]`, `body["actions"][0]["action_id"]`,
`body["view"]["callback_id"]`), and raise outside the listeners' error handling
when a body breaks those assumptions. A body that Slack would never send is
rejected here with HTTP 400 and a logged reason instead of a 500.
"""

from __future__ import annotations

from typing import Any

# Top-level fields that Slack sends as an object whenever they are present.
_OBJECT_FIELDS = ("event", "user", "channel", "team", "view", "container", "message", "state")
# Sent as an object or as null (interactions outside Enterprise Grid carry "enterprise": null).
_NULLABLE_OBJECT_FIELDS = ("enterprise",)
_OBJECT_LIST_FIELDS = ("actions", "authorizations")
_TEXT_FIELDS = (
    "type", "command", "text", "user_id", "channel_id", "team_id", "event_id", "response_url", "trigger_id",
    "callback_id", "action_id",
)
_EVENT_OBJECT_FIELDS = ("message", "previous_message")
_EVENT_TEXT_FIELDS = ("type", "subtype", "user", "channel", "ts", "thread_ts", "text", "tab", "bot_id", "channel_type")
_ACTION_TYPES = ("block_actions", "interactive_message")
_VIEW_TYPES = ("view_submission", "view_closed")


def payload_problem(body: Any) -> str | None:
    """Return why `body` cannot be a Slack payload, or None when its shape is plausible."""
    if not isinstance(body, dict):
        return f"the payload is a {type(body).__name__}, not an object"
    problem = _field_types_problem(body)
    if problem is not None:
        return problem

    kind = body.get("type")
    if kind == "event_callback" and not isinstance((body.get("event") or {}).get("type"), str):
        return "an event_callback without 'event.type'"
    if kind in _ACTION_TYPES:
        actions = body.get("actions") or []
        if not actions:
            return f"a {kind} payload without actions"
        if kind == "block_actions" and not all(isinstance(action.get("action_id"), str) for action in actions):
            return "an action without a text 'action_id'"
    if kind in _VIEW_TYPES:
        view = body.get("view") or {}
        if not (isinstance(view.get("callback_id"), str) and isinstance(view.get("type"), str)):
            return f"a {kind} payload whose view has no text 'callback_id' and 'type'"
    return None


def _field_types_problem(body: dict[str, Any]) -> str | None:
    for name in _OBJECT_FIELDS:
        if name in body and not isinstance(body[name], dict):
            return f"'{name}' is not an object"
    for name in _NULLABLE_OBJECT_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"'{name}' is not an object"
    for name in _OBJECT_LIST_FIELDS:
        value = body.get(name)
        if name in body and not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            return f"'{name}' is not a list of objects"
    for name in _TEXT_FIELDS:
        if name in body and not isinstance(body[name], str):
            return f"'{name}' is not text"

    event = body.get("event") or {}
    for name in _EVENT_OBJECT_FIELDS:
        if name in event and not isinstance(event[name], dict):
            return f"'event.{name}' is not an object"
    for name in _EVENT_TEXT_FIELDS:
        if name in event and event[name] is not None and not isinstance(event[name], str):
            return f"'event.{name}' is not text"
    return None
