"""Errors and exit codes of the `smsdesk` command."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line value is invalid. The message names the value and what to give instead."""
