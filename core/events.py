"""In-process events, so front-ends learn about changes without polling the cache.

Every event is published after the write it describes has been committed.
``EventBus.subscribe()`` returns an async iterator with its own queue. A subscriber
that falls more than ``max_queue`` events behind loses the queued events and receives
a ``StoreChanged`` in their place, which means "reload what you show".

``DataVersionWatcher`` covers writes by other processes on the same cache file (the
terminal inbox and the Slack bot side by side): it polls ``PRAGMA data_version`` and
publishes ``StoreChanged`` when another connection committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from core.store import MessageRecord, StatusChange, Store

__all__ = [
    "DataVersionWatcher",
    "Event",
    "EventBus",
    "InboundReceived",
    "MessageSent",
    "OptOutChanged",
    "StatusChanged",
    "StoreChanged",
    "Subscription",
    "TemplatesChanged",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE: Final = 1000


class Event:
    """Base class of every event."""


@dataclass(frozen=True)
class InboundReceived(Event):
    """A new inbound SMS was stored (published once per ClickSend message id)."""

    message: MessageRecord


@dataclass(frozen=True)
class MessageSent(Event):
    """ClickSend returned a result for an outbound message: accepted (queued or scheduled) or failed."""

    message: MessageRecord


@dataclass(frozen=True)
class StatusChanged(Event):
    """The cached status of an outbound message moved forward."""

    change: StatusChange


@dataclass(frozen=True)
class OptOutChanged(Event):
    number: str
    opted_out: bool


@dataclass(frozen=True)
class TemplatesChanged(Event):
    pass


@dataclass(frozen=True)
class StoreChanged(Event):
    """Something changed that this process did not describe: reload what you show."""

    reason: str  # 'other process' or 'events dropped'


class Subscription:
    """One subscriber's queue; iterate it with ``async for``, end it with ``close()``."""

    def __init__(self, bus: EventBus, max_queue: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._max_queue = max_queue

    def _put(self, event: Event) -> None:
        if self._queue.qsize() >= self._max_queue:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(StoreChanged(reason="events dropped"))
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._bus._unsubscribe(self)
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def get(self, timeout: float | None = None) -> Event:
        """Return the next event, waiting at most ``timeout`` seconds (TimeoutError after)."""
        event = await asyncio.wait_for(self._queue.get(), timeout)
        if event is None:
            raise StopAsyncIteration
        return event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventBus:
    """Fan out events to every current subscriber. Not thread-safe: use it from the event loop."""

    def __init__(self, *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self._subscriptions: list[Subscription] = []
        self._max_queue = max_queue

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, self._max_queue)
        self._subscriptions.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            subscription._put(event)

    def close(self) -> None:
        """End every subscription's iteration."""
        for subscription in list(self._subscriptions):
            subscription.close()


class DataVersionWatcher:
    """Publish ``StoreChanged`` when another process commits to the cache file.

    Run it as a task (``async with DataVersionWatcher(store, events):``) for as long as
    the front-end shows data; ``interval`` is in seconds.
    """

    def __init__(self, store: Store, events: EventBus, *, interval: float = 0.5) -> None:
        self._store = store
        self._events = events
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DataVersionWatcher:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="smsdesk-data-version-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        last = await self._store.data_version()
        while True:
            await asyncio.sleep(self._interval)
            current = await self._store.data_version()
            if current != last:
                last = current
                log.debug("cache %s changed in another process", self._store.path)
                self._events.publish(StoreChanged(reason="other process"))
