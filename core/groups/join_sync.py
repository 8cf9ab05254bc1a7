"""JoinGroup and SyncGroup: the two requests that wait for the rest of their group.

Contract: ``join_group`` and ``sync_group`` answer at once on an error (as Kafka's codes
inside the result), else return once the rebalance gets that far: a JoinGroup is held
until every known member has rejoined and no pending member id is outstanding (or the
rebalance timeout passes); JoinGroup v4+ answers a first join with MEMBER_ID_REQUIRED
and an id that stays "pending" until the member rejoins with it or its session timeout
passes; a static member (``group.instance.id``) rejoining replaces its old member id
and, in Stable with an unchanged protocol choice, gets the current generation without a
rebalance. A follower's SyncGroup waits for the leader's assignment; a SyncGroup in
Stable gets the member's current assignment at once. The waits are shielded: a caller
that gives up leaves the member waiting, as Kafka does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from streamscope.core.errors import ErrorCode
from streamscope.core.groups.model import GroupState, JoinResult, SyncResult
from streamscope.core.groups.state import (
    CoordinatorState,
    _Group,
    _Member,
    _new_future,
    _resolve,
    _why,
)


class JoinSyncMixin(CoordinatorState):
    """JoinGroup and SyncGroup of :class:`~core.groups.GroupCoordinator`."""

    # --- JoinGroup --------------------------------------------------------------------

    async def join_group(
        self,
        group_id: str,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int = -1,
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
        require_known_member_id: bool = True,
        reason: str | None = None,
    ) -> JoinResult:
        """JoinGroup: the answer once the rebalance completes (or at once on an error).

        ``member_id`` "" is a first join; ``require_known_member_id`` (JoinGroup v4+)
        answers it with MEMBER_ID_REQUIRED and the id to rejoin with.
        """
        outcome = self._join(
            group_id, member_id or "", protocol_type or "", list(protocols),
            session_timeout_ms, rebalance_timeout_ms, group_instance_id, client_id or "",
            client_host or "", require_known_member_id, reason,
        )
        if isinstance(outcome, JoinResult):
            return outcome
        # Shielded: a caller that gives up (closed connection, killed consumer) leaves the
        # member awaiting its join, as Kafka does; the answer then goes nowhere.
        return await asyncio.shield(outcome)

    def _join(
        self, group_id, member_id, protocol_type, protocols, session_timeout_ms,
        rebalance_timeout_ms, instance_id, client_id, client_host, require_known, reason,
    ) -> JoinResult | asyncio.Future:
        refused = self._refusal(group_id)
        if refused is not None:
            return JoinResult(refused, member_id)
        config = self.config
        if not config.min_session_timeout_ms <= session_timeout_ms <= config.max_session_timeout_ms:
            return JoinResult(ErrorCode.INVALID_SESSION_TIMEOUT, member_id)
        if rebalance_timeout_ms is None or rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms  # JoinGroup v0 has no rebalance timeout
        protocols = [(str(name), bytes(data or b"")) for name, data in protocols]
        group = self._groups.get(group_id)
        args = (protocol_type, protocols, session_timeout_ms, rebalance_timeout_ms,
                instance_id, client_id, client_host, reason)
        if not member_id:
            if group is not None and group.state == GroupState.DEAD:
                return JoinResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id)
            if not self._supports(group, protocol_type, protocols):
                return JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
            if group is None:
                group = self._groups[group_id] = _Group(group_id)
            new_id = f"{client_id}-{uuid.uuid4()}"
            if instance_id is not None:
                return self._join_static(group, new_id, *args)
            if require_known:
                self._add_pending(group, new_id, session_timeout_ms)
                return JoinResult(ErrorCode.MEMBER_ID_REQUIRED, new_id)
            return self._add_member_and_rebalance(group, new_id, *args)
        if group is None:
            return JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
        if group.state == GroupState.DEAD:
            return JoinResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id)
        if not self._supports(group, protocol_type, protocols):
            return JoinResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        if member_id in group.pending:
            if instance_id is not None:
                return JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
            group.pending.pop(member_id).cancel()
            return self._add_member_and_rebalance(group, member_id, *args)
        if group.is_fenced(instance_id, member_id):
            return JoinResult(ErrorCode.FENCED_INSTANCE_ID, member_id)
        member = group.members.get(member_id)
        if member is None or (instance_id is not None and instance_id not in group.static):
            return JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
        member.client_id, member.client_host = client_id or member.client_id, client_host
        state = group.state
        if state == GroupState.PREPARING_REBALANCE:
            return self._update_member_and_rebalance(
                group, member, protocols, session_timeout_ms, rebalance_timeout_ms,
                _why(reason, f"member {member_id} rejoined"),
            )
        if state == GroupState.COMPLETING_REBALANCE:
            if member.protocols == protocols:
                self._arm_session(group, member)
                return self._join_result(group, member)
            return self._update_member_and_rebalance(
                group, member, protocols, session_timeout_ms, rebalance_timeout_ms,
                _why(reason, f"member {member_id} changed its metadata"),
            )
        if state == GroupState.STABLE:
            if group.leader_id == member_id or member.protocols != protocols:
                why = (f"leader {member_id} rejoined" if group.leader_id == member_id
                       else f"member {member_id} changed its metadata")
                return self._update_member_and_rebalance(
                    group, member, protocols, session_timeout_ms, rebalance_timeout_ms,
                    _why(reason, why),
                )
            self._arm_session(group, member)
            return self._join_result(group, member)
        return JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id)

    def _supports(self, group: _Group | None, protocol_type: str, protocols: list) -> bool:
        if not protocol_type or not protocols:
            return False
        if group is None or not group.members:
            return True
        if group.protocol_type != protocol_type:
            return False
        return bool(set(self._candidates(group)) & {name for name, _ in protocols})

    def _join_result(self, group: _Group, member: _Member, skip: bool = False) -> JoinResult:
        is_leader = group.leader_id == member.member_id
        return JoinResult(
            ErrorCode.NONE,
            member.member_id,
            group.generation,
            group.protocol_type,
            group.protocol_name,
            group.leader_id or "",
            self._member_list(group) if is_leader else (),
            skip_assignment=skip and is_leader,
        )

    def _add_pending(self, group: _Group, member_id: str, session_timeout_ms: int) -> None:
        group.pending[member_id] = self.clock.call_later(
            session_timeout_ms / 1000, self._expire_pending, group.group_id, member_id
        )

    def _expire_pending(self, group_id: str, member_id: str) -> None:
        group = self._groups.get(group_id)
        if group is None or group.pending.pop(member_id, None) is None:
            return
        if group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)
        elif (group.state == GroupState.EMPTY and not group.members and not group.pending
              and not group.offsets and group.generation == 0):
            # Only a never-completed first join made this group: nothing to keep.
            del self._groups[group_id]

    def _add_member_and_rebalance(
        self, group, member_id, protocol_type, protocols, session_timeout_ms,
        rebalance_timeout_ms, instance_id, client_id, client_host, reason,
    ) -> asyncio.Future:
        member = _Member(
            member_id, instance_id, client_id, client_host, session_timeout_ms,
            rebalance_timeout_ms, protocol_type, protocols,
        )
        member.join_future = _new_future()
        if not group.members:
            group.protocol_type = protocol_type
        if group.leader_id is None or group.leader_id not in group.members:
            group.leader_id = member_id
        group.members[member_id] = member
        if instance_id is not None:
            group.static[instance_id] = member_id
        if group.initial_delay:
            group.new_member_added = True
        self._arm_session(group, member)
        self._emit(
            "member_joined", f"{member_id} joined group {group.group_id}",
            group=group.group_id, member_id=member_id, client_id=client_id,
        )
        self._maybe_prepare_rebalance(group, _why(reason, f"member {member_id} joined"))
        self._maybe_complete_join(group)
        return member.join_future

    def _update_member_and_rebalance(
        self, group: _Group, member: _Member, protocols, session_timeout_ms,
        rebalance_timeout_ms, reason: str,
    ) -> asyncio.Future:
        member.protocols = protocols
        member.session_timeout_ms = session_timeout_ms
        member.rebalance_timeout_ms = rebalance_timeout_ms
        if not member.awaiting_join:
            member.join_future = _new_future()
        fut = member.join_future
        self._arm_session(group, member)
        self._maybe_prepare_rebalance(group, reason)
        self._maybe_complete_join(group)
        return fut

    def _join_static(
        self, group, new_id, protocol_type, protocols, session_timeout_ms,
        rebalance_timeout_ms, instance_id, client_id, client_host, reason,
    ) -> JoinResult | asyncio.Future:
        old_id = group.static.get(instance_id)
        if old_id is None or old_id not in group.members:
            return self._add_member_and_rebalance(
                group, new_id, protocol_type, protocols, session_timeout_ms,
                rebalance_timeout_ms, instance_id, client_id, client_host, reason,
            )
        old = group.members[old_id]
        # The old incarnation is fenced: whatever it was waiting for ends now.
        _resolve(old.join_future, JoinResult(ErrorCode.FENCED_INSTANCE_ID, old_id))
        _resolve(old.sync_future, SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        if old.timer is not None:
            old.timer.cancel()
        member = replace(
            old, member_id=new_id, client_id=client_id, client_host=client_host,
            protocols=protocols, session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms, join_future=None, sync_future=None,
            timer=None,
        )
        group.members = {
            (new_id if mid == old_id else mid): (member if mid == old_id else m)
            for mid, m in group.members.items()
        }
        group.static[instance_id] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        if old_id in group.pending_sync:
            group.pending_sync.discard(old_id)
            group.pending_sync.add(new_id)
        if old_id in group.last_assignment:
            group.last_assignment[new_id] = group.last_assignment.pop(old_id)
            group.last_members = frozenset(
                new_id if mid == old_id else mid for mid in group.last_members
            )
        self._arm_session(group, member)
        self._emit(
            "member_joined",
            f"static member {instance_id} rejoined group {group.group_id} as {new_id}",
            group=group.group_id, member_id=new_id, replaced=old_id,
        )
        state = group.state
        if state == GroupState.STABLE:
            if self._select_protocol(group) == group.protocol_name:
                return self._join_result(group, member, skip=True)
            member.join_future = _new_future()
            self._maybe_prepare_rebalance(
                group, f"static member {instance_id} rejoined with other protocols"
            )
            return member.join_future
        member.join_future = _new_future()
        if state == GroupState.COMPLETING_REBALANCE:
            self._maybe_prepare_rebalance(
                group, f"static member {instance_id} rejoined during a rebalance"
            )
        self._maybe_complete_join(group)
        return member.join_future


    # --- SyncGroup ----------------------------------------------------------------------

    async def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes] | Iterable[tuple[str, bytes]] = (),
        *,
        group_instance_id: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> SyncResult:
        """SyncGroup: the member's assignment (the leader's call carries everyone's)."""
        outcome = self._sync(
            group_id, generation_id, member_id, assignments, group_instance_id,
            protocol_type, protocol_name,
        )
        if isinstance(outcome, SyncResult):
            return outcome
        return await asyncio.shield(outcome)

    def _sync(
        self, group_id, generation_id, member_id, assignments, instance_id, protocol_type,
        protocol_name,
    ) -> SyncResult | asyncio.Future:
        error, group, member = self._generation_member(
            group_id, member_id, instance_id, generation_id
        )
        if group is None or member is None:
            return SyncResult(error)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return SyncResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        state = group.state
        if state == GroupState.PREPARING_REBALANCE:
            return SyncResult(ErrorCode.REBALANCE_IN_PROGRESS)
        if state == GroupState.COMPLETING_REBALANCE:
            group.pending_sync.discard(member_id)
            self._arm_session(group, member)
            if not member.awaiting_sync:
                member.sync_future = _new_future()
            fut = member.sync_future
            if member_id == group.leader_id:
                given = dict(assignments.items() if isinstance(assignments, Mapping)
                             else assignments)
                self._install_assignment(group, given)
            return fut
        if state == GroupState.STABLE:
            group.pending_sync.discard(member_id)
            self._arm_session(group, member)
            return SyncResult(
                ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol_name
            )
        return SyncResult(ErrorCode.UNKNOWN_MEMBER_ID)

