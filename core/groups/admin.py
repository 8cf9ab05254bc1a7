"""DescribeGroups, ListGroups, DeleteGroups, and the frozen descriptions the monitor reads.

Contract: every view of a group is one frozen :class:`~core.groups.model.GroupDescription`
built by :meth:`AdminMixin._describe` with no I/O: DescribeGroups (the wire module
blanks metadata, assignments and protocol outside Stable, as Kafka's summary does; an
unknown group is described as Dead with no error, v0-5), ListGroups (same objects, the
wire module sends three fields), the GUI's per-group calls and :meth:`snapshot`. Lag is
not part of a description: :meth:`lag` and the monitor both use :mod:`core.groups.lag`.
DeleteGroups deletes only groups with no members, with their committed offsets.
"""

from __future__ import annotations

from collections.abc import Iterable

from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups.lag import partition_lag
from streamscope.core.groups.model import (
    GroupDescription,
    GroupState,
    MemberDescription,
    TopicPartition,
)
from streamscope.core.groups.state import CoordinatorState, _Group


class AdminMixin(CoordinatorState):
    """Admin calls and read-only views of :class:`~core.groups.GroupCoordinator`."""

    # --- admin: describe, list, delete --------------------------------------------------

    def describe(self, group_ids: Iterable[str]) -> list[GroupDescription]:
        """DescribeGroups: one description per id; unknown ones as Dead (no error)."""
        out = []
        for gid in group_ids:
            group = self._groups.get(gid)
            if group is None or group.state == GroupState.DEAD:
                out.append(GroupDescription(gid, GroupState.DEAD, ""))
            else:
                out.append(self._describe(group))
        return out

    def list_groups(self, states: Iterable[str] | None = None) -> list[GroupDescription]:
        """ListGroups; ``states`` (v4+ filter) matches Kafka's state names, any case."""
        wanted = {s.lower() for s in states} if states else None
        out = []
        for _, group in sorted(self._groups.items()):
            if group.state == GroupState.DEAD:
                continue
            if wanted is not None and group.state.value.lower() not in wanted:
                continue
            out.append(self._describe(group))
        return out

    async def delete_groups(self, group_ids: Iterable[str]) -> dict[str, ErrorCode]:
        """DeleteGroups: only groups with no members; their committed offsets go too."""
        results: dict[str, ErrorCode] = {}
        for gid in group_ids:
            if gid is None:
                results[gid] = ErrorCode.INVALID_GROUP_ID
                continue
            group = self._groups.get(gid)
            if group is None or group.state == GroupState.DEAD:
                results[gid] = ErrorCode.GROUP_ID_NOT_FOUND
            elif group.state != GroupState.EMPTY or group.members:
                results[gid] = ErrorCode.NON_EMPTY_GROUP
            else:
                self.store.delete_offsets(gid)
                for handle in group.pending.values():
                    handle.cancel()
                group.state = GroupState.DEAD
                del self._groups[gid]
                results[gid] = ErrorCode.NONE
                self._emit("group_deleted", f"Group {gid} deleted", group=gid)
        return results

    # --- read-only views (monitor, GUI, tests) ------------------------------------------

    def group_ids(self) -> list[str]:
        return sorted(self._groups)

    def state_of(self, group_id: str) -> GroupState | None:
        group = self._groups.get(group_id)
        return group.state if group is not None else None

    def lag(self, group_id: str) -> dict[TopicPartition, int]:
        """Lag of every partition the group has committed (:func:`partition_lag`).

        Partitions with nothing committed have no lag and are left out; so are
        partitions of deleted topics.
        """
        group = self._groups.get(group_id)
        if group is None:
            return {}
        out: dict[TopicPartition, int] = {}
        for tp, committed in sorted(group.offsets.items()):
            try:
                _start, end = self.partitions.partition_offsets(*tp)
            except KafkaError:
                continue  # topic deleted or shrunk: nothing to lag behind
            lag = partition_lag(committed.offset, end)
            if lag is not None:
                out[tp] = lag
        return out

    def snapshot(self) -> tuple[GroupDescription, ...]:
        """Every live group as plain frozen data, sorted by group id (no I/O)."""
        return tuple(self._describe(g) for _, g in sorted(self._groups.items())
                     if g.state != GroupState.DEAD)

    def group_info(self, group_id: str) -> GroupDescription | None:
        group = self._groups.get(group_id)
        return self._describe(group) if group is not None else None

    def _describe(self, g: _Group) -> GroupDescription:
        now = self.clock.time()
        members = tuple(
            MemberDescription(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                session_timeout_ms=m.session_timeout_ms,
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                is_leader=m.member_id == g.leader_id,
                assignment=dict(m.decoded_assignment),
                subscription=m.subscription,
                metadata=m.metadata_for(g.protocol_name),
                raw_assignment=m.assignment,
                since_heartbeat_ms=max(0.0, (now - m.last_heartbeat) * 1000.0),
                # The largest recent gap: one early heartbeat (after a rejoin) must not
                # make the estimate so short that a healthy member looks silent.
                heartbeat_interval_ms=(
                    max(m.heartbeat_gaps) * 1000.0 if m.heartbeat_gaps else None
                ),
                awaiting_rebalance=m.awaiting_join or m.awaiting_sync,
            )
            for m in g.members.values()
        )
        return GroupDescription(
            group_id=g.group_id,
            state=g.state,
            protocol_type=g.protocol_type or "",
            protocol_name=g.protocol_name,
            generation=g.generation,
            leader=g.leader_id,
            members=members,
            offsets=dict(g.offsets),
            rebalances=tuple(g.history),
        )
