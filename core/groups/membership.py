"""Heartbeat, LeaveGroup and session expiry: who is still a member.

Contract: every sign of life (heartbeat, join, sync, commit) re-arms the member's
session timer on the coordinator's clock; when it fires the member is removed and the
group rebalances, unless the member is parked in JoinGroup/SyncGroup (then the
rebalance timeout governs it) — a new member's first join is given
``NEW_MEMBER_JOIN_TIMEOUT_MS`` instead (KIP-394). Heartbeat answers
REBALANCE_IN_PROGRESS while the group prepares a rebalance, and records the gaps
between a member's heartbeats for the monitor. LeaveGroup removes members by member id,
or static members by instance id alone (admin ``removeMembersFromGroup``).
"""

from __future__ import annotations

from collections.abc import Sequence

from streamscope.core.errors import ErrorCode
from streamscope.core.groups.model import GroupState, LeaveResult
from streamscope.core.groups.state import (
    NEW_MEMBER_JOIN_TIMEOUT_MS,
    CoordinatorState,
    _Group,
    _Member,
)


class MembershipMixin(CoordinatorState):
    """Heartbeat, LeaveGroup and session timers of :class:`~core.groups.GroupCoordinator`."""

    async def heartbeat(
        self, group_id: str, generation_id: int, member_id: str,
        group_instance_id: str | None = None,
    ) -> ErrorCode:
        """Heartbeat: NONE, REBALANCE_IN_PROGRESS (rejoin), or why the member is unknown."""
        error, group, member = self._generation_member(
            group_id, member_id, group_instance_id, generation_id
        )
        if group is None or member is None:
            return error
        if group.state == GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        now = self.clock.time()
        if member.last_heartbeat_request is not None:
            member.heartbeat_gaps.append(now - member.last_heartbeat_request)
        member.last_heartbeat_request = now
        self._arm_session(group, member)
        if group.state == GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    async def leave_group(
        self, group_id: str, members: Sequence[tuple[str, str | None]],
        reason: str | None = None,
    ) -> LeaveResult:
        """LeaveGroup for (member id, group instance id) pairs; member id "" + instance id
        removes a static member by its instance id (admin ``removeMembersFromGroup``)."""
        refused = self._refusal(group_id)
        if refused is not None:
            return LeaveResult(refused)
        group = self._groups.get(group_id)
        if group is None:
            return LeaveResult(
                ErrorCode.NONE,
                tuple((mid, iid, ErrorCode.UNKNOWN_MEMBER_ID) for mid, iid in members),
            )
        if group.state == GroupState.DEAD:
            return LeaveResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        why = reason or "left the group"
        out = []
        for member_id, instance_id in members:
            member_id = member_id or ""
            if instance_id is not None and member_id and group.is_fenced(instance_id, member_id):
                error = ErrorCode.FENCED_INSTANCE_ID
            elif member_id in group.pending:
                group.pending.pop(member_id).cancel()
                self._maybe_complete_join(group)
                error = ErrorCode.NONE
            else:
                if not member_id and instance_id is not None:
                    member_id_found = group.static.get(instance_id, "")
                else:
                    member_id_found = member_id
                member = group.members.get(member_id_found)
                if member is None:
                    error = ErrorCode.UNKNOWN_MEMBER_ID
                else:
                    self._remove_member(group, member, why)
                    error = ErrorCode.NONE
            out.append((member_id, instance_id, error))
        return LeaveResult(ErrorCode.NONE, tuple(out))


    def _arm_session(self, group: _Group, member: _Member) -> None:
        if member.timer is not None:
            member.timer.cancel()
        clock = self.clock
        member.last_heartbeat = clock.time()
        timeout = NEW_MEMBER_JOIN_TIMEOUT_MS if member.is_new else member.session_timeout_ms
        member.timer = clock.call_later(
            timeout / 1000, self._session_expired, group.group_id, member.member_id
        )

    def _session_expired(self, group_id: str, member_id: str) -> None:
        group = self._groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if member is None:
            return
        member.timer = None
        if not member.is_new and (member.awaiting_join or member.awaiting_sync):
            # A member parked in JoinGroup/SyncGroup is alive; the rebalance timeout
            # governs it, not the session timeout.
            self._arm_session(group, member)
            return
        reason = "new member join timeout" if member.is_new else "session timeout expired"
        self._remove_member(group, member, reason)

