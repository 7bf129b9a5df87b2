"""What Slack users read, kept apart from what the log gets.

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
    ConnectError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TransportError,
)
from core.numbers import InvalidNumberError, InvalidSenderError

ACK_SENDING = "Sending…"
ACK_PRICING = "Pricing…"
ACK_CANCELLING = "Cancelling…"
ACK_WORKING = "Working on it…"
ACK_COMPOSE = "Opening the compose form. Type `/sms help` for the other commands."
CONFIRM_ALREADY_HANDLED = "This send was already confirmed or cancelled."
CONFIRM_EXPIRED = "This confirmation has expired. Run the command again."
CONFIRM_CANCELLED = "Not sent."
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


def refusal(*, user_id: str, channel_id: str | None, action: str, reason: str) -> str:
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


def user_message_for(error: BaseException) -> str:
    """Describe `error` in one or two plain sentences for the Slack user who triggered it."""
    if isinstance(error, (InvalidNumberError, InvalidSenderError)):
        return str(error)
    if isinstance(error, OutcomeUnknownError):
        return (
            "ClickSend did not answer, so it is unknown whether the SMS was sent. "
            "smsdesk will check the ClickSend history before anything is sent again; do not resend yet."
        )
    if isinstance(error, (ConnectError, RequestTimeout, TransportError)):
        return CLICKSEND_UNREACHABLE
    if isinstance(error, AuthenticationError):
        return "ClickSend rejected the smsdesk credentials, so nothing was sent. Ask whoever runs smsdesk to check the API username and key."
    if isinstance(error, PermissionDeniedError):
        return "ClickSend does not allow this account to do that. Check that the ClickSend account is active."
    if isinstance(error, RateLimitError):
        return "ClickSend is rate limiting smsdesk, so nothing was sent. Try again in a minute."
    if isinstance(error, BadRequestError):
        detail = error.response_msg or str(error)
        return f"ClickSend rejected the request: {detail}"
    if isinstance(error, ServerError):
        return "ClickSend had a server error, so nothing was sent. Try again later."
    if isinstance(error, ClickSendError):
        return f"ClickSend returned an error: {error}"
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if error.response is not None else ""
        return _SLACK_ERRORS.get(code, f"Slack returned the error `{code}`. Try again, and tell whoever runs smsdesk if it persists.")
    if isinstance(error, ValueError):
        # Service validation errors (empty body, schedule in the past, opted-out number) carry
        # a message written for users.
        return str(error)
    return "Something went wrong inside smsdesk, so the request was not completed. Whoever runs smsdesk can find the cause in its log."
