"""What the in-process consumer calls on its group coordinator, as a typed seam.

Contract: :class:`ConsumerCoordinator` names exactly the coordinator calls
:class:`core.clients.membership.Membership` makes (join, sync, heartbeat, leave, commit and
fetch offsets, and ``closed``), with the coordinator's own signatures, so
:class:`core.groups.GroupCoordinator` satisfies it structurally. Whoever builds a consumer
hands it its coordinator (the node's, :attr:`core.node.Node.groups`); the broker's
``groups`` attribute is typed only as what the broker itself calls
(:class:`core.ports.BrokerGroups`), too narrow to stand in for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from streamscope.core.errors import ErrorCode
from streamscope.core.groups import JoinResult, LeaveResult, SyncResult, TopicPartition
from streamscope.core.meta import CommittedOffset


@runtime_checkable
class ConsumerCoordinator(Protocol):
    @property
    def closed(self) -> bool:
        """True once the coordinator is closing (the broker is going away)."""
        ...

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
    ) -> JoinResult: ...

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
    ) -> SyncResult: ...

    async def heartbeat(
        self, group_id: str, generation_id: int, member_id: str,
        group_instance_id: str | None = None,
    ) -> ErrorCode: ...

    async def leave_group(
        self, group_id: str, members: Sequence[tuple[str, str | None]],
        reason: str | None = None,
    ) -> LeaveResult: ...

    async def commit_offsets(
        self,
        group_id: str,
        offsets: Iterable[CommittedOffset],
        *,
        member_id: str = "",
        generation_id: int = -1,
        group_instance_id: str | None = None,
    ) -> dict[TopicPartition, ErrorCode]: ...

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, CommittedOffset | None]: ...


def attached_coordinator(groups: object) -> ConsumerCoordinator:
    """The coordinator attached to a broker (``broker.groups``), checked against
    :class:`ConsumerCoordinator`: the default of a consumer built without ``groups=``.
    A broker without one (not started through :class:`core.node.Node`) is an error here,
    not a silent consumer that never joins."""
    if not isinstance(groups, ConsumerCoordinator):
        raise TypeError(
            f"the broker's group coordinator ({type(groups).__name__}) cannot serve a "
            "consumer: start the broker through core.node, or pass groups="
        )
    return groups
