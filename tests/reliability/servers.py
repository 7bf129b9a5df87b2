"""Servers on a background event loop, for Hypothesis tests (which run synchronously).

Hypothesis calls a test function once per example and cannot await it. So the
servers under test run on an event loop in a second thread for the whole test,
and each example sends raw HTTP to them from the test thread. Raw sockets let an
example send any bytes: wrong lengths, bodies cut short, invalid encodings.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Seconds a single example may take before the test fails instead of hanging.
CALL_TIMEOUT_SECONDS = 60.0


class LoopThread:
    """An asyncio event loop running in a daemon thread; ``run`` executes a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="reliability-loop", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Cancel what the servers left running (handlers of connections a test cut),
        # so no task is destroyed while pending when the loop closes.
        self.run(_cancel_other_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=CALL_TIMEOUT_SECONDS)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


async def _cancel_other_tasks() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class RawResponse:
    status: int | None  # None when the server closed the connection without a response
    body: bytes


def raw_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    declared_length: int | None = None,
) -> RawResponse:
    """Send one HTTP/1.1 request over a fresh socket and read the whole response.

    ``declared_length`` sets a Content-Length other than ``len(body)``. When it is
    larger, the socket is shut down for writing after the body, as when a client
    dies mid-upload, and the server may close the connection without a response.
    """
    all_headers = {"Host": f"127.0.0.1:{port}", "Connection": "close"}
    all_headers.update(headers or {})
    if body or declared_length is not None or method == "POST":
        all_headers["Content-Length"] = str(len(body) if declared_length is None else declared_length)
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in all_headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=CALL_TIMEOUT_SECONDS) as connection:
        try:
            connection.sendall(head.encode("latin-1") + b"\r\n" + body)
        except (BrokenPipeError, ConnectionResetError):
            # The server may respond (413) and close before reading an oversized body.
            pass
        if declared_length is not None and declared_length > len(body):
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        return RawResponse(None, b"")
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return RawResponse(int(status_line.split()[1]), payload)


def table_counts(cache: Path, tables: tuple[str, ...]) -> dict[str, int]:
    """Count the rows of ``tables`` through a separate read-only connection."""
    connection = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=10)
    try:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}
    finally:
        connection.close()
