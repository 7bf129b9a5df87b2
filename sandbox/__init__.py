"""A local, stateful simulator of ClickSend's REST v3 SMS API (see the README's Sandbox section)."""

from sandbox.accounts import Account
from sandbox.clock import SandboxClock
from sandbox.server import SandboxServer
from sandbox.state import SandboxState

__all__ = ["Account", "SandboxClock", "SandboxServer", "SandboxState"]
