"""User-facing text of the bot, kept apart from the log text.

Every sentence a user can see from the bot is here, so wording can be reviewed in
one place. `user_message_for` turns an exception into a plain sentence with what
to do next; the technical cause goes to the log, never to Slack.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from core.errors import (
    AuthenticationError,
    BadRequestError,
    ClickSendError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

ACK_SENDING = "Sending…"
ACK_PRICING = "Pricing…"
ACK_CANCELLING = "Cancelling…"
ACK_WORKING = "Working on it…"
ACK_COMPOSE = "Opening the compose form. Type `/sms help` for the other commands."
CONFIRM_CANCELLED = "Not sent."
CONFIRM_EXPIRED = "This confirmation has expired, so nothing was sent. Run the command again."
CLICKSEND_UNREACHABLE = "ClickSend unreachable, message not sent. Try again in a few minutes."

_SLACK_ERRORS = {
    "not_in_channel": "The bot is not in this channel. Invite it with `/invite @smsdesk` and try again.",
    "channel_not_found": "The bot cannot see this channel. Invite it with `/invite @smsdesk`, or use a public channel.",
    "is_archived": "This channel is archived, so the bot cannot post here.",
    "ratelimited": "Slack is rate limiting the bot. Try again in a minute.",
    "invalid_auth": "The bot's Slack token is invalid. Ask whoever runs smsdesk to check SLACK_BOT_TOKEN.",
    "missing_scope": "The Slack app is missing a permission. Ask whoever runs smsdesk to reinstall it from the manifest.",
}


_PAST_PARTICIPLES = {"send": "sent", "cancel": "cancelled"}


def access_denied(*, user_id: str, channel_id: str | None, action: str, reason: str) -> str:
    """Tell a user who is not on the allow-list why, and who can give them access."""
    if reason == "channel":
        return (
            f"SMS cannot be {_PAST_PARTICIPLES.get(action, action)} from this channel ({channel_id}). Use a channel listed in "
            "`allowed_channels`, or ask whoever runs smsdesk to add this one there, in the `[slack]` "
            "section of the smsdesk configuration."
        )
    return (
        f"You are not allowed to {action} SMS from Slack. Ask whoever runs smsdesk to add your "
        f"Slack user ID ({user_id}) to `allowed_users`, or you to a user group listed in `allowed_groups`, "
        "in the `[slack]` section of the smsdesk configuration."
    )


OUTCOME_UNKNOWN = (
    "ClickSend did not respond, so it is unknown whether the SMS was sent. smsdesk checks the ClickSend "
    "history before anything is sent again, so do not resend yet."
)

# Checked in order, so a subclass comes before its base class.
_CLICKSEND_ERRORS: tuple[tuple[type[ClickSendError], str], ...] = (
    (OutcomeUnknownError, OUTCOME_UNKNOWN),
    (TransportError, CLICKSEND_UNREACHABLE),
    (
        AuthenticationError,
        "ClickSend rejected the smsdesk credentials. Ask whoever runs smsdesk to check the API username and key.",
    ),
    (PermissionDeniedError, "ClickSend does not allow this account to do that. Check that the ClickSend account is active."),
    (RateLimitError, "ClickSend is rate limiting smsdesk. Try again in a minute."),
    (ServerError, "ClickSend had a server error. Try again later."),
)


def user_message_for(error: BaseException) -> str:
    """Describe `error` in one or two plain sentences for the Slack user who triggered it."""
    for error_class, sentence in _CLICKSEND_ERRORS:
        if isinstance(error, error_class):
            return sentence
    if isinstance(error, BadRequestError):
        return f"ClickSend rejected the request: {error.response_msg or error}"
    if isinstance(error, ClickSendError):
        return f"ClickSend returned an error: {error}"

    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if error.response is not None else ""
        default = f"Slack returned the error `{code}`. Try again, and tell whoever runs smsdesk if it persists."
        return _SLACK_ERRORS.get(code, default)

    if isinstance(error, ValueError):
        # Invalid numbers and the service's validation errors (empty body, schedule in the past,
        # opted-out number) carry a message written for users.
        return str(error)
    return (
        "Something went wrong inside smsdesk, so the request was not completed. "
        "Whoever runs smsdesk can find the cause in its log."
    )
