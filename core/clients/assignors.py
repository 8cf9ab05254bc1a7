"""Client-side partition assignors: range, roundrobin and cooperative-sticky.

The group leader runs one of these over every member's subscription (decoded from the
ConsumerProtocol) and the partition counts of the subscribed topics. Each follows the
Java client's algorithm, so a group mixing this consumer with real clients that chose the
same protocol gets the assignment a Java leader would compute:

* ``range``: per topic, members subscribed to it sorted by (group instance id or member
  id); each gets ``partitions // members`` consecutive partitions, the first
  ``partitions % members`` one more.
* ``roundrobin``: all subscribed partitions sorted by (topic, partition), dealt in turn
  to the sorted members, skipping members not subscribed to a partition's topic.
* ``cooperative-sticky``: a balanced assignment (counts within one of each other among
  members with the same subscription) that keeps every valid owned partition where it
  is when balance allows; owned partitions claimed by two members go to the one with
  the newer generation. Then the cooperative rule: a partition moving from one member to
  another is left out this round, so its owner revokes it first; the follow-up
  rebalance hands it over (KIP-429).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class MemberSubscription:
    member_id: str
    topics: tuple[str, ...]
    group_instance_id: str | None = None
    owned: frozenset[TopicPartition] = field(default_factory=frozenset)
    generation: int = -1

    @property
    def sort_key(self) -> str:
        return self.group_instance_id or self.member_id


Assignment = dict[str, set[TopicPartition]]


class Assignor:
    name: str = ""
    cooperative: bool = False

    def assign(
        self, members: Mapping[str, MemberSubscription], partitions: Mapping[str, int]
    ) -> Assignment:
        raise NotImplementedError

    def user_data(self, generation: int) -> bytes | None:
        """Extra bytes this assignor puts in the member's subscription."""
        return None


class RangeAssignor(Assignor):
    name = "range"

    def assign(self, members, partitions):
        out: Assignment = {mid: set() for mid in members}
        topics = sorted({t for m in members.values() for t in m.topics})
        for topic in topics:
            count = partitions.get(topic, 0)
            subscribers = sorted(
                (m for m in members.values() if topic in m.topics), key=lambda m: m.sort_key
            )
            if not subscribers or count <= 0:
                continue
            each, extra = divmod(count, len(subscribers))
            start = 0
            for i, m in enumerate(subscribers):
                n = each + (1 if i < extra else 0)
                out[m.member_id].update((topic, p) for p in range(start, start + n))
                start += n
        return out


class RoundRobinAssignor(Assignor):
    name = "roundrobin"

    def assign(self, members, partitions):
        out: Assignment = {mid: set() for mid in members}
        ordered = sorted(members.values(), key=lambda m: m.sort_key)
        if not ordered:
            return out
        topics = sorted({t for m in ordered for t in m.topics})
        i = 0
        for topic in topics:
            for p in range(partitions.get(topic, 0)):
                # Deal to the next member (circularly) that subscribes to this topic.
                for _ in range(len(ordered)):
                    m = ordered[i % len(ordered)]
                    i += 1
                    if topic in m.topics:
                        out[m.member_id].add((topic, p))
                        break
        return out


class CooperativeStickyAssignor(Assignor):
    name = "cooperative-sticky"
    cooperative = True

    def user_data(self, generation: int) -> bytes | None:
        # The Java assignor writes the generation here for subscriptions older than v2.
        return struct.pack(">i", generation)

    def assign(self, members, partitions):
        target = sticky_assignment(members, partitions)
        owner = _valid_owners(members, partitions)
        # KIP-429: a partition changing hands is withheld until its owner has revoked it.
        for mid, tps in target.items():
            for tp in list(tps):
                prev = owner.get(tp)
                if prev is not None and prev != mid:
                    tps.discard(tp)
        return target


def _eligible(members: Mapping[str, MemberSubscription], partitions: Mapping[str, int]):
    return sorted(
        (t, p)
        for t in {t for m in members.values() for t in m.topics}
        for p in range(partitions.get(t, 0))
    )


def _valid_owners(
    members: Mapping[str, MemberSubscription], partitions: Mapping[str, int]
) -> dict[TopicPartition, str]:
    """Owned partitions still valid: existing, subscribed, newest generation wins."""
    owner: dict[TopicPartition, str] = {}
    for m in sorted(members.values(), key=lambda m: (-m.generation, m.sort_key)):
        for tp in sorted(m.owned):
            topic, p = tp
            if topic in m.topics and 0 <= p < partitions.get(topic, 0) and tp not in owner:
                owner[tp] = m.member_id
    return owner


def sticky_assignment(
    members: Mapping[str, MemberSubscription], partitions: Mapping[str, int]
) -> Assignment:
    """A balanced assignment that moves as few owned partitions as balance needs."""
    out: Assignment = {mid: set() for mid in members}
    if not members:
        return out
    owner = _valid_owners(members, partitions)
    everything = _eligible(members, partitions)
    subscribers = {
        tp: sorted((mid for mid, m in members.items() if tp[0] in m.topics),
                   key=lambda mid: members[mid].sort_key)
        for tp in everything
    }
    # With identical subscriptions nobody may hold more than ceil(total / members):
    # surplus owned partitions are released first, the newest-numbered ones.
    for tp, mid in owner.items():
        out[mid].add(tp)
    counts_cap = {}
    for mid, m in members.items():
        eligible = sum(1 for tp in everything if tp[0] in m.topics)
        sharing = sum(1 for other in members.values() if other.topics == m.topics)
        counts_cap[mid] = -(-eligible // max(sharing, 1))
    for mid, tps in out.items():
        cap = counts_cap[mid]
        while len(tps) > cap:
            tps.discard(max(tps))
    assigned = {tp for tps in out.values() for tp in tps}

    def lightest(candidates: list[str]) -> str:
        return min(candidates, key=lambda mid: (len(out[mid]), members[mid].sort_key))

    for tp in everything:
        if tp not in assigned and subscribers[tp]:
            out[lightest(subscribers[tp])].add(tp)
    # Even out: move a partition from a member holding 2+ more than another member that
    # could take it, until no such pair is left (each move lowers the imbalance).
    moved = True
    while moved:
        moved = False
        for mid in sorted(out, key=lambda m: (-len(out[m]), members[m].sort_key)):
            for tp in sorted(out[mid], reverse=True):
                takers = [o for o in subscribers[tp] if len(out[o]) + 1 < len(out[mid])]
                if takers:
                    out[mid].discard(tp)
                    out[lightest(takers)].add(tp)
                    moved = True
                    break
            if moved:
                break
    return out


ASSIGNORS: dict[str, type[Assignor]] = {
    a.name: a for a in (RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor)
}


def get_assignor(name: str) -> Assignor:
    try:
        return ASSIGNORS[name]()
    except KeyError:
        raise ValueError(
            f"unknown assignor {name!r}; choose from {', '.join(ASSIGNORS)}"
        ) from None
