"""The group half of the in-process :class:`core.clients.Consumer`: join, sync, heartbeat, commit.

Contract:

* Group membership goes through the coordinator's Python API (``join_group``,
  ``sync_group``, ``heartbeat``, ``leave_group``, ``commit_offsets``), exactly the calls a
  wire client's requests become, so in-process consumers and real clients share a group:
  subscriptions and assignments are Kafka ConsumerProtocol bytes (decoded by
  :mod:`core.protocol.consumer_protocol`), and the leader (whoever it is) assigns with the protocol
  the group voted for.
* As in the Java client, the rebalance protocol is cooperative only if every configured
  assignor is: then partitions are revoked incrementally (only what moves, followed by a
  second rebalance that hands them over); otherwise eager (everything is revoked before
  rejoining).
* One background task (:meth:`Membership.start`) joins, syncs, heartbeats every
  ``heartbeat_interval_ms``, rejoins when told (REBALANCE_IN_PROGRESS) and auto-commits
  every ``auto_commit_interval_ms``, all on the injected :class:`~core.clients.clock.Clock`.
  The leader also rejoins when a subscribed topic's partition count changes. The task has
  a done-callback: a failure is logged, emitted as an ``error`` broker event and leaves
  the consumer ``dead`` with ``last_error`` set. When the coordinator goes away (broker closing) or fences a static
  member, the task ends and the consumer is ``dead``.
* Commits: auto-commit of positions (also before partitions are revoked and on
  ``close``), or :meth:`commit` by hand (raises ``KafkaError`` when the group refuses it).
* :meth:`close` leaves the group gracefully (LeaveGroup, unless static); :meth:`kill`
  stops dead with no LeaveGroup, so the coordinator evicts it after its session timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, InitVar, dataclass
from typing import TYPE_CHECKING

from streamscope.core.clients.assignors import Assignor, MemberSubscription, get_assignor
from streamscope.core.clients.clock import Clock, sleep, wait_or_timeout
from streamscope.core.clients.fetcher import Count, Fetcher, Partitions, TopicPartition
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups.member_data import CONSUMER as PROTOCOL_TYPE
from streamscope.core.meta import CommittedOffset
from streamscope.core.protocol import ApiKey
from streamscope.core.protocol.consumer_protocol import (
    assignment_partitions,
    decode_consumer_subscription,
    encode_consumer_assignment,
    encode_consumer_subscription,
    topic_partitions,
)

if TYPE_CHECKING:
    from streamscope.core.broker import Broker
    from streamscope.core.groups import GroupCoordinator

log = logging.getLogger(__name__)

CLIENT_HOST = "in-process"
PartitionsCallback = Callable[[set[TopicPartition]], object]


class _Stop(Exception):
    """The coordinator went away (broker closing): stop the background task."""


@dataclass(eq=False, repr=False)
class Membership:
    """The group membership of one consumer, built by it: ``count`` tallies a request
    against the consumer's in-process client, ``unregister`` removes that client once
    the consumer is dead."""

    broker: Broker
    coordinator: GroupCoordinator
    group_id: str
    topics: tuple[str, ...]
    partitions: Partitions
    fetcher: Fetcher
    _: KW_ONLY
    clock: Clock
    count: Count
    unregister: Callable[[], None]
    client_id: str
    assignors: InitVar[Sequence[str]]
    group_instance_id: str | None
    session_timeout_ms: int
    rebalance_timeout_ms: int
    heartbeat_interval_ms: int
    enable_auto_commit: bool
    auto_commit_interval_ms: int
    on_assigned: PartitionsCallback | None
    on_revoked: PartitionsCallback | None

    def __post_init__(self, assignors: Sequence[str]) -> None:
        self._assignors: list[Assignor] = [get_assignor(n) for n in assignors]
        self.cooperative = all(a.cooperative for a in self._assignors)

        self.member_id = ""
        self.generation = -1
        self.leader_id = ""
        self.protocol_name: str | None = None
        self.status = "created"  # created, joining, rebalancing, stable, closed, dead
        self.last_error: str | None = None
        self.rebalances = 0
        self.stopping = False
        self._committed: dict[TopicPartition, int] = {}
        self._need_rejoin = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._next_commit = 0.0
        self._assigned_counts: dict[str, int] = {}

    # --- lifecycle --------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        self._next_commit = self.clock.time() + self.auto_commit_interval_ms / 1000
        self.status = "joining"
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"consumer-{self.client_id}"
        )
        self._task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("consumer %s stopped: %r", self.client_id, exc, exc_info=exc)
            self.last_error = repr(exc)
            self.status = "dead"
            self.unregister()
            self.broker.emit_event(
                "error",
                f"Consumer {self.client_id} of group {self.group_id} stopped: {exc!r}",
                group=self.group_id, client_id=self.client_id,
            )

    async def close(self) -> None:
        """Commit (with auto-commit), leave the group, stop."""
        await self._stop_task()
        if self.enable_auto_commit and self.partitions.assigned:
            with contextlib.suppress(KafkaError):
                await self.commit()
        if self.member_id and self.group_instance_id is None:
            self.count(ApiKey.LEAVE_GROUP, 0)
            await self._coordinator().leave_group(
                self.group_id, [(self.member_id, None)], reason="the consumer is being closed"
            )
        self.lose(set(self.partitions.assigned))
        self.status = "closed"

    def kill(self) -> None:
        """Die abruptly: no commit, no LeaveGroup, heartbeats just stop."""
        self.stopping = True
        if self._task is not None:
            self._task.cancel()
        self.partitions.assigned.clear()
        self.partitions.buffers.clear()
        self.status = "dead"

    async def _stop_task(self) -> None:
        self.stopping = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait never raises the task's outcome (its done-callback logs a
            # failure), and a cancel of close() itself still goes through.
            await asyncio.wait({task})

    def _coordinator(self) -> GroupCoordinator:
        return self.coordinator

    def request_rejoin(self) -> None:
        self._need_rejoin = True
        self._wake.set()

    def drop_deleted_topics(self) -> None:
        """A fetch found a topic deleted: lose all of it and rejoin without it."""
        self.lose({tp for tp in self.partitions.assigned if not self.fetcher.exists(tp)})
        self.request_rejoin()

    # --- the background task: membership, heartbeats, auto-commit ---------------------

    async def _run(self) -> None:
        clock = self.clock
        try:
            while not self.stopping:
                if self._need_rejoin:
                    await self._rejoin()
                    continue
                await self._heartbeat()
                if self._need_rejoin or self.stopping:
                    continue
                if self.enable_auto_commit and clock.time() >= self._next_commit:
                    self._next_commit = clock.time() + self.auto_commit_interval_ms / 1000
                    with contextlib.suppress(KafkaError):
                        await self.commit()
                if self.leader_id == self.member_id and self._partition_counts_changed():
                    self.request_rejoin()
                    continue
                self._wake.clear()
                await wait_or_timeout(clock, self._wake, self.heartbeat_interval_ms / 1000)
        except _Stop:
            self.lose(set(self.partitions.assigned))
            self.status = "dead"
            self.last_error = self.last_error or "the group coordinator went away"
            self.unregister()

    async def _heartbeat(self) -> None:
        self.count(ApiKey.HEARTBEAT, 0)
        err = await self._coordinator().heartbeat(
            self.group_id, self.generation, self.member_id, self.group_instance_id
        )
        if err == ErrorCode.NONE:
            return
        self._handle_group_error(err, "Heartbeat")

    def _handle_group_error(self, err: ErrorCode, where: str) -> None:
        """React to a group error from a heartbeat or commit as the Java client does."""
        if err == ErrorCode.REBALANCE_IN_PROGRESS:
            self.request_rejoin()
        elif err in (ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID):
            # Our generation is gone: whatever we own may already be someone else's.
            if err == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
            self.generation = -1
            self.lose(set(self.partitions.assigned))
            self.request_rejoin()
        elif err == ErrorCode.FENCED_INSTANCE_ID:
            self.last_error = (
                f"{where}: FENCED_INSTANCE_ID (another consumer took our group.instance.id)"
            )
            raise _Stop()
        elif err in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE):
            if self._coordinator().closed:
                raise _Stop()
        else:
            self.last_error = f"{where}: {err.name}"

    async def _rejoin(self) -> None:
        coordinator = self._coordinator()
        self.status = "rebalancing" if self.generation >= 0 else "joining"
        if not self.cooperative and self.partitions.assigned:
            await self._revoke(set(self.partitions.assigned))
        backoff = 0.05
        while not self.stopping:
            self.count(ApiKey.JOIN_GROUP, 0)
            result = await coordinator.join_group(
                self.group_id,
                self.member_id,
                PROTOCOL_TYPE,
                [(a.name, self._subscription(a)) for a in self._assignors],
                session_timeout_ms=self.session_timeout_ms,
                rebalance_timeout_ms=self.rebalance_timeout_ms,
                group_instance_id=self.group_instance_id,
                client_id=self.client_id,
                client_host=CLIENT_HOST,
                require_known_member_id=True,
            )
            err = result.error
            if err == ErrorCode.MEMBER_ID_REQUIRED:
                self.member_id = result.member_id
                continue
            if err != ErrorCode.NONE:
                if err == ErrorCode.UNKNOWN_MEMBER_ID:
                    self.member_id = ""
                    self.lose(set(self.partitions.assigned))
                    await asyncio.sleep(0)  # the coordinator answered without waiting
                    continue
                self._handle_fatal_join_error(err)
                await sleep(self.clock, backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            self.member_id = result.member_id
            self.generation = result.generation_id
            self.leader_id = result.leader
            self.protocol_name = result.protocol_name
            plan: dict[str, bytes] = {}
            if result.is_leader and not result.skip_assignment:
                plan = self._assign(result)
            self.count(ApiKey.SYNC_GROUP, 0)
            synced = await coordinator.sync_group(
                self.group_id, self.generation, self.member_id, plan,
                group_instance_id=self.group_instance_id, protocol_type=PROTOCOL_TYPE,
                protocol_name=self.protocol_name,
            )
            if synced.error == ErrorCode.REBALANCE_IN_PROGRESS:
                continue
            if synced.error != ErrorCode.NONE:
                if synced.error in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION):
                    if synced.error == ErrorCode.UNKNOWN_MEMBER_ID:
                        self.member_id = ""
                    self.generation = -1
                    self.lose(set(self.partitions.assigned))
                    continue
                self._handle_fatal_join_error(synced.error)
                await sleep(self.clock, backoff)
                continue
            self._need_rejoin = False
            await self._install(assignment_partitions(synced.assignment))
            self.rebalances += 1
            self.status = "stable"
            return

    def _handle_fatal_join_error(self, err: ErrorCode) -> None:
        self.last_error = f"JoinGroup/SyncGroup: {err.name}"
        if err == ErrorCode.FENCED_INSTANCE_ID:
            raise _Stop()
        if err in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE):
            if self._coordinator().closed:
                raise _Stop()

    def _subscription(self, assignor: Assignor) -> bytes:
        if not assignor.cooperative:
            return encode_consumer_subscription(0, {"topics": list(self.topics), "user_data": None})
        owned: dict[str, list[int]] = {}
        for topic, p in sorted(self.partitions.assigned):
            owned.setdefault(topic, []).append(p)
        return encode_consumer_subscription(2, {
            "topics": list(self.topics),
            "user_data": assignor.user_data(self.generation),
            "owned_partitions": [{"topic": t, "partitions": ps} for t, ps in owned.items()],
            "generation_id": self.generation,
        })

    def _assign(self, result) -> dict[str, bytes]:
        """Leader: run the chosen assignor over every member's subscription."""
        members: dict[str, MemberSubscription] = {}
        for m in result.members:
            members[m.member_id] = _member_subscription(m.member_id, m.group_instance_id,
                                                        m.metadata)
        topics = sorted({t for s in members.values() for t in s.topics})
        counts = {t: self.broker.topic_partition_count(t) or 0 for t in topics}
        self._assigned_counts = counts
        assignor = get_assignor(result.protocol_name)
        plan = assignor.assign(members, counts)
        version = 1 if assignor.cooperative else 0
        out = {}
        for mid in members:
            by_topic: dict[str, list[int]] = {}
            for topic, p in sorted(plan.get(mid, ())):
                by_topic.setdefault(topic, []).append(p)
            out[mid] = encode_consumer_assignment(version, {
                "assigned_partitions": [{"topic": t, "partitions": ps}
                                        for t, ps in by_topic.items()],
                "user_data": None,
            })
        return out

    def _partition_counts_changed(self) -> bool:
        return any(
            (self.broker.topic_partition_count(t) or 0) != n
            for t, n in self._assigned_counts.items()
        )

    # --- owning partitions ------------------------------------------------------------

    async def _install(self, new: set[TopicPartition]) -> None:
        # A leader that has not seen a topic deletion yet may still hand out its
        # partitions: owning what does not exist would only fail every fetch.
        parts = self.partitions
        new = {tp for tp in new if self.fetcher.exists(tp)}
        revoked = parts.assigned - new
        if revoked:
            await self._revoke(revoked)
        added = new - parts.assigned
        parts.assigned.clear()
        parts.assigned.update(new)
        for tp in sorted(added):
            self.count(ApiKey.OFFSET_FETCH, 0)
            parts.positions[tp] = self.fetcher.start_position(tp, self.committed(tp))
        parts.paused &= parts.assigned
        if added and self.on_assigned is not None:
            self.on_assigned(set(added))
        if self.cooperative and revoked:
            # Second phase of an incremental rebalance: let the group hand them over.
            self._need_rejoin = True

    async def _revoke(self, tps: set[TopicPartition]) -> None:
        if self.enable_auto_commit and self.generation >= 0:
            positions = self.partitions.positions
            offsets = {tp: positions[tp] for tp in tps if tp in positions}
            if offsets:
                with contextlib.suppress(KafkaError):
                    await self.commit(offsets)
        owned = tps & self.partitions.assigned
        if self.on_revoked is not None and owned:
            self.on_revoked(set(owned))
        self.partitions.drop(tps)

    def lose(self, tps: set[TopicPartition]) -> None:
        """Partitions lost without a chance to commit (generation gone, killed, closed)."""
        owned = tps & self.partitions.assigned
        if self.on_revoked is not None and owned:
            self.on_revoked(set(owned))
        self.partitions.drop(tps)

    # --- commits ----------------------------------------------------------------------

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (default: the position of every assigned partition)."""
        if offsets is None:
            positions = self.partitions.positions
            offsets = {tp: positions[tp] for tp in self.partitions.assigned if tp in positions}
            offsets = {tp: o for tp, o in offsets.items() if self._committed.get(tp) != o}
        if not offsets:
            return
        if self.generation < 0:
            raise KafkaError(ErrorCode.ILLEGAL_GENERATION, "not a member of a generation")
        self.count(ApiKey.OFFSET_COMMIT, 0)
        results = await self._coordinator().commit_offsets(
            self.group_id,
            [CommittedOffset(t, p, off, -1, "") for (t, p), off in offsets.items()],
            member_id=self.member_id,
            generation_id=self.generation,
            group_instance_id=self.group_instance_id,
        )
        failed = {tp: err for tp, err in results.items() if err != ErrorCode.NONE}
        for tp, off in offsets.items():
            if tp not in failed:
                self._committed[tp] = off
        if failed:
            err = next(iter(failed.values()))
            with contextlib.suppress(_Stop):
                self._handle_group_error(err, "OffsetCommit")
            raise KafkaError(err, f"commit of {sorted(failed)} failed")

    def committed(self, tp: TopicPartition) -> int | None:
        """The group's committed offset for ``tp``, None if there is none."""
        found = self._coordinator().fetch_offsets(self.group_id, [tp]).get(tp)
        return found.offset if found is not None else None


def _member_subscription(
    member_id: str, instance_id: str | None, blob: bytes
) -> MemberSubscription:
    try:
        body = decode_consumer_subscription(blob) if blob else {}
    except Exception:
        body = {}
    owned = frozenset(topic_partitions(body.get("owned_partitions")))
    generation = -1
    if body.get("version", 0) >= 2:
        generation = body.get("generation_id", -1)
    else:
        user_data = body.get("user_data") or b""
        if len(user_data) == 4:
            generation = struct.unpack(">i", user_data)[0]
    return MemberSubscription(
        member_id, tuple(body.get("topics") or ()), instance_id, owned, generation
    )
