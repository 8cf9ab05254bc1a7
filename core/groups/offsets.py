"""OffsetCommit, OffsetFetch, OffsetDelete, and the admin reset of a group's offsets.

Contract: OffsetCommit is checked against member and generation; generation -1 with no
member id is accepted only while the group has no members (admin tools, manual
assignment), creating a "simple" group with no protocol type. A commit first makes the
committed partitions' data durable up to the committed offsets
(``PartitionView.make_durable``: free when a flush already covered them), then is
written to the :class:`~core.groups.ports.OffsetStore` (its writer thread, off the
loop) and the answer waits for that write, so a durable offset never points past
durable data, and it survives a restart. Commits of one group are applied one at a time
in arrival order (a per-group lock): after the data wait the checks run again, and in
that same step (no await) the in-memory offsets (what OffsetFetch reads) change and the
store write is queued. A rebalance does not complete while a commit of its group is in
flight (the last one to finish completes it), so a commit lands in the generation it
was checked in and its member acts on the answer before partitions move, as when
commits were stored in one step on the loop. A failed store write is answered with the
error and undone in memory unless a later commit replaced it. OffsetDelete
refuses topics a live "consumer" group subscribes to; a reset (``kafka-consumer-groups
--reset-offsets``) needs a group with no members and clamps into [log start, high
watermark]. Commit timestamps come from the clock's wall time. Each offset written (a
commit or a reset) is told to the activity feed (:class:`CommitSink`), if one is attached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import replace
from typing import Protocol

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups import member_data
from streamscope.core.groups.model import GroupState, OffsetSpec, TopicPartition
from streamscope.core.groups.state import CoordinatorState, _Group
from streamscope.core.meta import CommittedOffset

log = logging.getLogger(__name__)

# Kafka's offset.metadata.max.bytes.
MAX_OFFSET_METADATA = 4096


class CommitSink(Protocol):
    """Hears of every committed offset written (``core.monitor.feed.ActivityFeed``)."""

    def committed(self, group_id: str, topic: str, partition: int, offset: int) -> None: ...


class OffsetsMixin(CoordinatorState):
    """Committed offsets of :class:`~core.groups.GroupCoordinator`."""

    # The activity feed, attached by the composition root (core/node.py); None: none.
    activity: CommitSink | None = None
    # Per group with a commit in flight: its lock and how many commits hold or await it
    # (commits of one group are stored one after another, in the order they arrived).
    _commit_locks: dict[str, list] | None = None

    def attach_activity(self, sink: CommitSink) -> None:
        self.activity = sink

    def _tell_activity(self, group_id: str, offsets: Iterable[CommittedOffset]) -> None:
        if self.activity is not None:
            for o in offsets:
                self.activity.committed(group_id, o.topic, o.partition, o.offset)

    # --- offsets ------------------------------------------------------------------------

    async def commit_offsets(
        self,
        group_id: str,
        offsets: Iterable[CommittedOffset],
        *,
        member_id: str = "",
        generation_id: int = -1,
        group_instance_id: str | None = None,
    ) -> dict[TopicPartition, ErrorCode]:
        """OffsetCommit: one error code per partition; accepted ones are durable on return.

        Checked, then (in arrival order per group) the data below the offsets is made
        durable, the checks run again (a rebalance may have moved on meanwhile: the
        commit then counts as arriving after it), and in that same step the offsets
        change in memory and their store write is queued; the answer waits for it.
        """
        offsets = list(offsets)
        member_id = member_id or ""
        error, _create = self._commit_check(group_id, member_id, generation_id,
                                            group_instance_id)
        now = int(self.clock.wall() * 1000)
        results: dict[TopicPartition, ErrorCode] = {}
        accepted: list[CommittedOffset] = []
        for o in offsets:
            tp = (o.topic, o.partition)
            if error != ErrorCode.NONE:
                results[tp] = error
            elif not self._partition_exists(o.topic, o.partition):
                results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif o.metadata is not None and len(o.metadata) > MAX_OFFSET_METADATA:
                results[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                results[tp] = ErrorCode.NONE
                # Kafka stores a null metadata string as "" (OffsetAndMetadata.NoMetadata).
                accepted.append(replace(
                    o,
                    metadata=o.metadata if o.metadata is not None else "",
                    commit_timestamp=o.commit_timestamp if o.commit_timestamp > 0 else now,
                ))
        if not accepted:
            return results
        if self._commit_locks is None:
            self._commit_locks = {}
        entry = self._commit_locks.get(group_id)
        if entry is None:
            entry = self._commit_locks[group_id] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                written = await self._apply_commit(
                    group_id, member_id, generation_id, group_instance_id, accepted, results)
            if written is None:
                return results
            group, previous, fut = written
            try:
                await asyncio.wrap_future(fut)
            except Exception:
                log.exception("storing offsets of group %s failed", group_id)
                for o in accepted:
                    tp = (o.topic, o.partition)
                    results[tp] = ErrorCode.UNKNOWN_SERVER_ERROR
                    if group.offsets.get(tp) is o:  # undo, unless a later commit replaced it
                        old = previous[tp]
                        if old is None:
                            del group.offsets[tp]
                        else:
                            group.offsets[tp] = old
            return results
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._commit_locks[group_id]
                held = self._groups.get(group_id)
                if held is not None and held.state == GroupState.PREPARING_REBALANCE:
                    self._maybe_complete_join(held)  # held back while commits were in flight

    def _maybe_complete_join(self, group: _Group) -> None:
        # A rebalance does not complete while a commit of the group is being made durable:
        # as when commits were stored in one step, a commit lands in the generation it was
        # checked in, and its member acts on the answer before the partitions move. The
        # last commit to finish completes it (or the rebalance timeout does).
        if self._commit_locks and group.group_id in self._commit_locks:
            return
        super()._maybe_complete_join(group)

    async def _apply_commit(
        self, group_id: str, member_id: str, generation_id: int,
        group_instance_id: str | None, accepted: list[CommittedOffset],
        results: dict[TopicPartition, ErrorCode],
    ) -> tuple[_Group, dict[TopicPartition, CommittedOffset | None], Future[None]] | None:
        """Durable data, checks again, memory and the queued store write (no await after
        the checks); None (``results`` say why) when the commit is refused."""
        try:
            await self.partitions.make_durable(
                (o.topic, o.partition, o.offset) for o in accepted)
        except KafkaError as exc:
            log.warning("offsets of group %s not stored: %s", group_id, exc.message)
            for o in accepted:
                results[(o.topic, o.partition)] = exc.code
            return None
        error, create = self._commit_check(group_id, member_id, generation_id,
                                           group_instance_id)
        if error != ErrorCode.NONE:
            for o in accepted:
                results[(o.topic, o.partition)] = error
            return None
        kept = []
        for o in accepted:
            if self._partition_exists(o.topic, o.partition):
                kept.append(o)
            else:  # deleted meanwhile
                results[(o.topic, o.partition)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if not kept:
            return None
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups.setdefault(group_id, _Group(group_id))
        previous = {(o.topic, o.partition): group.offsets.get((o.topic, o.partition))
                    for o in kept}
        fut = self.store.commit_offsets(group_id, kept)  # queued now: stored in this order
        for o in kept:
            group.offsets[(o.topic, o.partition)] = o
        self._tell_activity(group_id, kept)
        return group, previous, fut

    def _commit_check(
        self, group_id: str, member_id: str, generation_id: int, instance_id: str | None,
    ) -> tuple[ErrorCode, bool]:
        """(error, whether a new "simple" group would be created) for a commit now."""
        group = self._groups.get(group_id)
        if self._closed:
            return ErrorCode.NOT_COORDINATOR, False
        if group is None:
            if generation_id < 0 and not member_id and instance_id is None:
                return ErrorCode.NONE, True  # a group that only uses Kafka to store offsets
            return ErrorCode.ILLEGAL_GENERATION, False
        return self._validate_commit(group, member_id, generation_id, instance_id), False

    def _validate_commit(
        self, group: _Group, member_id: str, generation_id: int, instance_id: str | None
    ) -> ErrorCode:
        if group.state == GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id >= 0 or member_id or instance_id is not None:
            error, member = group.current_member(instance_id, member_id, generation_id)
            if member is None:
                return error
            if group.state == GroupState.COMPLETING_REBALANCE:
                # The member has its new generation from JoinGroup but no assignment yet.
                return ErrorCode.REBALANCE_IN_PROGRESS
            self._arm_session(group, member)
            return ErrorCode.NONE
        if group.members:
            # Generation -1 comes from admin tools or manual assignment: only for a
            # group nobody is consuming in.
            return ErrorCode.UNKNOWN_MEMBER_ID
        return ErrorCode.NONE

    def txn_commit_check(
        self, group_id: str, member_id: str, generation_id: int, instance_id: str | None,
    ) -> ErrorCode:
        """TxnOffsetCommit's group check: NONE, or Kafka's error for a stale member."""
        if self._closed:
            return ErrorCode.NOT_COORDINATOR
        if generation_id < 0 and not member_id and instance_id is None:
            return ErrorCode.NONE
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.ILLEGAL_GENERATION
        return self._validate_commit(group, member_id, generation_id, instance_id)

    async def store_txn_offsets(self, group_id: str, offsets: Iterable[CommittedOffset]) -> None:
        """Offsets of a committed transaction: visible at once, returns once stored
        (partitions deleted meanwhile are skipped)."""
        kept = [o for o in offsets if self._partition_exists(o.topic, o.partition)]
        if not kept:
            return
        fut = self.store.commit_offsets(group_id, kept)
        group = self._groups.setdefault(group_id, _Group(group_id))
        for o in kept:
            group.offsets[(o.topic, o.partition)] = o
        self._tell_activity(group_id, kept)
        await asyncio.wrap_future(fut)

    def _partition_exists(self, topic: str, partition: int) -> bool:
        count = self.partitions.topic_partition_count(topic)
        return count is not None and 0 <= partition < count

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, CommittedOffset | None]:
        """OffsetFetch: committed offsets (None where nothing is committed).

        ``partitions`` None means every partition the group has committed.
        """
        group = self._groups.get(group_id)
        offsets = group.offsets if group is not None else {}
        if partitions is None:
            return dict(sorted(offsets.items()))
        return {tp: offsets.get(tp) for tp in partitions}

    async def delete_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition]
    ) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        """OffsetDelete: (group error, per-partition errors), Kafka's rules."""
        partitions = list(partitions)
        group = self._groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND, {}
        subscribed: set[str] = set()
        if group.members:
            if group.protocol_type != member_data.CONSUMER:
                return ErrorCode.NON_EMPTY_GROUP, {}
            for m in group.members.values():
                subscribed.update(
                    m.subscription
                    or member_data.subscribed_topics(m.metadata_for(group.protocol_name))
                )
        results: dict[TopicPartition, ErrorCode] = {}
        doomed = []
        for tp in partitions:
            if not self._partition_exists(*tp):
                results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif tp[0] in subscribed:
                results[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                results[tp] = ErrorCode.NONE
                doomed.append(tp)
        if doomed:
            self.store.delete_offsets(group_id, doomed)  # queued, in order
            for tp in doomed:
                group.offsets.pop(tp, None)
        return ErrorCode.NONE, results

    async def reset_offsets(
        self,
        group_id: str,
        topic: str,
        spec: OffsetSpec,
        partitions: Iterable[int] | None = None,
    ) -> dict[TopicPartition, int]:
        """Admin reset of a group's offsets on ``topic`` (all partitions unless given).

        Allowed only while the group has no members (NON_EMPTY_GROUP otherwise), as
        ``kafka-consumer-groups --reset-offsets`` requires. Returns the new offsets.
        """
        if not group_id:
            raise KafkaError(ErrorCode.INVALID_GROUP_ID, "The group id must not be empty")
        if spec.kind not in OffsetSpec.KINDS:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"unknown reset kind {spec.kind!r}")
        group = self._groups.get(group_id)
        if group is not None and (group.members or group.state != GroupState.EMPTY):
            raise KafkaError(
                ErrorCode.NON_EMPTY_GROUP,
                f"Group {group_id} has active members ({group.state.value}); stop them first",
            )
        count = self.partitions.topic_partition_count(topic)
        if count is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unknown topic {topic!r}")
        wanted = list(range(count)) if partitions is None else list(partitions)
        targets: dict[TopicPartition, int] = {}
        for p in wanted:
            if not 0 <= p < count:
                raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No partition {topic}-{p}")
            start, end = self.partitions.partition_offsets(topic, p)
            if spec.kind == "earliest":
                target = start
            elif spec.kind == "latest":
                target = end
            elif spec.kind == "timestamp":
                found, _ts = self.partitions.list_offsets(topic, p, spec.value)
                target = end if found < 0 else found
            elif spec.kind == "offset":
                target = spec.value
            else:
                current = group.offsets.get((topic, p)) if group is not None else None
                base = current.offset if current is not None and current.offset >= 0 else start
                target = base + spec.value
            targets[(topic, p)] = min(max(target, start), end)
        now = int(self.clock.wall() * 1000)
        records = [CommittedOffset(t, p, off, -1, "", now) for (t, p), off in targets.items()]
        await asyncio.wrap_future(self.store.commit_offsets(group_id, records))
        group = self._groups.setdefault(group_id, _Group(group_id))
        for rec in records:
            group.offsets[(rec.topic, rec.partition)] = rec
        self._tell_activity(group_id, records)
        self._emit(
            "offsets_reset",
            f"Group {group_id} offsets on {topic} reset ({spec.kind}"
            f"{'' if spec.kind in ('earliest', 'latest') else f' {spec.value}'})",
            group=group_id, topic=topic, spec=spec.kind,
            offsets={p: off for (_, p), off in targets.items()},
        )
        return targets

    def on_topic_deleted(self, topic: str) -> None:
        """Forget committed offsets on a deleted topic (the store drops its rows itself)."""
        for group in self._groups.values():
            for tp in [tp for tp in group.offsets if tp[0] == topic]:
                del group.offsets[tp]

