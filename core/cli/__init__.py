"""The `smsdesk` command: scripts' access to ClickSend, and the entry to the inbox and the bot.

Every subcommand is one function in `COMMANDS`. Data goes to stdout (a table,
or JSON with --json), logs and errors go to stderr. Exit codes: 0 success,
1 a ClickSend, network or partial send failure, 2 an invalid argument or
setting, 130 interrupted.

The front-ends (`tui`, `slack`), the sandbox and the store's `sync` and
`serve` are imported inside their subcommand, so that `core` does not depend
on them and a script that sends one SMS does not load Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.cli.configuration import cmd_config
from core.cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from core.cli.launchers import cmd_sandbox, cmd_serve, cmd_slack, cmd_sync, cmd_tui
from core.cli.listings import cmd_history, cmd_inbound, cmd_receipts
from core.cli.messages import cmd_cancel, cmd_price, cmd_send, cmd_templates
from core.cli.output import fail
from core.cli.parser import build_parser
from core.cli.when import check_schedule, parse_when
from core.config import ConfigError
from core.errors import ClickSendError, OutcomeUnknownError
from core.numbers import InvalidNumberError, InvalidSenderError
from core.service import SendValidationError, TemplateError

__all__ = ["COMMANDS", "UsageError", "build_parser", "check_schedule", "main", "parse_when"]

COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "send": cmd_send,
    "price": cmd_price,
    "cancel": cmd_cancel,
    "templates": cmd_templates,
    "history": cmd_history,
    "receipts": cmd_receipts,
    "inbound": cmd_inbound,
    "config": cmd_config,
    "sync": cmd_sync,
    "serve": cmd_serve,
    "sandbox": cmd_sandbox,
    "slack": cmd_slack,
    "tui": cmd_tui,
}

# Commands whose arguments belong to another package's parser.
PASSTHROUGH_COMMANDS = {"sandbox"}

# Long-running commands log their starts and stops at INFO without -v.
SERVICE_COMMANDS = {"serve", "slack", "sandbox"}


# The send service logs a failed send request at WARNING for the long-running
# front-ends. `smsdesk send` reports the same error on its own error line, so
# without -v the log line would only repeat it.
_REPORTED_SERVICE_WARNINGS = ("send of %d message(s) failed: %s",)


def _drop_reported_warnings(record: logging.LogRecord) -> bool:
    return not (record.name == "core.service" and record.msg in _REPORTED_SERVICE_WARNINGS)


def _configure_logging(verbosity: int, *, command: str | None) -> None:
    if verbosity <= 0:
        level = logging.WARNING
    elif verbosity == 1:
        level = logging.INFO
    else:
        level = logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if command == "send" and verbosity <= 0:
            handler.addFilter(_drop_reported_warnings)
        else:
            handler.removeFilter(_drop_reported_warnings)


# Errors in what the user gave: an argument, a setting, a number, a template.
USAGE_ERRORS = (UsageError, ConfigError, InvalidNumberError, InvalidSenderError, SendValidationError, TemplateError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `smsdesk` command and return its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASSTHROUGH_COMMANDS:
        parser.error("unrecognized arguments: " + " ".join(extra))
    args.passthrough = extra
    _configure_logging(args.verbose + (1 if args.command in SERVICE_COMMANDS else 0), command=args.command)

    command = COMMANDS[args.command or "tui"]
    try:
        result = command(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        # Flush here so that a closed stdout is handled below, not at exit.
        sys.stdout.flush()
        return result
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`smsdesk history | head`). Point stdout
        # at devnull so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except USAGE_ERRORS as error:
        fail(str(error))
        return EXIT_USAGE
    except OutcomeUnknownError as error:
        fail(
            f"{error}. The messages may or may not have been sent; run `smsdesk sync` to check "
            "the history before sending again"
        )
        return EXIT_FAILURE
    except ClickSendError as error:
        # Notes added on the way up name the base URL or the next step.
        notes = "".join(f"; {note}" for note in getattr(error, "__notes__", ()))
        fail(f"{error}{notes}")
        return EXIT_FAILURE
