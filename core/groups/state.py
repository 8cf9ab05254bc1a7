"""The group state machine and its data: what every request module of the coordinator shares.

Contract:

* ``_Group`` and ``_Member`` are the coordinator's private, mutable state; only the
  coordinator's modules touch them, always on the broker's loop, with no ``await``
  between reading and changing them. Everything handed out is frozen (``model.py``).
* :class:`CoordinatorState` holds the groups, the typed seams (:mod:`.ports`) and the
  clock (:mod:`.clock`), and the transitions of Kafka's classic state machine: Empty ->
  PreparingRebalance (``_prepare_rebalance``, with the initial delay of a new group) ->
  CompletingRebalance (``_complete_join``: members that did not rejoin are removed, the
  protocol is chosen by vote, generation + 1) -> Stable (``_install_assignment``), and
  back to PreparingRebalance when a member leaves, is evicted or misses SyncGroup
  (``_sync_expired``). Every timer is armed on the injected clock.
* The request modules (join_sync, membership, offsets, admin) are mixins over this class;
  ``GroupCoordinator`` (coordinator.py) combines them. ``_arm_session`` is the
  membership module's (session expiry); it is declared here because the state machine
  re-arms sessions when a join completes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from dataclasses import dataclass, field

from streamscope.core.errors import ErrorCode
from streamscope.core.groups import member_data
from streamscope.core.groups.clock import Clock, LoopClock, Timer
from streamscope.core.groups.model import (
    GroupState,
    JoinMember,
    JoinResult,
    MemberMove,
    RebalanceRecord,
    SyncResult,
    TopicPartition,
)
from streamscope.core.groups.ports import GroupConfig, OffsetStore, PartitionView
from streamscope.core.meta import CommittedOffset

log = logging.getLogger(__name__)

# KIP-394: a new member's first join may wait this long before it is given up on.
NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000
REBALANCE_HISTORY = 50
# Gaps between Heartbeat requests kept per member, to estimate its heartbeat interval.
HEARTBEAT_GAPS = 4


@dataclass(slots=True, eq=False)
class _Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    decoded_assignment: dict[str, tuple[int, ...]] = field(default_factory=dict)
    subscription: tuple[str, ...] = ()
    join_future: asyncio.Future | None = None
    sync_future: asyncio.Future | None = None
    is_new: bool = True
    timer: Timer | None = None
    # Loop time of the last sign of life that re-armed the session timer (heartbeat,
    # join, sync or commit): the session timeout runs from here.
    last_heartbeat: float = 0.0
    # Loop time of the last Heartbeat request, and the recent gaps between them: the
    # interval this client heartbeats at, as the broker sees it (clients do not say).
    last_heartbeat_request: float | None = None
    heartbeat_gaps: deque[float] = field(default_factory=lambda: deque(maxlen=HEARTBEAT_GAPS))

    @property
    def awaiting_join(self) -> bool:
        return self.join_future is not None and not self.join_future.done()

    @property
    def awaiting_sync(self) -> bool:
        return self.sync_future is not None and not self.sync_future.done()

    def metadata_for(self, protocol: str | None) -> bytes:
        for name, data in self.protocols:
            if name == protocol:
                return data
        return b""

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]


@dataclass(slots=True, eq=False)
class _Rebalance:
    started_at: float  # wall clock
    started_mono: float
    reason: str


@dataclass(slots=True, eq=False)
class _Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, _Member] = field(default_factory=dict)
    # Member ids handed out with MEMBER_ID_REQUIRED, not yet joined: id -> expiry timer.
    pending: dict[str, Timer] = field(default_factory=dict)
    static: dict[str, str] = field(default_factory=dict)  # group instance id -> member id
    offsets: dict[TopicPartition, CommittedOffset] = field(default_factory=dict)
    join_timer: Timer | None = None
    initial_delay: bool = False
    new_member_added: bool = False
    initial_remaining_ms: int = 0
    sync_timer: Timer | None = None
    pending_sync: set[str] = field(default_factory=set)
    rebalance: _Rebalance | None = None
    history: deque[RebalanceRecord] = field(
        default_factory=lambda: deque(maxlen=REBALANCE_HISTORY)
    )
    # Who owned what after the last completed rebalance (for "partitions moved").
    last_members: frozenset[str] = frozenset()
    last_assignment: dict[str, frozenset[TopicPartition]] = field(default_factory=dict)

    @property
    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def is_fenced(self, group_instance_id: str | None, member_id: str) -> bool:
        if group_instance_id is None:
            return False
        current = self.static.get(group_instance_id)
        return current is not None and current != member_id

    def current_member(
        self, group_instance_id: str | None, member_id: str, generation_id: int
    ) -> tuple[ErrorCode, _Member | None]:
        """The member a Heartbeat, SyncGroup or OffsetCommit names, checked in Kafka's
        order: a stale static incarnation is FENCED_INSTANCE_ID, an unknown member
        UNKNOWN_MEMBER_ID, another generation ILLEGAL_GENERATION (member None); else
        (NONE, the member)."""
        if self.is_fenced(group_instance_id, member_id):
            return ErrorCode.FENCED_INSTANCE_ID, None
        member = self.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, None
        if generation_id != self.generation:
            return ErrorCode.ILLEGAL_GENERATION, None
        return ErrorCode.NONE, member


class CoordinatorState:
    """Groups, seams, clock, and the state machine's transitions (see the module doc)."""

    def __init__(
        self,
        partitions: PartitionView,
        store: OffsetStore,
        config: GroupConfig | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.partitions = partitions
        self.store = store
        self.config = config if config is not None else GroupConfig()
        self._clock = clock
        self._groups: dict[str, _Group] = {}
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Load every committed offset; groups that have offsets come back as Empty."""
        if self._clock is None:
            self._clock = LoopClock(asyncio.get_running_loop())
        for group_id, offsets in self.store.load_all_offsets().items():
            group = self._groups.setdefault(group_id, _Group(group_id))
            group.offsets.update(offsets)

    async def close(self) -> None:
        """Cancel every timer and answer every waiting join/sync with NOT_COORDINATOR."""
        self._closed = True
        for group in self._groups.values():
            for handle in (group.join_timer, group.sync_timer, *group.pending.values()):
                if handle is not None:
                    handle.cancel()
            group.join_timer = group.sync_timer = None
            group.pending.clear()
            for m in group.members.values():
                if m.timer is not None:
                    m.timer.cancel()
                    m.timer = None
                _resolve(m.join_future, JoinResult(ErrorCode.NOT_COORDINATOR, m.member_id))
                _resolve(m.sync_future, SyncResult(ErrorCode.NOT_COORDINATOR))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran: every group call answers NOT_COORDINATOR."""
        return self._closed

    @property
    def clock(self) -> Clock:
        """The injected clock, else the running loop's (fixed at :meth:`start`)."""
        if self._clock is None:
            self._clock = LoopClock(asyncio.get_running_loop())
        return self._clock

    def _arm_session(self, group: _Group, member: _Member) -> None:
        raise NotImplementedError  # membership.MembershipMixin

    # --- what every group call checks first ---------------------------------------------

    def _refusal(self, group_id: str) -> ErrorCode | None:
        """INVALID_GROUP_ID for an empty group id, NOT_COORDINATOR once closing: what
        JoinGroup, SyncGroup, Heartbeat and LeaveGroup answer before looking for the group;
        None when neither applies."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if self._closed:
            return ErrorCode.NOT_COORDINATOR
        return None

    def _generation_member(
        self, group_id: str, member_id: str, instance_id: str | None, generation_id: int
    ) -> tuple[ErrorCode, _Group | None, _Member | None]:
        """The group and member a SyncGroup or Heartbeat names, with Kafka's refusals in
        its order: :meth:`_refusal`, no such group UNKNOWN_MEMBER_ID, a dead one
        COORDINATOR_NOT_AVAILABLE, then :meth:`_Group.current_member`'s. The member is
        None exactly when the error is the answer."""
        error = self._refusal(group_id)
        if error is not None:
            return error, None, None
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, None, None
        if group.state == GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, None, None
        error, member = group.current_member(instance_id, member_id, generation_id)
        return error, group, member

    # --- protocol choice ----------------------------------------------------------------

    @staticmethod
    def _candidates(group: _Group) -> list[str]:
        """Protocols every member supports, in the first member's order of preference."""
        members = list(group.members.values())
        if not members:
            return []
        common = set(members[0].protocol_names())
        for m in members[1:]:
            common &= set(m.protocol_names())
        return [name for name in members[0].protocol_names() if name in common]

    def _select_protocol(self, group: _Group) -> str | None:
        """Kafka's vote: each member votes for its most preferred common protocol."""
        candidates = self._candidates(group)
        if not candidates:
            return None
        votes: Counter[str] = Counter()
        for m in group.members.values():
            for name in m.protocol_names():
                if name in candidates:
                    votes[name] += 1
                    break
        best = max(votes.values())
        # Ties go to the earliest candidate in the first member's order (deterministic).
        return next(name for name in candidates if votes.get(name, 0) == best)

    @staticmethod
    def _member_list(group: _Group) -> tuple[JoinMember, ...]:
        return tuple(
            JoinMember(m.member_id, m.group_instance_id, m.metadata_for(group.protocol_name))
            for m in group.members.values()
        )

    # --- rebalance mechanics ------------------------------------------------------------

    def _maybe_prepare_rebalance(self, group: _Group, reason: str) -> None:
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY):
            self._prepare_rebalance(group, reason)

    def _prepare_rebalance(self, group: _Group, reason: str) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            # Assignments of the aborted generation are void: waiting syncs learn so now.
            for m in group.members.values():
                m.assignment = b""
                m.decoded_assignment = {}
                _resolve(m.sync_future, SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        if group.sync_timer is not None:
            group.sync_timer.cancel()
            group.sync_timer = None
        group.pending_sync.clear()
        was_empty = group.state == GroupState.EMPTY
        group.state = GroupState.PREPARING_REBALANCE
        if group.rebalance is None:
            group.rebalance = _Rebalance(self.clock.wall(), self.clock.time(), reason)
            self._emit(
                "rebalance_started", f"Group {group.group_id} rebalancing: {reason}",
                group=group.group_id, reason=reason, generation=group.generation,
            )
        if group.join_timer is not None:
            group.join_timer.cancel()
        if was_empty:
            delay = self.config.initial_rebalance_delay_ms
            group.initial_delay = True
            group.new_member_added = False
            group.initial_remaining_ms = max(group.rebalance_timeout_ms - delay, 0)
            group.join_timer = self.clock.call_later(
                delay / 1000, self._initial_delay_expired, group
            )
        else:
            group.join_timer = self.clock.call_later(
                group.rebalance_timeout_ms / 1000, self._complete_join, group
            )
            self._maybe_complete_join(group)

    def _initial_delay_expired(self, group: _Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE or not group.initial_delay:
            return
        if group.new_member_added and group.initial_remaining_ms > 0:
            group.new_member_added = False
            delay = min(self.config.initial_rebalance_delay_ms, group.initial_remaining_ms)
            group.initial_remaining_ms -= delay
            group.join_timer = self.clock.call_later(
                delay / 1000, self._initial_delay_expired, group
            )
            return
        group.initial_delay = False
        self._complete_join(group)

    def _maybe_complete_join(self, group: _Group) -> None:
        if (
            group.state == GroupState.PREPARING_REBALANCE
            and not group.initial_delay
            and not group.pending
            and all(m.awaiting_join for m in group.members.values())
        ):
            self._complete_join(group)

    def _complete_join(self, group: _Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE:
            return
        if group.join_timer is not None:
            group.join_timer.cancel()
            group.join_timer = None
        group.initial_delay = False
        for m in list(group.members.values()):
            if not m.awaiting_join and m.group_instance_id is None:
                self._remove_member(
                    group, m, "did not rejoin within the rebalance timeout", update=False
                )
        if group.members and not self._elect_joined_leader(group):
            # Only static members that have not rejoined are left: wait for them (or for
            # their session timeouts) another rebalance timeout.
            group.join_timer = self.clock.call_later(
                group.rebalance_timeout_ms / 1000, self._complete_join, group
            )
            return
        group.generation += 1
        if not group.members:
            group.protocol_name = None
            group.leader_id = None
            group.state = GroupState.EMPTY
            self._finish_rebalance(group)
            return
        group.protocol_name = self._select_protocol(group)
        group.state = GroupState.COMPLETING_REBALANCE
        group.pending_sync = set(group.members)
        if group.protocol_type == member_data.CONSUMER:
            for m in group.members.values():
                m.subscription = member_data.subscribed_topics(
                    m.metadata_for(group.protocol_name)
                )
        members = self._member_list(group)
        for m in group.members.values():
            if m.awaiting_join:
                _resolve(m.join_future, JoinResult(
                    ErrorCode.NONE, m.member_id, group.generation, group.protocol_type,
                    group.protocol_name, group.leader_id or "",
                    members if m.member_id == group.leader_id else (),
                ))
            m.is_new = False
            self._arm_session(group, m)
        group.sync_timer = self.clock.call_later(
            group.rebalance_timeout_ms / 1000, self._sync_expired, group, group.generation
        )

    def _elect_joined_leader(self, group: _Group) -> bool:
        leader = group.members.get(group.leader_id or "")
        if leader is not None and leader.awaiting_join:
            return True
        for m in group.members.values():
            if m.awaiting_join:
                group.leader_id = m.member_id
                return True
        return False

    def _sync_expired(self, group: _Group, generation: int) -> None:
        group.sync_timer = None
        if (
            group.generation != generation
            or group.state not in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE)
            or not group.pending_sync
        ):
            return
        late = [group.members[mid] for mid in list(group.pending_sync) if mid in group.members]
        for m in late:
            self._remove_member(group, m, "did not send SyncGroup in time", update=False)
        self._prepare_rebalance(
            group, f"{len(late)} member(s) did not send SyncGroup within the rebalance timeout"
        )

    def _finish_rebalance(self, group: _Group) -> None:
        """Record a completed rebalance (Stable, or Empty when everyone left)."""
        now_assignment = {
            mid: frozenset(
                (t, p) for t, parts in m.decoded_assignment.items() for p in parts
            )
            for mid, m in group.members.items()
        }
        moves = []
        for mid in sorted(set(now_assignment) | set(group.last_assignment)):
            new = now_assignment.get(mid, frozenset())
            old = group.last_assignment.get(mid, frozenset())
            if new != old:
                moves.append(MemberMove(mid, tuple(sorted(new - old)), tuple(sorted(old - new))))
        current = frozenset(group.members)
        rb = group.rebalance
        now = self.clock.wall()
        started_at = rb.started_at if rb else now
        duration_ms = (self.clock.time() - rb.started_mono) * 1000 if rb else 0.0
        record = RebalanceRecord(
            generation=group.generation,
            started_at=started_at,
            completed_at=now,
            duration_ms=duration_ms,
            reason=rb.reason if rb else "",
            member_count=len(group.members),
            joined=tuple(sorted(current - group.last_members)),
            left=tuple(sorted(group.last_members - current)),
            moved=tuple(moves),
            protocol_name=group.protocol_name,
        )
        group.history.append(record)
        group.rebalance = None
        group.last_members = current
        group.last_assignment = now_assignment
        self._emit(
            "rebalance_completed",
            f"Group {group.group_id} generation {group.generation}: {len(current)} member"
            f"{'' if len(current) == 1 else 's'}, {duration_ms:.0f} ms",
            group=group.group_id, generation=group.generation, members=len(current),
            duration_ms=round(duration_ms, 1),
        )

    def _remove_member(
        self, group: _Group, member: _Member, reason: str, *, update: bool = True
    ) -> None:
        if member.timer is not None:
            member.timer.cancel()
            member.timer = None
        _resolve(member.join_future, JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
        _resolve(member.sync_future, SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        group.members.pop(member.member_id, None)
        if (member.group_instance_id is not None
                and group.static.get(member.group_instance_id) == member.member_id):
            del group.static[member.group_instance_id]
        group.pending_sync.discard(member.member_id)
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)
        self._emit(
            "member_left", f"{member.member_id} left group {group.group_id}: {reason}",
            group=group.group_id, member_id=member.member_id, reason=reason,
        )
        if not update:
            return
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group, f"member {member.member_id} left ({reason})")
        elif group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)


    def _install_assignment(self, group: _Group, given: dict[str, bytes]) -> None:
        consumer = group.protocol_type == member_data.CONSUMER
        for mid, m in group.members.items():
            m.assignment = bytes(given.get(mid) or b"")
            m.decoded_assignment = (
                member_data.assigned_partitions(m.assignment) if consumer else {}
            )
        group.state = GroupState.STABLE
        self._finish_rebalance(group)
        for m in group.members.values():
            _resolve(m.sync_future, SyncResult(
                ErrorCode.NONE, m.assignment, group.protocol_type, group.protocol_name
            ))


    def _emit(self, kind: str, message: str, **data: object) -> None:
        self.partitions.emit_event(kind, message, **data)


def _new_future() -> asyncio.Future:
    """A future on the running loop, for a JoinGroup or SyncGroup answer to come."""
    return asyncio.get_running_loop().create_future()


def _resolve(fut: asyncio.Future | None, value: object) -> None:
    if fut is not None and not fut.done():
        fut.set_result(value)


def _why(reason: str | None, default: str) -> str:
    return f"{default}: {reason}" if reason else default
