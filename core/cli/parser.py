"""The argument parser of the `smsdesk` command."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from core.cli.launchers import SANDBOX_HELP
from core.cli.listings import DEFAULT_LIST_LIMIT, HISTORY_QUERY_FIELDS, HISTORY_STATUS_HELP
from core.service import MAX_SCHEDULE_AHEAD


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors start with `smsdesk: error:` in every subcommand too.

    argparse would write `smsdesk send: error:`; the usage line above the
    error already names the subcommand.
    """

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"smsdesk: error: {message}\n")


def port_number(text: str) -> int:
    """Parse a --port value: a TCP port from 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: give a number from 1 to 65535, or 0 for any free port")
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: give a number from 1 to 65535, or 0 for any free port")
    return port


def list_limit(text: str) -> int:
    """Parse a --limit value: a whole number, 0 for no limit."""
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise argparse.ArgumentTypeError(f"invalid --limit {text!r}: give a whole number such as 50, or 0 for no limit")
    return limit


def _common_options(*, suppress: bool, json_output: bool = True) -> argparse.ArgumentParser:
    """Build the options every command takes.

    The copies on subcommands default to SUPPRESS, so that `smsdesk --json
    history` keeps the --json given before the command.
    """
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="configuration file (default: $SMSDESK_CONFIG, else config.toml in the user config dir)",
    )
    common.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS if suppress else None,
        help="ClickSend API base URL (default: $CLICKSEND_BASE_URL, else https://rest.clicksend.com/v3)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        # Accepted everywhere so that scripts can pass it to any command, but
        # not offered where the command prints no data.
        help="print machine-readable JSON on stdout" if json_output else argparse.SUPPRESS,
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log more on stderr (-vv for debug)",
    )
    return common


def _add_message_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        metavar="NUMBER",
        action="append",
        required=True,
        help="recipient in E.164 or as a national number of default_region; repeat for several",
    )
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", metavar="TEXT", help="message text; - reads it from stdin")
    body.add_argument("--template", metavar="NAME", help="use a saved template (name or id) as the text")
    parser.add_argument(
        "--var", metavar="NAME=VALUE", action="append", default=[], help="value for a {NAME} placeholder; repeatable"
    )
    parser.add_argument(
        "--from",
        dest="sender",
        metavar="SENDER",
        help="approved sender ID (up to 11 letters and digits) or number; default: the account's",
    )
    parser.add_argument(
        "--schedule",
        metavar="WHEN",
        help=f"send later: ISO 8601 (local time without an offset, or a date alone) or Unix seconds, "
        f"at most {MAX_SCHEDULE_AHEAD.days} days ahead",
    )
    parser.add_argument("--custom-string", metavar="REF", help="your reference, returned with receipts and replies")


def _add_template_commands(templates: argparse.ArgumentParser, common: list[argparse.ArgumentParser]) -> None:
    actions = templates.add_subparsers(dest="templates_action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=common, help="list every template")

    show = actions.add_parser("show", parents=common, help="print one template")
    show.add_argument("template", metavar="ID_OR_NAME")

    add = actions.add_parser("add", parents=common, help="create a template")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--body", metavar="TEXT", required=True, help="template text; - reads it from stdin")

    edit = actions.add_parser("edit", parents=common, help="change a template's name or text")
    edit.add_argument("template", metavar="ID_OR_NAME")
    edit.add_argument("--name", metavar="NEW_NAME")
    edit.add_argument("--body", metavar="TEXT", help="new text; - reads it from stdin")

    remove = actions.add_parser("rm", parents=common, help="delete a template")
    remove.add_argument("template", metavar="ID_OR_NAME")


def _add_history_options(history: argparse.ArgumentParser) -> None:
    history.add_argument(
        "--query",
        metavar="FIELD:VALUE",
        action="append",
        default=[],
        help="filter, repeatable; FIELD is one of " + ", ".join(HISTORY_QUERY_FIELDS) + "; " + HISTORY_STATUS_HELP,
    )
    history.add_argument(
        "--since", metavar="WHEN", help="from this time (ISO 8601 such as 2026-12-24 or 2026-12-24T09:00, or Unix seconds)"
    )
    history.add_argument(
        "--until", metavar="WHEN", help="up to this time (ISO 8601 such as 2026-12-24 or 2026-12-24T09:00, or Unix seconds)"
    )
    history.add_argument("--export", metavar="FILE", help="write the matching messages to a CSV file")
    history.add_argument(
        "--limit",
        metavar="N",
        type=list_limit,
        help=f"at most N messages (default {DEFAULT_LIST_LIMIT}, all with --export; 0 for all)",
    )


def _add_slack_options(slack: argparse.ArgumentParser) -> None:
    mode = slack.add_mutually_exclusive_group()
    mode.add_argument(
        "--socket-mode",
        dest="socket_mode",
        action="store_const",
        const=True,
        help="use Socket Mode (needs SLACK_APP_TOKEN)",
    )
    mode.add_argument(
        "--http",
        dest="socket_mode",
        action="store_const",
        const=False,
        help="serve Slack's HTTP requests (needs SLACK_SIGNING_SECRET)",
    )
    slack.add_argument("--host", help="address to listen on in HTTP mode (default: [slack] host)")
    slack.add_argument("--port", type=port_number, help="TCP port to listen on in HTTP mode (default: [slack] port)")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="smsdesk",
        parents=[_common_options(suppress=False)],
        description="Send and receive SMS through ClickSend. Without a command, opens the terminal inbox "
        "(on the local sandbox when no ClickSend credentials are set).",
    )
    parser.add_argument("--demo", action="store_true", help="open the inbox on the local sandbox with demo data")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common_options(suppress=True)]
    # The long-running commands and the inbox print no data, so their help does not offer --json.
    without_json = [_common_options(suppress=True, json_output=False)]

    def add(name: str, help_text: str, *, json_output: bool = True) -> argparse.ArgumentParser:
        parents = common if json_output else without_json
        return commands.add_parser(name, parents=parents, help=help_text, description=help_text)

    send = add("send", "Send an SMS to one or more numbers.")
    _add_message_options(send)
    send.add_argument("--allow-opted-out", action="store_true", help="send even to numbers that replied STOP")

    price = add("price", "Show parts, encoding and price per recipient, and the total, without sending.")
    _add_message_options(price)

    cancel = add("cancel", "Cancel a scheduled SMS, or all of them.")
    cancel.add_argument("message_id", metavar="MESSAGE_ID", nargs="?", help="ClickSend message id of the scheduled SMS")
    cancel.add_argument("--all", action="store_true", help="cancel every scheduled SMS of the account")
    cancel.add_argument("--custom-string", metavar="REF", help="with --all: only the scheduled SMS with this reference")

    _add_template_commands(add("templates", "List, show, add, edit or remove message templates."), common)
    _add_history_options(add("history", "List sent messages from ClickSend's history, or export them to CSV."))
    for name, help_text in (
        ("receipts", "List delivery receipts waiting at ClickSend."),
        ("inbound", "List inbound SMS (replies) waiting at ClickSend."),
    ):
        listing = add(name, help_text)
        listing.add_argument(
            "--limit", metavar="N", type=list_limit, help=f"at most N (default {DEFAULT_LIST_LIMIT}; 0 for all)"
        )

    config = add("config", "Show which configuration file is read, or check the settings.")
    config_actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    config_actions.add_parser("path", parents=common, help="print the configuration file that is read")
    config_actions.add_parser("check", parents=common, help="report invalid and missing settings")

    add("sync", "Fetch inbound SMS, receipts, history and templates into the cache once.")
    serve = add("serve", "Run the ClickSend webhook receiver and the pollers until interrupted.", json_output=False)
    serve.add_argument("--host", help="address to listen on (default: [webhook] host)")
    serve.add_argument("--port", type=port_number, help="TCP port to listen on (default: [webhook] port)")
    # The sandbox parses its own options, so its help comes from the sandbox too.
    commands.add_parser("sandbox", help=SANDBOX_HELP, add_help=False)
    _add_slack_options(add("slack", "Run the Slack bot until interrupted.", json_output=False))
    tui = add("tui", "Open the terminal inbox.", json_output=False)
    tui.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="use the local sandbox with demo data"
    )
    return parser
