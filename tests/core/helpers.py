"""Shared by the core tests that run in-process clients on a real broker.

Contract: plain functions (the ``broker`` fixture built on :func:`make_broker` is in
``tests/core/conftest.py``). Waits are for conditions; a deadline only turns a hang into
a failure.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from streamscope.core.broker import Broker
from streamscope.core.clients import Consumer, Producer
from streamscope.core.config import BrokerConfig
from streamscope.core.groups import GroupCoordinator
from streamscope.core.lessons import Lesson, LessonPlayer
from streamscope.core.log import files
from streamscope.core.node import Node, start_broker, start_node
from streamscope.core.runtime import BrokerThread
from streamscope.core.sim.scenario import Scenario

WAIT_S = 30.0  # only ever reached by a hang: turns it into a failure

# ``--listen`` texts and the (host, port) they mean, for the broker's CLI and the app
# alike (one parser: an empty host means loopback).
LISTEN_CASES = [
    (":9092", ("127.0.0.1", 9092)),
    ("9092", ("127.0.0.1", 9092)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("[::1]:9093", ("::1", 9093)),
    ("example.org:19092", ("example.org", 19092)),
]


async def make_broker(path: Path) -> Broker:
    """A started broker with its group coordinator (core.node), no listener; short group
    delays so rebalances in tests take milliseconds."""
    return await start_broker(BrokerConfig(
        host="127.0.0.1", port=0, data_dir=path, group_initial_rebalance_delay_ms=50,
        group_min_session_timeout_ms=100,
    ))


@contextmanager
def broker_thread(path: Path) -> Iterator[BrokerThread]:
    """A started broker on its own thread and loop, listening on 127.0.0.1 (port 0), its
    data under ``path / "data"``; stopped on exit. For tests driving it with real clients
    over TCP."""
    thread = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=path / "data"))
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def groups_of(broker: Broker) -> GroupCoordinator:
    """The broker's group coordinator (a broker from :func:`make_broker` has one)."""
    groups = broker.groups
    assert isinstance(groups, GroupCoordinator)
    return groups


@asynccontextmanager
async def scenario_on(broker: Broker, *, seed: int, delete_topics: Sequence[str] = (),
                      **kw: object) -> AsyncIterator[Scenario]:
    """A :class:`Scenario` on ``broker``; on exit reset (partners stopped, apps closed,
    their offsets and ``delete_topics`` deleted), the clean state the next test needs."""
    scenario = Scenario(broker, groups_of(broker), seed=seed, **kw)  # type: ignore[arg-type]
    try:
        yield scenario
    finally:
        await scenario.reset(delete_topics=delete_topics)


@asynccontextmanager
async def open_player(scenario: Scenario, lesson: Lesson, **kw: object
                  ) -> AsyncIterator[LessonPlayer]:
    """A :class:`LessonPlayer` of ``lesson`` on ``scenario``, closed on exit."""
    player = LessonPlayer(scenario, lesson, **kw)  # type: ignore[arg-type]
    try:
        yield player
    finally:
        await player.close()


async def wait_until(
    predicate: Callable[[], bool], timeout: float = WAIT_S, what: str = "condition"
) -> None:
    """Poll ``predicate`` until true; the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def consumer(
    broker: Broker, group: str, name: str, topics: Sequence[str] = ("t",), **kw: object
) -> Consumer:
    """An in-process consumer with test-sized heartbeats, sessions and auto-commit."""
    settings: dict[str, object] = dict(
        client_id=name, heartbeat_interval_ms=50, session_timeout_ms=600,
        rebalance_timeout_ms=2000, auto_offset_reset="earliest", auto_commit_interval_ms=100,
    )
    settings.update(kw)
    return Consumer(broker, group, topics, **settings)  # type: ignore[arg-type]


async def produce_keyed(broker: Broker, topic: str, n: int, keys: int = 40, start: int = 0) -> None:
    """``n`` records to ``topic``, keys ``k0``..``k<keys-1>`` in turn, all acknowledged."""
    producer = Producer(broker, linger_ms=1)
    futures = [await producer.send(topic, b"%d" % i, key=b"k%d" % (i % keys))
               for i in range(start, start + n)]
    await asyncio.gather(*futures)


GATE_S = 30.0  # a gate left closed by a failing test opens by itself after this


class GatedFiles(files.FaultyFiles):
    """A fault-injecting file layer whose syncs (fsync, fdatasync) of segment files
    (``.log``) with ``match`` in their path wait at a gate while it is closed.

    ``entered`` is set once a sync waits at the gate; every matching sync is recorded in
    ``synced``. A held sync takes the faults armed before it began, not those armed while
    it waits (they are for the next one)."""

    def __init__(self, match: str) -> None:
        super().__init__()
        self.match = match
        self.open_gate = threading.Event()
        self.open_gate.set()
        self.entered = threading.Event()
        self.synced: list[str] = []
        self._synced_lock = threading.Lock()

    def syncs(self) -> int:
        with self._synced_lock:
            return len(self.synced)

    def _sync(self, op: str, fd: int, sync: Callable[[int], None]) -> None:
        path = self.path_of(fd)
        if self.match not in path or not path.endswith(".log"):
            getattr(super(), op)(fd)
            return
        if self.open_gate.is_set():
            getattr(super(), op)(fd)
        else:
            self._check(op, fd)
            self.entered.set()
            self.open_gate.wait(GATE_S)
            sync(fd)
        with self._synced_lock:
            self.synced.append(path)

    def fdatasync(self, fd: int) -> None:
        self._sync("fdatasync", fd, os.fdatasync)

    def fsync(self, fd: int) -> None:
        self._sync("fsync", fd, os.fsync)


@contextmanager
def gated(match: str, *, closed: bool = False) -> Iterator[GatedFiles]:
    """:class:`GatedFiles` installed for the block (its gate closed at once if
    ``closed``), the gate opened when the block ends."""
    layer = GatedFiles(match)
    if closed:
        layer.open_gate.clear()
    with files.installed(layer):
        try:
            yield layer
        finally:
            layer.open_gate.set()


async def loopback_node(tmp_path: Path, **config: object) -> Node:
    """A whole node (broker, server on 127.0.0.1 port 0) over ``tmp_path / "data"``, with
    ``config`` as BrokerConfig fields; the test stops it."""
    return await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data",
                                         **config))  # type: ignore[arg-type]
