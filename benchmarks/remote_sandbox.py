"""The sandbox in a process of its own, so its CPU time does not count against the client.

ClickSend is a remote service. Run in the benchmark's own process, the
simulator's JSON encoding and bookkeeping would count against whichever side
is being measured.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import aiohttp

_URL_LINE = re.compile(r"running at (http://127\.0\.0\.1:\d+)/v3")
START_TIMEOUT = 60.0


class RemoteSandbox:
    """`async with RemoteSandbox(username=..., api_key=...) as sandbox:`; base_url and root_url."""

    def __init__(self, *, username: str, api_key: str, balance: str = "100000000") -> None:
        self._arguments = [
            "--port", "0", "--username", username, "--api-key", api_key,
            "--balance", balance, "--rate-limit", "1000000000", "--frozen-clock",
        ]
        self._process: asyncio.subprocess.Process | None = None
        self.root_url = ""
        self.base_url = ""

    async def __aenter__(self) -> RemoteSandbox:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", *self._arguments,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT)
        found = _URL_LINE.search(line.decode())
        if found is None:
            await self.__aexit__()
            raise RuntimeError(f"the sandbox did not print its address; it printed {line!r}")
        self.root_url = found.group(1)
        self.base_url = f"{self.root_url}/v3"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()

    async def control(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the sandbox's control API under /_sandbox/ and return its JSON."""
        async with aiohttp.ClientSession() as session:
            async with session.request(method, f"{self.root_url}/_sandbox/{path}", json=payload) as response:
                response.raise_for_status()
                return await response.json()
