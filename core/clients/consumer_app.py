"""``ConsumerApp``: an in-process consumer plus the poll loop that makes it consume, like an app.

Contract:

* What the simulations and the GUI's "Start consumers" run: a :class:`Consumer` with
  auto-commit, and a task on the broker loop calling ``getmany`` until told to stop. It is
  headless (the desktop only starts, stops and lists these through its broker service).
* The poll loop ends on its own stop flag, not on cancellation alone. It retries a
  ``KafkaError`` (logged as a warning). Any other exception ends it, and its done-callback
  logs it with its traceback and emits an ``error`` broker event naming the consumer and
  its group, and keeps it in :attr:`ConsumerApp.poll_error`: a consumer never stops
  consuming silently, also when the failure happens while :meth:`close` stops the loop.
* :meth:`close` waits for the loop with a bound (:data:`POLL_STOP_TIMEOUT_S`), then closes
  the consumer (commit, LeaveGroup) whatever the loop did; :meth:`kill` stops dead (no
  commit, no LeaveGroup: the group notices at the session timeout).
* :func:`close_consumers` closes several, each within ``timeout_s``; one that fails or
  hangs is killed instead, logged, reported by an ``error`` broker event and returned.
* Pausing pauses every partition the consumer owns, and those it is given later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamscope.core.clients.consumer import Consumer
from streamscope.core.errors import KafkaError

if TYPE_CHECKING:
    from streamscope.core.broker import Broker
    from streamscope.core.groups import GroupCoordinator

log = logging.getLogger(__name__)

# How long one consumer may take to close (commit, LeaveGroup) before it is killed instead.
CLOSE_TIMEOUT_S = 10.0
# How long a poll loop may take to end once told to stop.
POLL_STOP_TIMEOUT_S = 5.0
# Pause after a KafkaError before polling again.
POLL_RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class LocalConsumer:
    """One in-process consumer app, as the GUI may see it (immutable: any thread)."""

    group: str
    client_id: str
    member_id: str  # "" until it has joined
    topics: tuple[str, ...]
    status: str  # the Consumer's: joining, rebalancing, stable, closed, dead
    paused: bool
    processing_delay_s: float


class ConsumerApp:
    def __init__(
        self,
        broker: Broker,
        groups: GroupCoordinator,
        group: str,
        topics: Sequence[str],
        *,
        client_id: str,
        assignor: str,
        offset_reset: str,
        processing_delay_s: float,
    ) -> None:
        self.broker = broker
        self.group = group
        self.consumer = Consumer(
            broker,
            group,
            topics,
            client_id=client_id,
            assignors=(assignor,),
            auto_offset_reset=offset_reset,
            auto_commit_interval_ms=1000,
            processing_delay_s=processing_delay_s,
            on_assigned=self._on_assigned,
            groups=groups,
        )
        self.paused = False
        self.poll_error: BaseException | None = None
        self._stopping = False
        self._task: asyncio.Task | None = None

    def describe(self) -> LocalConsumer:
        m = self.consumer.membership
        return LocalConsumer(
            self.group, m.client_id, m.member_id, m.topics, m.status, self.paused,
            self.consumer.fetcher.processing_delay_s,
        )

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.get_running_loop().create_task(
            self._poll(), name=f"poll-{self.consumer.membership.client_id}"
        )
        self._task.add_done_callback(self._poll_done)

    async def _poll(self) -> None:
        consumer = self.consumer
        while not self._stopping:
            if consumer.membership.status in ("closed", "dead"):
                return  # killed, fenced, or the broker closed under it
            try:
                await consumer.getmany(timeout_ms=500)
            except KafkaError as exc:
                if consumer.membership.status in ("closed", "dead"):
                    return
                log.warning("consumer %s: %s", consumer.membership.client_id, exc)
                await asyncio.sleep(POLL_RETRY_S)

    def _poll_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self.poll_error = exc
        client_id = self.consumer.membership.client_id
        log.error("poll loop of consumer %s failed", client_id, exc_info=exc)
        self.broker.emit_event(
            "error",
            f"Consumer {client_id} of group {self.group} stopped consuming: {exc!r}",
            group=self.group, client_id=client_id,
        )

    def _on_assigned(self, tps: set[tuple[str, int]]) -> None:
        if self.paused:
            self.consumer.pause(*tps)

    def pause(self) -> None:
        self.paused = True
        self.consumer.pause()

    def resume(self) -> None:
        self.paused = False
        self.consumer.resume()

    async def close(self) -> None:
        self._stopping = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait, not wait_for: it never swallows a cancel of the caller, and
            # the flag above ends the loop even if the cancel were lost inside it. It does
            # not raise the loop's failure either: _poll_done reports that.
            done, _ = await asyncio.wait({task}, timeout=POLL_STOP_TIMEOUT_S)
            if not done:
                client_id = self.consumer.membership.client_id
                log.error("poll loop of consumer %s did not stop", client_id)
        await self.consumer.close()

    def kill(self) -> None:
        """Stop dead: no commit, no LeaveGroup (the group notices at the session timeout)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
        self.consumer.kill()


async def close_consumers(
    apps: Sequence[ConsumerApp], timeout_s: float = CLOSE_TIMEOUT_S
) -> list[str]:
    """Close each consumer gracefully; one that fails or hangs is killed. Returns those."""
    failed: list[str] = []
    for app in apps:
        try:
            async with asyncio.timeout(timeout_s):
                await app.close()
        except Exception:  # noqa: BLE001 - one bad consumer must not keep others running
            client_id = app.consumer.membership.client_id
            log.exception("closing in-process consumer %s failed; killed instead", client_id)
            app.kill()
            failed.append(client_id)
            app.broker.emit_event(
                "error",
                f"Consumer {client_id} did not leave group {app.group} "
                "gracefully and was killed",
                group=app.group, client_id=client_id,
            )
    return failed
