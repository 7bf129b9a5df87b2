"""The sandbox clock: the time that drives deliveries, schedules, replies and push retries."""

from __future__ import annotations

import time


class SandboxClock:
    """Unix time in seconds, either following the wall clock or frozen, plus an offset.

    Tests move time with ``advance()`` instead of sleeping. A frozen clock only
    moves when advanced, which makes demo data and snapshots reproducible.
    """

    def __init__(self, *, start: float | None = None, frozen: bool = False) -> None:
        self.frozen = frozen
        self._start = time.time() if start is None else float(start)
        # A running clock keeps the gap between wall time and `start`.
        self._wall_at_start = time.time()
        self._offset = 0.0

    def now(self) -> float:
        if self.frozen:
            return self._start + self._offset
        return self._start + (time.time() - self._wall_at_start) + self._offset

    def timestamp(self) -> int:
        """Return the current time as whole Unix seconds, the unit ClickSend uses."""
        return int(self.now())

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"cannot move the sandbox clock backwards by {seconds} seconds")
        self._offset += seconds
        return self.now()

    def __repr__(self) -> str:
        mode = "frozen" if self.frozen else "running"
        return f"SandboxClock({mode}, now={self.now():.3f})"
