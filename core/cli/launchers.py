"""Commands that start other parts of smsdesk: the inbox, the bot, the sandbox, sync and serve.

Each imports its package inside the function, so that `core` does not depend
on a front-end and a script that sends one SMS does not load Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys

from core.cli.context import require_credentials, settings_from
from core.cli.errors import EXIT_FAILURE, UsageError
from core.cli.output import fail

# Errors of binding a listening socket that the user fixes by choosing another address or port.
LISTEN_ERRORS = {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES}

SANDBOX_HELP = "Run the local ClickSend simulator on 127.0.0.1 (no account, nothing is sent)."


def cmd_tui(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from tui.app import run

    return run(settings, demo=getattr(args, "demo", False))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from core.cli.parser import ArgumentParser
    from sandbox.cli import add_arguments, run

    parser = ArgumentParser(prog="smsdesk sandbox", description=SANDBOX_HELP)
    add_arguments(parser)
    sandbox_args = parser.parse_args(args.passthrough)
    return asyncio.run(run(sandbox_args))


def cmd_slack(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from slackbot.app import main as run_slack
    from slackbot.runner import RunPlan, SlackConfigError

    # Check the Slack settings here first, so that a missing token is reported
    # like every other invalid setting. The same errors raised once the bot
    # runs (a rejected token, a port in use) are reported the same way.
    try:
        plan = RunPlan.from_settings(settings, args)
    except SlackConfigError as error:
        raise UsageError(str(error)) from None
    try:
        return run_slack(settings, args)
    except SlackConfigError as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        if not is_listen_error(error):
            raise
        fail(listen_failure(plan.host, plan.port, error, setting="[slack] port"))
        return EXIT_FAILURE


async def cmd_sync(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    require_credentials(settings)
    from core.sync import run_sync

    # Progress and the summary stay on stderr; --json adds the report on stdout.
    return await run_sync(settings, progress=True, json_output=sys.stdout if args.json else None)


async def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    require_credentials(settings)
    from core.serve import run_serve

    try:
        return await run_serve(settings, host=args.host, port=args.port)
    except OSError as error:
        if not is_listen_error(error):
            raise
        host = args.host or settings.webhook.host
        port = settings.webhook.port if args.port is None else args.port
        fail(listen_failure(host, port, error, setting="[webhook] port"))
        return EXIT_FAILURE


def is_listen_error(error: OSError) -> bool:
    """Return True when `error` is a failed bind of a listening socket, such as a port in use."""
    # asyncio names the bind in its message, which distinguishes it from a file error with the same errno.
    return error.errno in LISTEN_ERRORS and "bind" in str(error)


def listen_failure(host: str, port: int, error: OSError, *, setting: str) -> str:
    """Return the error line for a server that could not listen, with the next step."""
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    return (
        f"could not listen on {host}:{port}: {reason}; stop the other process "
        f"or choose another --port (or {setting})"
    )
