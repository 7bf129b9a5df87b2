"""`smsdesk sandbox` and `python -m sandbox`: run the simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sandbox.accounts import Account, default_accounts
from sandbox.clock import SandboxClock
from sandbox.pushes import PushTargetError, check_push_url
from sandbox.server import SandboxServer

logger = logging.getLogger(__name__)


def _push_url(value: str) -> str:
    try:
        return check_push_url(value)
    except PushTargetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"invalid amount {value!r}; give a number such as 250.00") from None
    if not amount.is_finite() or amount < 0:
        raise argparse.ArgumentTypeError(f"invalid amount {value!r}; give a number of 0 or more")
    return amount


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"invalid number {value!r}; give a whole number of 1 or more")
    return number


def _clock_start(value: str) -> float:
    """Read a Unix timestamp or an ISO 8601 time with a UTC offset."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {value!r}; give Unix seconds or ISO 8601 such as 2026-01-01T09:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"the time {value!r} needs a UTC offset, e.g. {value}+00:00")
    return moment.timestamp()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default 8765)")
    parser.add_argument("--username", default="demo-user", metavar="U", help="API username of the sandbox account (default demo-user)")
    parser.add_argument("--api-key", default="demo-key", metavar="K", help="API key of the sandbox account (default demo-key)")
    parser.add_argument("--balance", type=_amount, metavar="AMOUNT",
                        help="credit of the sandbox account in AUD (default 100)")
    parser.add_argument("--rate-limit", type=_positive_int, metavar="N",
                        help="API requests per minute before 429 Too many attempts (default 6000)")
    parser.add_argument("--demo-data", action="store_true",
                        help="seed demo conversations, templates, scheduled sends and failures")
    parser.add_argument("--receipt-url", type=_push_url, metavar="URL",
                        help="push delivery receipts to this loopback URL (form-encoded POST)")
    parser.add_argument("--inbound-url", type=_push_url, metavar="URL", help="push inbound replies to this loopback URL")
    parser.add_argument("--inbound-format", choices=("post", "get", "json"), default="post",
                        help="how inbound replies are pushed: form POST, GET query or JSON POST (default post)")
    parser.add_argument("--state", metavar="FILE",
                        help="keep the sandbox state in this SQLite file so it survives a restart")
    parser.add_argument("--clock-start", type=_clock_start, metavar="TIME",
                        help="start the sandbox clock at this time (Unix seconds or ISO 8601)")
    parser.add_argument("--frozen-clock", action="store_true",
                        help="stop the clock from following real time; it then moves only through "
                             "POST /_sandbox/clock/advance (reproducible demo data)")


def build_server(args: argparse.Namespace) -> SandboxServer:
    accounts = default_accounts()
    if args.username != "demo-user" or args.api_key != "demo-key":
        accounts.pop("demo-user")
        accounts[args.username] = Account(username=args.username, api_key=args.api_key)
    if args.balance is not None:
        accounts[args.username].balance = args.balance
    clock = SandboxClock(start=args.clock_start, frozen=args.frozen_clock)
    return SandboxServer(
        host=args.host,
        port=args.port,
        accounts=accounts,
        demo_data=args.demo_data,
        state_path=args.state,
        receipt_url=args.receipt_url,
        inbound_url=args.inbound_url,
        inbound_webhook_type=args.inbound_format,
        clock=clock,
        rate_limit=args.rate_limit,
    )


async def run(args: argparse.Namespace) -> int:
    """Start the sandbox, print how to use it, and serve until Ctrl-C or SIGTERM."""
    server = build_server(args)
    try:
        await server.start()
    except OSError as exc:
        print(f"smsdesk sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
              f"Pick another port with --port.", file=sys.stderr)
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass  # not on the main thread or not on Unix: Ctrl-C raises KeyboardInterrupt instead

    # The demo key is public, so it is printed; a key given with --api-key is a secret and is not.
    key = "demo-key" if args.api_key == "demo-key" else "<your --api-key>"
    print(f"ClickSend sandbox running at {server.base_url}", flush=True)
    print("  use it with:")
    print(f"  CLICKSEND_BASE_URL={server.base_url} CLICKSEND_USERNAME={args.username} CLICKSEND_API_KEY={key}")
    print(f"  control API: {server.root_url}/_sandbox/state ; stop with Ctrl-C", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Run the local ClickSend v3 SMS sandbox.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0
