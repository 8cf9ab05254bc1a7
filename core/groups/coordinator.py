"""``GroupCoordinator``: Kafka's classic consumer-group protocol, and committed offsets.

The coordinator is split by request, as Tansu splits it: ``state.py`` (the state
machine and its data), ``join_sync.py`` (JoinGroup, SyncGroup), ``membership.py``
(Heartbeat, LeaveGroup, session expiry), ``offsets.py`` (OffsetCommit/Fetch/Delete,
reset) and ``admin.py`` (DescribeGroups, ListGroups, DeleteGroups, descriptions for the
monitor). This module combines them into the one class callers use.

Contract:

* One coordinator per broker, living on the broker's loop. Every method reads and
  changes group state with no ``await`` in between; the only awaits are the waits a
  JoinGroup or SyncGroup makes for the rest of its group (on futures the coordinator
  resolves). Timers are armed on an injected :class:`~core.groups.clock.Clock` (the
  loop's by default; a ``ManualClock`` in tests): one session timer per member
  (re-armed on every heartbeat, join, sync and commit), one join timer and one
  pending-sync timer per group. For the monitor, :meth:`snapshot` reports on that
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
  through to the ``OffsetStore`` (one transaction per request) before the answer, and
  all are loaded at start, so they survive a restart. Group membership is not persisted:
  after a restart members rejoin (their heartbeats get UNKNOWN_MEMBER_ID).
* Refusals of admin calls raise :class:`~core.errors.KafkaError`; the group protocol calls return
  Kafka's error codes inside their results, as the wire answers carry them.
"""

from __future__ import annotations

from streamscope.core.groups.admin import AdminMixin
from streamscope.core.groups.join_sync import JoinSyncMixin
from streamscope.core.groups.membership import MembershipMixin
from streamscope.core.groups.offsets import OffsetsMixin


class GroupCoordinator(JoinSyncMixin, MembershipMixin, OffsetsMixin, AdminMixin):
    """The classic group coordinator of one broker (see the module docstring).

    ``GroupCoordinator(partitions, store, config, clock=None)``: ``partitions`` is a
    :class:`~core.groups.ports.PartitionView` (the Broker), ``store`` an
    :class:`~core.groups.ports.OffsetStore` (its MetaStore), ``config`` a
    :class:`~core.groups.ports.GroupConfig`, ``clock`` a :class:`~core.groups.clock.Clock`
    (the running loop's when None).
    """
