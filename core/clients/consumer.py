"""``Consumer``: an async in-process group consumer speaking the classic protocol.

Contract:

* It talks to the ``Broker`` object directly (no socket) and must run on the broker's
  loop. It is two halves over one shared :class:`~core.clients.fetcher.Partitions`:
  :class:`~core.clients.membership.Membership` (join, sync, heartbeats, commits: the
  background task) and :class:`~core.clients.fetcher.Fetcher` (positions, buffers,
  ``getmany``). This class drives both and exposes them, read-only, as ``membership``
  (member id, generation, status, ...) and ``fetcher`` (records consumed, processing
  delay); their docstrings give the rules.
* Assignors: ``range``, ``roundrobin``, ``cooperative-sticky`` (see assignors.py).
* Time: every interval and deadline is measured on ``clock`` (default: the running loop's,
  :class:`~core.clients.clock.LoopClock`), so tests can drive heartbeats and auto-commits
  exactly.
* ``close()`` leaves the group gracefully (LeaveGroup, unless static); ``kill()`` stops
  dead with no LeaveGroup, so the coordinator evicts it after its session timeout.
* ``state()`` reports what the GUI shows: status, member id, generation, assignment,
  positions, records consumed, paused partitions.
* While started it is registered with the broker as a local client
  (``Broker.register_local_client``), counting its calls by the Kafka API they stand for,
  so the monitor lists it beside socket connections; ``close``/``kill`` remove it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from streamscope.core.clients.clock import LOOP_CLOCK, Clock
from streamscope.core.clients.fetcher import ConsumerRecord, Fetcher, Partitions, TopicPartition
from streamscope.core.clients.membership import (
    CLIENT_HOST,
    PROTOCOL_TYPE,
    Membership,
    PartitionsCallback,
)
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups import GroupCoordinator
from streamscope.core.protocol import ApiKey

if TYPE_CHECKING:
    from streamscope.core.broker import Broker, LocalClient

__all__ = [
    "CLIENT_HOST",
    "PROTOCOL_TYPE",
    "Consumer",
    "ConsumerRecord",
    "ConsumerState",
    "TopicPartition",
    "attached_coordinator",
]


@dataclass(frozen=True, slots=True)
class ConsumerState:
    client_id: str
    group_id: str
    member_id: str
    generation: int
    status: str  # created, joining, rebalancing, stable, closed, dead
    is_leader: bool
    assignor: str | None
    assignment: tuple[TopicPartition, ...]
    positions: dict[TopicPartition, int]
    records_consumed: int
    paused: tuple[TopicPartition, ...]
    processing_delay_s: float
    rebalances: int
    last_error: str | None


def attached_coordinator(broker: Broker) -> GroupCoordinator:
    """The group coordinator attached to ``broker``: the default of a consumer built
    without ``groups=``. A broker without one (not started through :class:`core.node.Node`)
    is an error here, not a silent consumer that never joins."""
    groups = broker.groups
    if not isinstance(groups, GroupCoordinator):
        raise TypeError(
            f"the broker's group coordinator ({type(groups).__name__}) cannot serve a "
            "consumer: start the broker through core.node, or pass groups="
        )
    return groups


class Consumer:
    def __init__(
        self,
        broker: Broker,
        group_id: str,
        topics: Iterable[str] = (),
        *,
        client_id: str = "streamscope-consumer",
        assignors: Sequence[str] = ("range", "cooperative-sticky"),
        group_instance_id: str | None = None,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        heartbeat_interval_ms: int = 1_000,
        auto_offset_reset: str = "latest",
        enable_auto_commit: bool = True,
        auto_commit_interval_ms: int = 5_000,
        max_poll_records: int = 500,
        max_partition_fetch_bytes: int = 1024 * 1024,
        processing_delay_s: float = 0.0,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
        clock: Clock = LOOP_CLOCK,
        groups: GroupCoordinator | None = None,
    ) -> None:
        """``groups``: the group coordinator to join through (the node's); by default the
        one attached to ``broker``, checked by :func:`attached_coordinator`."""
        if not group_id:
            raise ValueError("a group consumer needs a group id")
        if auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError("auto_offset_reset must be earliest, latest or none")
        if not assignors:
            raise ValueError("at least one assignor is needed")
        self.broker = broker
        self._local: LocalClient | None = None
        self._partitions = Partitions()
        self.fetcher: Final = Fetcher(
            broker, self._partitions, clock=clock, count=self._count,
            stopped=self._fetch_stopped, topic_gone=self._topic_gone,
            auto_offset_reset=auto_offset_reset, max_poll_records=max_poll_records,
            max_partition_fetch_bytes=max_partition_fetch_bytes,
            processing_delay_s=processing_delay_s, local_client=lambda: self._local,
        )
        self.membership: Final = Membership(
            broker, groups if groups is not None else attached_coordinator(broker),
            group_id, tuple(sorted(set(topics))), self._partitions, self.fetcher,
            clock=clock, count=self._count, unregister=self._unregister,
            client_id=client_id, assignors=assignors, group_instance_id=group_instance_id,
            session_timeout_ms=session_timeout_ms, rebalance_timeout_ms=rebalance_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms, enable_auto_commit=enable_auto_commit,
            auto_commit_interval_ms=auto_commit_interval_ms,
            on_assigned=on_assigned, on_revoked=on_revoked,
        )

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> Consumer:
        if not self.membership.started:
            self._local = self.broker.register_local_client(self.membership.client_id, "consumer")
            self.membership.start()
        return self

    async def __aenter__(self) -> Consumer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Commit (with auto-commit), leave the group, stop. Idempotent."""
        if self.membership.status in ("closed", "dead"):
            return
        await self.membership.close()
        self._unregister()

    def kill(self) -> None:
        """Die abruptly: no commit, no LeaveGroup, heartbeats just stop."""
        self.membership.kill()
        self._unregister()

    def _unregister(self) -> None:
        if self._local is not None:
            self.broker.unregister_local_client(self._local)
            self._local = None

    def _count(self, api_key: ApiKey, bytes_out: int = 0) -> None:
        if self._local is not None:
            self._local.count(api_key, bytes_out)

    def _fetch_stopped(self) -> bool:
        return self.membership.stopping or self.membership.status in ("closed", "dead")

    def _topic_gone(self) -> None:
        self.membership.drop_deleted_topics()

    # --- subscription, positions, pause, state ----------------------------------------

    def assignment(self) -> set[TopicPartition]:
        return set(self._partitions.assigned)

    def position(self, tp: TopicPartition) -> int | None:
        return self._partitions.positions.get(tp)

    def pause(self, *tps: TopicPartition) -> None:
        """Stop returning records of these partitions (all assigned ones if none given)."""
        self._partitions.paused.update(tps or self._partitions.assigned)

    def resume(self, *tps: TopicPartition) -> None:
        if tps:
            self._partitions.paused.difference_update(tps)
        else:
            self._partitions.paused.clear()

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.fetcher.seek(tp, offset)

    def state(self) -> ConsumerState:
        m, parts = self.membership, self._partitions
        return ConsumerState(
            client_id=m.client_id,
            group_id=m.group_id,
            member_id=m.member_id,
            generation=m.generation,
            status=m.status,
            is_leader=bool(m.member_id) and m.leader_id == m.member_id,
            assignor=m.protocol_name,
            assignment=tuple(sorted(parts.assigned)),
            positions=dict(sorted(parts.positions.items())),
            records_consumed=self.fetcher.records_consumed,
            paused=tuple(sorted(parts.paused & parts.assigned)),
            processing_delay_s=self.fetcher.processing_delay_s,
            rebalances=m.rebalances,
            last_error=m.last_error,
        )

    # --- commits and fetching ---------------------------------------------------------

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (default: the position of every assigned partition)."""
        await self.membership.commit(offsets)

    async def getmany(
        self, timeout_ms: float = 1000, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Records of assigned, unpaused partitions (waits up to ``timeout_ms`` for some)."""
        status = self.membership.status
        if status in ("closed", "dead"):
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"consumer is {status}")
        await self.start()
        return await self.fetcher.getmany(timeout_ms, max_records)
