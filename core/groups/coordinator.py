"""``GroupCoordinator``: Kafka's classic consumer-group protocol, and committed offsets.

Contract:

* One coordinator per broker, living on the broker's loop. Every method reads and
  changes group state with no ``await`` in between; the only awaits are the waits a
  JoinGroup or SyncGroup makes for the rest of its group (on futures the coordinator
  resolves). Timers are ``loop.call_later`` handles: one session timer per member
  (re-armed on every heartbeat, join, sync and commit), one join timer and one
  pending-sync timer per group. For the monitor, :meth:`snapshot` reports on the loop's
  clock how long each member has been silent against its session timeout, the interval
  its Heartbeats were seen arriving at, and whether it is parked in a rebalance.
* The state machine is Kafka's (Empty, PreparingRebalance, CompletingRebalance, Stable,
  Dead) with its rules: member ids ``f"{client_id}-{uuid4}"``; JoinGroup v4+ answers a
  first join with MEMBER_ID_REQUIRED and a new id (the id is "pending" until the member
  rejoins with it or its session timeout passes); the protocol is chosen by vote among
  the protocols every member supports; JoinGroup answers are held until every known
  member has rejoined (and no pending member is outstanding) or the rebalance timeout
  (the largest of the members') passes, and members that did not rejoin are removed;
  the leader alone gets the member list; followers' SyncGroup waits for the leader's
  assignment; a SyncGroup in Stable gets the member's current assignment at once (never
  REBALANCE_IN_PROGRESS for the current generation); members that do not send SyncGroup
  within the rebalance timeout after a join completes are removed and the group
  rebalances (Kafka 3.2+). A new group's first rebalance waits
  ``BrokerConfig.group_initial_rebalance_delay_ms`` (300 ms here, Kafka 3000 ms),
  extended while new members keep arriving, so consumers started together share one
  rebalance without every first join being slow.
* Static membership (``group.instance.id``): a join with a known instance id and no
  member id replaces the old member id; in Stable with an unchanged protocol choice it
  gets the current generation without a rebalance (a static leader gets
  ``skip_assignment``). A stale member id with that instance id gets FENCED_INSTANCE_ID.
  Static members that do not rejoin are not removed by the rebalance timeout, only by
  their session timeout (as in Kafka).
* Member metadata and assignments are opaque bytes. For "consumer" groups they are
  decoded (ConsumerProtocol) only for the monitor and OffsetDelete's subscription check.
* Offsets: OffsetCommit is checked against member and generation; generation -1 with
  no member id is accepted only while the group has no members (admin tools, manual
  assignment), creating a "simple" group with no protocol type. Commits are written
  through to the ``MetaStore`` (one transaction per request) before the answer, and all
  are loaded at start, so they survive a restart. Group membership is not persisted:
  after a restart members rejoin (their heartbeats get UNKNOWN_MEMBER_ID).
* Refusals of admin calls raise :class:`KafkaError`; the group protocol calls return
  Kafka's error codes inside their results, as the wire answers carry them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from core.errors import ErrorCode, KafkaError
from core.groups import consumer_data
from core.groups.model import (
    DescribedMember,
    GroupDescription,
    GroupInfo,
    GroupState,
    JoinMember,
    JoinResult,
    LeaveResult,
    ListedGroup,
    MemberInfo,
    MemberMove,
    OffsetSpec,
    RebalanceRecord,
    SyncResult,
    TopicPartition,
)
from core.meta import CommittedOffset

if TYPE_CHECKING:
    from core.meta import MetaStore

log = logging.getLogger(__name__)

# KIP-394: a new member's first join may wait this long before it is given up on.
NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000
# Kafka's offset.metadata.max.bytes.
MAX_OFFSET_METADATA = 4096
REBALANCE_HISTORY = 50
# Gaps between Heartbeat requests kept per member, to estimate its heartbeat interval.
HEARTBEAT_GAPS = 4
CONSUMER = "consumer"

_ACTIVE = (GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE, GroupState.STABLE)


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
    timer: asyncio.TimerHandle | None = None
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
    pending: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    static: dict[str, str] = field(default_factory=dict)  # group instance id -> member id
    offsets: dict[TopicPartition, CommittedOffset] = field(default_factory=dict)
    join_timer: asyncio.TimerHandle | None = None
    initial_delay: bool = False
    new_member_added: bool = False
    initial_remaining_ms: int = 0
    sync_timer: asyncio.TimerHandle | None = None
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


class GroupCoordinator:
    """The classic group coordinator of one broker (see the module docstring)."""

    def __init__(self, broker: Any, store: MetaStore) -> None:
        self.broker = broker
        self.store = store
        config = getattr(broker, "config", None)
        self.initial_rebalance_delay_ms = int(
            getattr(config, "group_initial_rebalance_delay_ms", 300)
        )
        self.min_session_timeout_ms = int(getattr(config, "group_min_session_timeout_ms", 1000))
        self.max_session_timeout_ms = int(
            getattr(config, "group_max_session_timeout_ms", 1_800_000)
        )
        self._groups: dict[str, _Group] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Load every committed offset; groups that have offsets come back as Empty."""
        self._loop = asyncio.get_running_loop()
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
            group.pending.clear()
            for m in group.members.values():
                if m.timer is not None:
                    m.timer.cancel()
                _resolve(m.join_future, JoinResult(ErrorCode.NOT_COORDINATOR, m.member_id))
                _resolve(m.sync_future, SyncResult(ErrorCode.NOT_COORDINATOR))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran: every group call answers NOT_COORDINATOR."""
        return self._closed

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

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
        if not group_id:
            return JoinResult(ErrorCode.INVALID_GROUP_ID, member_id)
        if self._closed:
            return JoinResult(ErrorCode.NOT_COORDINATOR, member_id)
        if not self.min_session_timeout_ms <= session_timeout_ms <= self.max_session_timeout_ms:
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

    @staticmethod
    def _member_list(group: _Group) -> tuple[JoinMember, ...]:
        return tuple(
            JoinMember(m.member_id, m.group_instance_id, m.metadata_for(group.protocol_name))
            for m in group.members.values()
        )

    def _add_pending(self, group: _Group, member_id: str, session_timeout_ms: int) -> None:
        group.pending[member_id] = self.loop.call_later(
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
        member.join_future = self.loop.create_future()
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
            member.join_future = self.loop.create_future()
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
            member.join_future = self.loop.create_future()
            self._maybe_prepare_rebalance(
                group, f"static member {instance_id} rejoined with other protocols"
            )
            return member.join_future
        member.join_future = self.loop.create_future()
        if state == GroupState.COMPLETING_REBALANCE:
            self._maybe_prepare_rebalance(
                group, f"static member {instance_id} rejoined during a rebalance"
            )
        self._maybe_complete_join(group)
        return member.join_future

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
            group.rebalance = _Rebalance(time.time(), self.loop.time(), reason)
            self._emit(
                "rebalance_started", f"Group {group.group_id} rebalancing: {reason}",
                group=group.group_id, reason=reason, generation=group.generation,
            )
        if group.join_timer is not None:
            group.join_timer.cancel()
        if was_empty:
            delay = self.initial_rebalance_delay_ms
            group.initial_delay = True
            group.new_member_added = False
            group.initial_remaining_ms = max(group.rebalance_timeout_ms - delay, 0)
            group.join_timer = self.loop.call_later(
                delay / 1000, self._initial_delay_expired, group
            )
        else:
            group.join_timer = self.loop.call_later(
                group.rebalance_timeout_ms / 1000, self._complete_join, group
            )
            self._maybe_complete_join(group)

    def _initial_delay_expired(self, group: _Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE or not group.initial_delay:
            return
        if group.new_member_added and group.initial_remaining_ms > 0:
            group.new_member_added = False
            delay = min(self.initial_rebalance_delay_ms, group.initial_remaining_ms)
            group.initial_remaining_ms -= delay
            group.join_timer = self.loop.call_later(
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
            group.join_timer = self.loop.call_later(
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
        if group.protocol_type == CONSUMER:
            for m in group.members.values():
                m.subscription = consumer_data.subscribed_topics(
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
        group.sync_timer = self.loop.call_later(
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
        now = time.time()
        started_at = rb.started_at if rb else now
        duration_ms = (self.loop.time() - rb.started_mono) * 1000 if rb else 0.0
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

    def _arm_session(self, group: _Group, member: _Member) -> None:
        if member.timer is not None:
            member.timer.cancel()
        loop = self.loop
        member.last_heartbeat = loop.time()
        timeout = NEW_MEMBER_JOIN_TIMEOUT_MS if member.is_new else member.session_timeout_ms
        member.timer = loop.call_later(
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

    # --- SyncGroup, Heartbeat, LeaveGroup -----------------------------------------------

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
        if not group_id:
            return SyncResult(ErrorCode.INVALID_GROUP_ID)
        if self._closed:
            return SyncResult(ErrorCode.NOT_COORDINATOR)
        group = self._groups.get(group_id)
        if group is None:
            return SyncResult(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.state == GroupState.DEAD:
            return SyncResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if group.is_fenced(instance_id, member_id):
            return SyncResult(ErrorCode.FENCED_INSTANCE_ID)
        member = group.members.get(member_id)
        if member is None:
            return SyncResult(ErrorCode.UNKNOWN_MEMBER_ID)
        if generation_id != group.generation:
            return SyncResult(ErrorCode.ILLEGAL_GENERATION)
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
                member.sync_future = self.loop.create_future()
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

    def _install_assignment(self, group: _Group, given: dict[str, bytes]) -> None:
        consumer = group.protocol_type == CONSUMER
        for mid, m in group.members.items():
            m.assignment = bytes(given.get(mid) or b"")
            m.decoded_assignment = (
                consumer_data.assigned_partitions(m.assignment) if consumer else {}
            )
        group.state = GroupState.STABLE
        self._finish_rebalance(group)
        for m in group.members.values():
            _resolve(m.sync_future, SyncResult(
                ErrorCode.NONE, m.assignment, group.protocol_type, group.protocol_name
            ))

    async def heartbeat(
        self, group_id: str, generation_id: int, member_id: str,
        group_instance_id: str | None = None,
    ) -> ErrorCode:
        """Heartbeat: NONE, REBALANCE_IN_PROGRESS (rejoin), or why the member is unknown."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if self._closed:
            return ErrorCode.NOT_COORDINATOR
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.state == GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if group.is_fenced(group_instance_id, member_id):
            return ErrorCode.FENCED_INSTANCE_ID
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation_id != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        if group.state == GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        now = self.loop.time()
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
        if not group_id:
            return LeaveResult(ErrorCode.INVALID_GROUP_ID)
        if self._closed:
            return LeaveResult(ErrorCode.NOT_COORDINATOR)
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
        """OffsetCommit: one error code per partition; accepted ones are durable on return."""
        offsets = list(offsets)
        member_id = member_id or ""
        group = self._groups.get(group_id)
        error = ErrorCode.NONE
        create = False
        if self._closed:
            error = ErrorCode.NOT_COORDINATOR
        elif group is None:
            if generation_id < 0 and not member_id and group_instance_id is None:
                create = True  # a group that only uses Kafka to store offsets
            else:
                error = ErrorCode.ILLEGAL_GENERATION
        else:
            error = self._validate_commit(group, member_id, generation_id, group_instance_id)
        now = int(time.time() * 1000)
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
        try:
            self.store.commit_offsets(group_id, accepted)
        except Exception:
            log.exception("storing offsets of group %s failed", group_id)
            for o in accepted:
                results[(o.topic, o.partition)] = ErrorCode.UNKNOWN_SERVER_ERROR
            return results
        if create:
            group = self._groups.setdefault(group_id, _Group(group_id))
        for o in accepted:
            group.offsets[(o.topic, o.partition)] = o
        return results

    def _validate_commit(
        self, group: _Group, member_id: str, generation_id: int, instance_id: str | None
    ) -> ErrorCode:
        if group.state == GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id >= 0 or member_id or instance_id is not None:
            if group.is_fenced(instance_id, member_id):
                return ErrorCode.FENCED_INSTANCE_ID
            member = group.members.get(member_id)
            if member is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if generation_id != group.generation:
                return ErrorCode.ILLEGAL_GENERATION
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

    def _partition_exists(self, topic: str, partition: int) -> bool:
        count = self.broker.topic_partition_count(topic)
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
            if group.protocol_type != CONSUMER:
                return ErrorCode.NON_EMPTY_GROUP, {}
            for m in group.members.values():
                subscribed.update(
                    m.subscription
                    or consumer_data.subscribed_topics(m.metadata_for(group.protocol_name))
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
            self.store.delete_offsets(group_id, doomed)
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
        count = self.broker.topic_partition_count(topic)
        if count is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unknown topic {topic!r}")
        wanted = list(range(count)) if partitions is None else list(partitions)
        targets: dict[TopicPartition, int] = {}
        for p in wanted:
            if not 0 <= p < count:
                raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No partition {topic}-{p}")
            start, end = self.broker.partition_offsets(topic, p)
            if spec.kind == "earliest":
                target = start
            elif spec.kind == "latest":
                target = end
            elif spec.kind == "timestamp":
                found, _ts = self.broker.list_offsets(topic, p, spec.value)
                target = end if found < 0 else found
            elif spec.kind == "offset":
                target = spec.value
            else:
                current = group.offsets.get((topic, p)) if group is not None else None
                base = current.offset if current is not None and current.offset >= 0 else start
                target = base + spec.value
            targets[(topic, p)] = min(max(target, start), end)
        now = int(time.time() * 1000)
        records = [CommittedOffset(t, p, off, -1, "", now) for (t, p), off in targets.items()]
        self.store.commit_offsets(group_id, records)
        group = self._groups.setdefault(group_id, _Group(group_id))
        for rec in records:
            group.offsets[(rec.topic, rec.partition)] = rec
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

    # --- admin: describe, list, delete --------------------------------------------------

    def describe(self, group_ids: Iterable[str]) -> list[GroupDescription]:
        """DescribeGroups, Kafka's summary: metadata and assignments only when Stable;
        an unknown group is described as Dead with no error (v0-5)."""
        out = []
        for gid in group_ids:
            group = self._groups.get(gid)
            if group is None or group.state == GroupState.DEAD:
                out.append(GroupDescription(gid, ErrorCode.NONE, "Dead", "", ""))
                continue
            stable = group.state == GroupState.STABLE
            members = tuple(
                DescribedMember(
                    m.member_id, m.group_instance_id, m.client_id, m.client_host,
                    m.metadata_for(group.protocol_name) if stable else b"",
                    m.assignment if stable else b"",
                )
                for m in group.members.values()
            )
            out.append(GroupDescription(
                gid, ErrorCode.NONE, group.state.value, group.protocol_type or "",
                (group.protocol_name or "") if stable else "", members,
            ))
        return out

    def list_groups(self, states: Iterable[str] | None = None) -> list[ListedGroup]:
        """ListGroups; ``states`` (v4+ filter) matches Kafka's state names, any case."""
        wanted = {s.lower() for s in states} if states else None
        out = []
        for gid, group in sorted(self._groups.items()):
            if group.state == GroupState.DEAD:
                continue
            if wanted is not None and group.state.value.lower() not in wanted:
                continue
            out.append(ListedGroup(gid, group.protocol_type or "", group.state.value))
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

    # --- monitor ------------------------------------------------------------------------

    def group_ids(self) -> list[str]:
        return sorted(self._groups)

    def state_of(self, group_id: str) -> GroupState | None:
        group = self._groups.get(group_id)
        return group.state if group is not None else None

    def lag(self, group_id: str) -> dict[TopicPartition, int]:
        """Lag per partition = high watermark - committed (nothing committed: from log
        start), for every partition the group has committed or has assigned now."""
        group = self._groups.get(group_id)
        return self._lag(group) if group is not None else {}

    def _lag(self, group: _Group) -> dict[TopicPartition, int]:
        tps = set(group.offsets)
        for m in group.members.values():
            for topic, parts in m.decoded_assignment.items():
                tps.update((topic, p) for p in parts)
        out: dict[TopicPartition, int] = {}
        for tp in sorted(tps):
            try:
                start, end = self.broker.partition_offsets(*tp)
            except KafkaError:
                continue  # topic deleted or shrunk: nothing to lag behind
            committed = group.offsets.get(tp)
            if committed is not None and committed.offset >= 0:
                out[tp] = max(0, end - committed.offset)
            else:
                out[tp] = max(0, end - start)
        return out

    def snapshot(self) -> tuple[GroupInfo, ...]:
        """Every live group as plain frozen data, sorted by group id (no I/O)."""
        return tuple(self._info(g) for _, g in sorted(self._groups.items())
                     if g.state != GroupState.DEAD)

    def group_info(self, group_id: str) -> GroupInfo | None:
        group = self._groups.get(group_id)
        return self._info(group) if group is not None else None

    def _info(self, g: _Group) -> GroupInfo:
        now = self.loop.time()
        members = tuple(
            MemberInfo(
                member_id=m.member_id,
                client_id=m.client_id,
                client_host=m.client_host,
                group_instance_id=m.group_instance_id,
                session_timeout_ms=m.session_timeout_ms,
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                is_leader=m.member_id == g.leader_id,
                assignment=dict(m.decoded_assignment),
                subscription=m.subscription,
                assignment_bytes=len(m.assignment),
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
        return GroupInfo(
            group_id=g.group_id,
            state=g.state,
            protocol_type=g.protocol_type or "",
            protocol_name=g.protocol_name,
            generation=g.generation,
            leader=g.leader_id,
            members=members,
            offsets=dict(g.offsets),
            lag=self._lag(g),
            rebalances=tuple(g.history),
        )

    def _emit(self, kind: str, message: str, **data: Any) -> None:
        emit = getattr(self.broker, "emit_event", None)
        if emit is not None:
            emit(kind, message, **data)


def _resolve(fut: asyncio.Future | None, value: Any) -> None:
    if fut is not None and not fut.done():
        fut.set_result(value)


def _why(reason: str | None, default: str) -> str:
    return f"{default}: {reason}" if reason else default
