"""``Consumer``: an async in-process group consumer speaking the classic protocol.

Contract:

* It talks to the ``Broker`` object directly (no socket) and must run on the broker's
  loop. Group membership goes through the coordinator's Python API (``join_group``,
  ``sync_group``, ``heartbeat``, ``leave_group``, ``commit_offsets``), exactly the calls
  a wire client's requests become, so in-process consumers and real clients share a
  group: subscriptions and assignments are Kafka ConsumerProtocol bytes, and the leader
  (whoever it is) assigns with the protocol the group voted for.
* Assignors: ``range``, ``roundrobin``, ``cooperative-sticky`` (see assignors.py). As in
  the Java client, the rebalance protocol is cooperative only if every configured
  assignor is: then partitions are revoked incrementally (only what moves, followed by a
  second rebalance that hands them over); otherwise eager (everything is revoked before
  rejoining).
* A background task joins, syncs, heartbeats every ``heartbeat_interval_ms``, rejoins
  when told (REBALANCE_IN_PROGRESS) and auto-commits every ``auto_commit_interval_ms``.
  The leader also rejoins when a subscribed topic's partition count changes.
* ``getmany`` fetches whole batches from the broker's logs for assigned, unpaused
  partitions, waits up to ``timeout_ms`` for data, then "processes" for
  ``processing_delay_s`` per record (the lag demo knob; batches shrink so each pause
  stays under ~0.5 s). Positions advance when records are handed out, and only for
  partitions still owned afterwards: a partition revoked meanwhile is left for its new
  owner (at-least-once, no duplicate from this consumer). One ``getmany`` at a time.
* Every ``getmany`` suspends at least once, even when records are ready (a consumer
  that is behind always has some), so a ``while True: await getmany()`` loop never
  starves the broker's loop. A partition whose topic was deleted is dropped and the
  consumer rejoins; ``getmany`` returns ``{}`` at once while the consumer is stopping.
* Commits: auto-commit of positions (also before partitions are revoked and on
  ``close``), or ``commit()`` by hand (raises ``KafkaError`` when the group refuses it).
* ``close()`` leaves the group gracefully (LeaveGroup, unless static); ``kill()`` stops
  dead with no LeaveGroup, so the coordinator evicts it after its session timeout.
* ``state()`` reports what the GUI shows: status, member id, generation, assignment,
  positions, records consumed, paused partitions.
* While started it is registered with the broker as a local client
  (``Broker.register_local_client``), counting its calls by the Kafka API they stand for,
  so the monitor lists it beside socket connections; ``close``/``kill`` remove it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.clients.assignors import Assignor, MemberSubscription, get_assignor
from core.errors import ErrorCode, KafkaError
from core.meta import CommittedOffset
from core.protocol import (
    ApiKey,
    decode_consumer_assignment,
    decode_consumer_subscription,
    encode_consumer_assignment,
    encode_consumer_subscription,
)
from core.records import iter_all_records

if TYPE_CHECKING:
    from core.broker import LocalClient

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
PROTOCOL_TYPE = "consumer"
CLIENT_HOST = "in-process"
# Most a processing-delay pause may last before records are handed out.
MAX_PROCESSING_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class ConsumerRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


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


class _Stop(Exception):
    """The coordinator went away (broker closing): stop the background task."""


class Consumer:
    def __init__(
        self,
        broker: Any,
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
        on_assigned: Callable[[set[TopicPartition]], Any] | None = None,
        on_revoked: Callable[[set[TopicPartition]], Any] | None = None,
    ) -> None:
        if not group_id:
            raise ValueError("a group consumer needs a group id")
        if auto_offset_reset not in ("earliest", "latest", "none"):
            raise ValueError("auto_offset_reset must be earliest, latest or none")
        if not assignors:
            raise ValueError("at least one assignor is needed")
        self.broker = broker
        self.group_id = group_id
        self.topics: tuple[str, ...] = tuple(sorted(set(topics)))
        self.client_id = client_id
        self.group_instance_id = group_instance_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.auto_offset_reset = auto_offset_reset
        self.enable_auto_commit = enable_auto_commit
        self.auto_commit_interval_ms = auto_commit_interval_ms
        self.max_poll_records = max_poll_records
        self.max_partition_fetch_bytes = max_partition_fetch_bytes
        self.processing_delay_s = processing_delay_s
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._assignors: list[Assignor] = [get_assignor(n) for n in assignors]
        self.cooperative = all(a.cooperative for a in self._assignors)

        self.member_id = ""
        self.generation = -1
        self.leader_id = ""
        self.protocol_name: str | None = None
        self.status = "created"
        self.last_error: str | None = None
        self.records_consumed = 0
        self.rebalances = 0
        self._assigned: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._buffers: dict[TopicPartition, deque[ConsumerRecord]] = {}
        self._paused: set[TopicPartition] = set()
        self._committed: dict[TopicPartition, int] = {}
        self._need_rejoin = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._next_commit = 0.0
        self._assigned_counts: dict[str, int] = {}
        self._rotate = 0
        self._local: LocalClient | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> Consumer:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._next_commit = loop.time() + self.auto_commit_interval_ms / 1000
            self.status = "joining"
            self._local = self.broker.register_local_client(self.client_id, "consumer")
            self._task = loop.create_task(self._run(), name=f"consumer-{self.client_id}")
            self._task.add_done_callback(self._task_done)
        return self

    async def __aenter__(self) -> Consumer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _task_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("consumer %s stopped: %r", self.client_id, exc, exc_info=exc)
            self.last_error = repr(exc)
            self.status = "dead"
            self._unregister()

    async def close(self) -> None:
        """Commit (with auto-commit), leave the group, stop. Idempotent."""
        if self.status in ("closed", "dead"):
            return
        await self._stop_task()
        if self.enable_auto_commit and self._assigned:
            with contextlib.suppress(KafkaError):
                await self.commit()
        if self.member_id and self.group_instance_id is None:
            self._count(ApiKey.LEAVE_GROUP)
            await self._coordinator().leave_group(
                self.group_id, [(self.member_id, None)], reason="the consumer is being closed"
            )
        self._lose(set(self._assigned))
        self.status = "closed"
        self._unregister()

    def kill(self) -> None:
        """Die abruptly: no commit, no LeaveGroup, heartbeats just stop."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
        self._assigned.clear()
        self._buffers.clear()
        self.status = "dead"
        self._unregister()

    def _unregister(self) -> None:
        if self._local is not None:
            self.broker.unregister_local_client(self._local)
            self._local = None

    def _count(self, api_key: ApiKey, bytes_out: int = 0) -> None:
        if self._local is not None:
            self._local.count(api_key, bytes_out)

    async def _stop_task(self) -> None:
        self._stopping = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait never raises the task's outcome (its done-callback logs a
            # failure), and a cancel of close() itself still goes through.
            await asyncio.wait({task})

    def _coordinator(self):
        return self.broker.groups

    # --- subscription, pause, state ---------------------------------------------------

    def subscribe(self, topics: Iterable[str]) -> None:
        topics = tuple(sorted(set(topics)))
        if topics != self.topics:
            self.topics = topics
            self._request_rejoin()

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def position(self, tp: TopicPartition) -> int | None:
        return self._positions.get(tp)

    def pause(self, *tps: TopicPartition) -> None:
        """Stop returning records of these partitions (all assigned ones if none given)."""
        self._paused.update(tps or self._assigned)

    def resume(self, *tps: TopicPartition) -> None:
        if tps:
            self._paused.difference_update(tps)
        else:
            self._paused.clear()

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self._assigned:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{tp} is not assigned")
        self._positions[tp] = offset
        self._buffers.pop(tp, None)

    def state(self) -> ConsumerState:
        return ConsumerState(
            client_id=self.client_id,
            group_id=self.group_id,
            member_id=self.member_id,
            generation=self.generation,
            status=self.status,
            is_leader=bool(self.member_id) and self.leader_id == self.member_id,
            assignor=self.protocol_name,
            assignment=tuple(sorted(self._assigned)),
            positions=dict(sorted(self._positions.items())),
            records_consumed=self.records_consumed,
            paused=tuple(sorted(self._paused & self._assigned)),
            processing_delay_s=self.processing_delay_s,
            rebalances=self.rebalances,
            last_error=self.last_error,
        )

    def _request_rejoin(self) -> None:
        self._need_rejoin = True
        self._wake.set()

    # --- the background task: membership, heartbeats, auto-commit ---------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                if self._need_rejoin:
                    await self._rejoin()
                    continue
                await self._heartbeat()
                if self._need_rejoin or self._stopping:
                    continue
                if self.enable_auto_commit and loop.time() >= self._next_commit:
                    self._next_commit = loop.time() + self.auto_commit_interval_ms / 1000
                    with contextlib.suppress(KafkaError):
                        await self.commit()
                if self.leader_id == self.member_id and self._partition_counts_changed():
                    self._request_rejoin()
                    continue
                self._wake.clear()
                # asyncio.timeout, not wait_for: in Python 3.11 wait_for drops a cancel
                # that arrives as the wait completes, and close() relies on cancelling.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.heartbeat_interval_ms / 1000):
                        await self._wake.wait()
        except _Stop:
            self._lose(set(self._assigned))
            self.status = "dead"
            self.last_error = self.last_error or "the group coordinator went away"
            self._unregister()

    async def _heartbeat(self) -> None:
        self._count(ApiKey.HEARTBEAT)
        err = await self._coordinator().heartbeat(
            self.group_id, self.generation, self.member_id, self.group_instance_id
        )
        if err == ErrorCode.NONE:
            return
        self._handle_group_error(err, "Heartbeat")

    def _handle_group_error(self, err: ErrorCode, where: str) -> None:
        """React to a group error from a heartbeat or commit as the Java client does."""
        if err == ErrorCode.REBALANCE_IN_PROGRESS:
            self._request_rejoin()
        elif err in (ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID):
            # Our generation is gone: whatever we own may already be someone else's.
            if err == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
            self.generation = -1
            self._lose(set(self._assigned))
            self._request_rejoin()
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
        if not self.cooperative and self._assigned:
            await self._revoke(set(self._assigned))
        backoff = 0.05
        while not self._stopping:
            self._count(ApiKey.JOIN_GROUP)
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
                    self._lose(set(self._assigned))
                    await asyncio.sleep(0)  # the coordinator answered without waiting
                    continue
                self._handle_fatal_join_error(err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            self.member_id = result.member_id
            self.generation = result.generation_id
            self.leader_id = result.leader
            self.protocol_name = result.protocol_name
            plan: dict[str, bytes] = {}
            if result.is_leader and not result.skip_assignment:
                plan = self._assign(result)
            self._count(ApiKey.SYNC_GROUP)
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
                    self._lose(set(self._assigned))
                    continue
                self._handle_fatal_join_error(synced.error)
                await asyncio.sleep(backoff)
                continue
            self._need_rejoin = False
            await self._install(_decode_assignment(synced.assignment))
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
        for topic, p in sorted(self._assigned):
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

    async def _install(self, new: set[TopicPartition]) -> None:
        # A leader that has not seen a topic deletion yet may still hand out its
        # partitions: owning what does not exist would only fail every fetch.
        new = {tp for tp in new if self._exists(tp)}
        revoked = self._assigned - new
        if revoked:
            await self._revoke(revoked)
        added = new - self._assigned
        self._assigned = set(new)
        for tp in sorted(added):
            self._positions[tp] = self._initial_position(tp)
        self._paused &= self._assigned
        if added and self.on_assigned is not None:
            self.on_assigned(set(added))
        if self.cooperative and revoked:
            # Second phase of an incremental rebalance: let the group hand them over.
            self._need_rejoin = True

    async def _revoke(self, tps: set[TopicPartition]) -> None:
        if self.enable_auto_commit and self.generation >= 0:
            offsets = {tp: self._positions[tp] for tp in tps if tp in self._positions}
            if offsets:
                with contextlib.suppress(KafkaError):
                    await self.commit(offsets)
        if self.on_revoked is not None and tps & self._assigned:
            self.on_revoked(set(tps & self._assigned))
        self._drop(tps)

    def _lose(self, tps: set[TopicPartition]) -> None:
        """Partitions lost without a chance to commit (generation gone, killed, closed)."""
        if self.on_revoked is not None and tps & self._assigned:
            self.on_revoked(set(tps & self._assigned))
        self._drop(tps)

    def _drop(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self._assigned.discard(tp)
            self._positions.pop(tp, None)
            self._buffers.pop(tp, None)
            self._paused.discard(tp)

    def _exists(self, tp: TopicPartition) -> bool:
        count = self.broker.topic_partition_count(tp[0])
        return count is not None and 0 <= tp[1] < count

    def _initial_position(self, tp: TopicPartition) -> int:
        self._count(ApiKey.OFFSET_FETCH)
        committed = self._coordinator().fetch_offsets(self.group_id, [tp]).get(tp)
        if committed is not None and committed.offset >= 0:
            return self._in_range(tp, committed.offset)
        return self._reset_position(tp)

    def _reset_position(self, tp: TopicPartition) -> int:
        try:
            start, end = self.broker.partition_offsets(*tp)
        except KafkaError:
            return 0
        if self.auto_offset_reset == "earliest":
            return start
        if self.auto_offset_reset == "latest":
            return end
        raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"no committed offset for {tp}")

    def _in_range(self, tp: TopicPartition, offset: int) -> int:
        try:
            start, end = self.broker.partition_offsets(*tp)
        except KafkaError:
            return offset
        return offset if start <= offset <= end else self._reset_position(tp)

    # --- commits ----------------------------------------------------------------------

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (default: the position of every assigned partition)."""
        if offsets is None:
            offsets = {tp: self._positions[tp] for tp in self._assigned if tp in self._positions}
            offsets = {tp: o for tp, o in offsets.items() if self._committed.get(tp) != o}
        if not offsets:
            return
        if self.generation < 0:
            raise KafkaError(ErrorCode.ILLEGAL_GENERATION, "not a member of a generation")
        self._count(ApiKey.OFFSET_COMMIT)
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
        found = self._coordinator().fetch_offsets(self.group_id, [tp]).get(tp)
        return found.offset if found is not None else None

    # --- fetching ---------------------------------------------------------------------

    async def getmany(
        self, timeout_ms: float = 1000, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Records of assigned, unpaused partitions (waits up to ``timeout_ms`` for some)."""
        if self.status in ("closed", "dead"):
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"consumer is {self.status}")
        await self.start()
        loop = asyncio.get_running_loop()
        limit = max_records or self.max_poll_records
        delay = self.processing_delay_s
        if delay > 0:
            limit = max(1, min(limit, int(MAX_PROCESSING_PAUSE_S / delay)))
        deadline = loop.time() + timeout_ms / 1000
        waited = False
        while True:
            if self._stopping or self.status in ("closed", "dead"):
                await asyncio.sleep(0)
                return {}
            batch = self._take(limit)
            if batch:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                if not waited:
                    await asyncio.sleep(0)
                return {}
            waits = [(t, p, self._positions[(t, p)]) for (t, p) in self._fetchable()]
            # Both always suspend (wait_for_data even for a deleted partition or a closed
            # broker), so this loop cannot spin. Short waits: an assignment change must
            # be noticed promptly too.
            if waits:
                await self.broker.wait_for_data(waits, min(remaining, 0.1))
            else:
                await asyncio.sleep(min(remaining, 0.05))
            waited = True
        if delay > 0:
            await asyncio.sleep(delay * sum(len(r) for r in batch.values()))
        elif not waited:
            # Records were ready at once (a consumer behind always has some): yield anyway,
            # or a poll loop would keep the broker's loop to itself until it caught up.
            await asyncio.sleep(0)
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        for tp, records in batch.items():
            # Hand out only what is still ours and not moved by a seek or a rebalance.
            if tp in self._assigned and self._positions.get(tp) == records[0].offset:
                self._positions[tp] = records[-1].offset + 1
                self.records_consumed += len(records)
                out[tp] = records
        return out

    async def getone(self, timeout_ms: float = 1000) -> ConsumerRecord | None:
        got = await self.getmany(timeout_ms, max_records=1)
        for records in got.values():
            return records[0]
        return None

    def _fetchable(self) -> list[TopicPartition]:
        return sorted(tp for tp in self._assigned if tp not in self._paused
                      and tp in self._positions)

    def _take(self, limit: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        tps = self._fetchable()
        if not tps:
            return {}
        self._rotate = (self._rotate + 1) % len(tps)
        tps = tps[self._rotate:] + tps[:self._rotate]  # fairness across partitions
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        left = limit
        for tp in tps:
            if left <= 0:
                break
            if tp not in self._positions:
                continue  # dropped by a _fill above (its topic was deleted)
            buf = self._buffers.get(tp)
            if not buf:
                buf = self._fill(tp)
                if not buf:
                    continue
            taken = [buf.popleft() for _ in range(min(left, len(buf)))]
            out[tp] = taken
            left -= len(taken)
        return out

    def _fill(self, tp: TopicPartition) -> deque[ConsumerRecord] | None:
        position = self._positions[tp]
        try:
            result = self.broker.fetch(tp[0], tp[1], position, self.max_partition_fetch_bytes)
        except KafkaError as exc:
            if not self._exists(tp):
                # The topic was deleted: drop all of it and rejoin, so the group's next
                # assignment leaves it out (and nobody waits on it meanwhile).
                self._lose({t for t in self._assigned if not self._exists(t)})
                self._request_rejoin()
            elif exc.code == ErrorCode.OFFSET_OUT_OF_RANGE:
                # Retention or DeleteRecords moved the log start past us: reset, as
                # auto.offset.reset says, instead of waiting on data we can never read.
                self._positions[tp] = self._reset_position(tp)
            return None
        except (ValueError, OSError):
            return None  # its log closed with the broker: nothing to read, ever
        self._count(ApiKey.FETCH, len(result.records))
        if position > result.high_watermark or position < result.log_start_offset:
            self._positions[tp] = self._reset_position(tp)
            return None
        if not result.records:
            return None
        topic, partition = tp
        buf = deque(
            ConsumerRecord(topic, partition, r.offset, r.timestamp, r.key, r.value, r.headers)
            for r in iter_all_records(result.records)
            if r.offset >= position
        )
        self._buffers[tp] = buf
        return buf


def _decode_assignment(blob: bytes) -> set[TopicPartition]:
    if not blob:
        return set()
    body = decode_consumer_assignment(blob)
    return {
        (entry["topic"], p)
        for entry in body.get("assigned_partitions") or ()
        for p in entry.get("partitions") or ()
    }


def _member_subscription(
    member_id: str, instance_id: str | None, blob: bytes
) -> MemberSubscription:
    try:
        body = decode_consumer_subscription(blob) if blob else {}
    except Exception:
        body = {}
    owned = frozenset(
        (entry["topic"], p)
        for entry in body.get("owned_partitions") or ()
        for p in entry.get("partitions") or ()
    )
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
