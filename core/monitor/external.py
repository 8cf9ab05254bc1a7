"""The external observer: builds a :class:`ClusterSnapshot` of any Kafka-compatible
cluster over the wire, through confluent-kafka's AdminClient (issue 15, headless part).

Contract:

* :class:`ExternalSettings` (the connection) and :class:`ExternalError` are defined in
  :mod:`core.external_conn` (below ``core.monitor`` and ``core.browse``, which both use
  them) and re-exported here.
* :meth:`ExternalObserver.snapshot` BLOCKS (network round trips): call it from a worker
  thread, or await :meth:`ExternalObserver.snapshot_async` (``asyncio.to_thread``);
  never call it on an event loop. Each refresh makes a
  bounded number of batched requests: one Metadata (brokers, controller, topics,
  partitions, leaders, replicas, ISR), one DescribeConfigs for all topics, two
  ListOffsets for all partitions (earliest, latest), one ListGroups, one DescribeGroups
  for all groups, and one OffsetFetch per group (librdkafka's admin API takes a single
  group per OffsetFetch call; they are all sent at once and awaited together). Every call
  carries ``timeout_s``. ``snapshot(groups=[...])`` asks only for the named groups (no
  ListGroups; a group the cluster does not know is left out), for views that show few.
* :meth:`ExternalObserver.focused` is the cheap refresh of what is on screen (named
  topics' watermarks, named groups) over an earlier snapshot, for
  :class:`core.monitor.external_poller.ExternalPoller`: two ListOffsets, one
  DescribeGroups and one OffsetFetch per named group; no Metadata.
* Failures raise :class:`ExternalError`, whose ``reason`` is one line: the cluster is
  unreachable, authentication failed, the TLS handshake failed, or a request timed out.
  An API the cluster does not serve (DescribeConfigs, ListGroups...) does not fail the
  snapshot: what it would fill stays empty and its name is added to
  :attr:`ExternalObserver.unsupported`.
* Lag is :func:`core.groups.lag.partition_lag` over the same high watermarks the topics
  carry, as in the embedded observer. A group's offsets are its committed partitions plus
  the partitions assigned to its members (-1 where nothing is committed).

What the wire cannot know keeps the model's "not visible" defaults: segment counts and
bases, partition sizes, byte and record counters (``size_bytes``, ``records_in`` ...
all 0), storage errors and offline (None), the cleaner's state (None), the last
stable offset and aborted transactions (None, ()), the broker's counters (zeros), data
dir (""), start time and uptime (0), its SASL mechanisms and bind host, connections (()),
events (()), the activity feed (None), transactions in progress (()); per group the
generation (0), leader (None) and rebalance history (()), per member the session timeout
and heartbeat fields (defaults: never suspect). ``PartitionSnapshot.leader`` /
``replicas`` / ``isr`` are filled from Metadata. A topic's ``retention_ms``,
``retention_bytes`` and ``segment_bytes`` come from DescribeConfigs (-1, -1, 0 when the
cluster does not serve it), and ``configs`` holds its overrides (:func:`topic_overrides`:
the DYNAMIC_TOPIC_CONFIG entries, or all of a partial list such as Tansu's);
``topic_id`` is "" (Metadata as librdkafka exposes it does not carry it).
A partition whose leader is -1 or a broker Metadata does not list is not asked for
its watermarks (0, 0) and carries ``unavailable`` saying why; so does one whose leader did
not answer ListOffsets; the rest of the snapshot is drawn. ListGroups that no broker
serves adds "ListGroups" to ``unsupported``. ``ClusterSnapshot.broker`` is the controller (else the lowest node id);
``ClusterSnapshot.brokers`` lists every broker Metadata names, by node id, and
``controller_id`` is Metadata's controller (None when it names none). Topics whose
names start with ``__`` (Kafka's internal ones) are left out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_futures
from dataclasses import replace as dataclass_replace

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, OffsetSpec
from streamscope.core.configdefs import TOPIC_CONFIGS
from streamscope.core.external_conn import (
    AUTH_CODES as _AUTH_CODES,
)
from streamscope.core.external_conn import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    ExternalError,
    ExternalSettings,
)
from streamscope.core.external_conn import (
    UNREACHABLE_CODES as _UNREACHABLE_CODES,
)
from streamscope.core.external_conn import (
    UNSUPPORTED_CODES as _UNSUPPORTED_CODES,
)
from streamscope.core.groups import partition_lag, total_lag
from streamscope.core.monitor.snapshot import (
    BrokerInfo,
    ClusterSnapshot,
    Counters,
    GroupSnapshot,
    MemberSnapshot,
    OffsetSnapshot,
    PartitionSnapshot,
    TopicSnapshot,
)

__all__ = ["ExternalError", "ExternalObserver", "ExternalSettings", "SECURITY_PROTOCOLS",
           "SASL_MECHANISMS", "topic_overrides"]

# Kafka's group state names, as the embedded coordinator reports them.
_STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}



class ExternalObserver:
    """Polls one external cluster into :class:`ClusterSnapshot` (see the module contract).

    Not thread-safe: one thread polls at a time. :meth:`close` releases the client.
    """

    def __init__(self, settings: ExternalSettings, *, timeout_s: float = 10.0,
                 client_id: str = "streamscope-observer") -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.settings = settings
        self.timeout_s = timeout_s
        self.unsupported: set[str] = set()
        self.requests_last = 0  # requests the last snapshot sent (for the cost figures)
        self._errors: list[KafkaError] = []
        self._lock = threading.Lock()
        conf: dict[str, object] = dict(settings.client_config())
        conf.update({
            "client.id": client_id,
            "socket.connection.setup.timeout.ms": int(timeout_s * 1000),
            "error_cb": self._on_error,
            # Errors reach error_cb and become ExternalError; librdkafka's own log lines
            # on stderr would only repeat them (and litter ``streamscope inspect``).
            "log_level": 0,
        })
        self._admin = AdminClient(conf)

    def close(self) -> None:
        # AdminClient has no close(); dropping the last reference destroys the handle.
        self._admin = None  # type: ignore[assignment]

    def __enter__(self) -> ExternalObserver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_error(self, err: KafkaError) -> None:
        with self._lock:
            self._errors.append(err)
            del self._errors[:-16]  # bounded: only the latest matter

    def _fatal_error(self) -> ExternalError | None:
        """An error the client reported that means it will not get in."""
        with self._lock:
            errors = list(self._errors)
        for err in reversed(errors):
            code = err.code()
            if code in _AUTH_CODES:
                return ExternalError(f"authentication failed: {err.str()}")
            if code == KafkaError._SSL:
                return ExternalError(f"TLS handshake failed: {err.str()}")
        for err in reversed(errors):
            if err.code() in _UNREACHABLE_CODES:
                return ExternalError(
                    f"cannot reach {self.settings.bootstrap}: {err.str()}")
        return None

    # -- the snapshot ----------------------------------------------------------------

    async def snapshot_async(self) -> ClusterSnapshot:
        """:meth:`snapshot` on a worker thread, for a caller on an event loop."""
        return await asyncio.to_thread(self.snapshot)

    def snapshot(self, groups: Iterable[str] | None = None) -> ClusterSnapshot:
        """One refresh of the whole cluster (blocking; see the module contract).

        ``groups``: only these consumer groups (no ListGroups, one OffsetFetch each), for
        a view that shows a few; a named group the cluster does not know is left out.
        """
        if self._admin is None:
            raise ExternalError("the observer is closed")
        t0 = time.perf_counter()
        self.requests_last = 0
        metadata = self._metadata()
        now = time.time()
        names = sorted(n for n, t in metadata.topics.items()
                       if t.error is None and not n.startswith("__"))
        configs = self._configs(names)
        tps = [(n, p) for n in names for p in sorted(metadata.topics[n].partitions)]
        # A partition whose leader is gone (-1, or a broker Metadata no longer lists) has
        # no one to answer ListOffsets: it is not asked, and is drawn offline.
        live = set(metadata.brokers)
        led = [tp for tp in tps if metadata.topics[tp[0]].partitions[tp[1]].leader in live]
        starts = self._offsets(led, OffsetSpec.earliest())
        ends = self._offsets(led, OffsetSpec.latest())
        hw_by_tp = {tp: (starts.get(tp, 0), ends.get(tp, 0)) for tp in tps}
        answered = set(starts) & set(ends)
        topics = tuple(self._topic(metadata.topics[n], configs.get(n, {}), hw_by_tp,
                                   live, answered)
                       for n in names)
        found = self._groups(hw_by_tp, None if groups is None else sorted(set(groups)))
        brokers = metadata.brokers
        node_id = metadata.controller_id if metadata.controller_id in brokers else (
            min(brokers) if brokers else -1)
        b = brokers.get(node_id)
        info = BrokerInfo(
            node_id=int(node_id),
            cluster_id=str(metadata.cluster_id or ""),
            host=b.host if b is not None else None,
            port=int(b.port) if b is not None else None,
            data_dir="",
            started_at=0.0,
            uptime_s=0.0,
            tls=self.settings.security_protocol.upper().endswith("SSL"),
        )
        tls = info.tls
        every = tuple(
            info if int(nid) == info.node_id else BrokerInfo(
                node_id=int(nid), cluster_id=info.cluster_id, host=bm.host,
                port=int(bm.port), data_dir="", started_at=0.0, uptime_s=0.0, tls=tls)
            for nid, bm in sorted(brokers.items()))
        controller = int(metadata.controller_id)
        if controller not in brokers:
            controller = -1
        return ClusterSnapshot(
            taken_at=now,
            monotonic=time.monotonic(),
            build_ms=(time.perf_counter() - t0) * 1000.0,
            broker=info,
            counters=Counters(),
            topics=topics,
            groups=found,
            connections=(),
            events=(),
            activity=None,
            brokers=every or (info,),
            controller_id=controller if controller >= 0 else None,
            external=True,
        )

    def focused(self, base: ClusterSnapshot, topics: Iterable[str] = (),
                groups: Iterable[str] = ()) -> ClusterSnapshot:
        """A cheaper refresh of what is on screen (blocking): ``base`` (an earlier
        snapshot of this cluster) with the watermarks of the named ``topics`` and of the
        partitions the named ``groups`` have offsets on re-read (two ListOffsets), and
        the named groups re-described (one DescribeGroups, one OffsetFetch each; a
        group the cluster no longer knows is left out). Everything else is carried over
        from ``base``, except that every group's lag is recomputed against the fresh
        high watermarks. No Metadata: a topic's partitions, leaders and configs, and
        topics that are not in ``base``, wait for the next :meth:`snapshot`."""
        if self._admin is None:
            raise ExternalError("the observer is closed")
        t0 = time.perf_counter()
        self.requests_last = 0
        names = {t.name for t in base.topics} & set(topics)
        gids = sorted(set(groups))
        tps = {(t.name, p.index) for t in base.topics if t.name in names for p in t.partitions}
        for g in base.groups:
            if g.group_id in gids:
                tps.update((o.topic, o.partition) for o in g.offsets)
        known = {(t.name, p.index) for t in base.topics for p in t.partitions}
        wanted = sorted(tps & known)
        starts = self._offsets(wanted, OffsetSpec.earliest())
        ends = self._offsets(wanted, OffsetSpec.latest())
        hw_by_tp = {(p.topic, p.index): (p.log_start_offset, p.high_watermark)
                    for t in base.topics for p in t.partitions}
        for tp in wanted:
            old = hw_by_tp[tp]
            hw_by_tp[tp] = (starts.get(tp, old[0]), ends.get(tp, old[1]))
        now = time.time()
        new_topics = tuple(_with_watermarks(t, hw_by_tp) if t.name in names else t
                           for t in base.topics)
        fresh = {g.group_id: g for g in self._groups(hw_by_tp, gids)} if gids else {}
        kept = [_with_lag(g, hw_by_tp) for g in base.groups if g.group_id not in gids]
        new_groups = tuple(sorted([*kept, *fresh.values()], key=lambda g: g.group_id))
        return dataclass_replace(
            base, taken_at=now, monotonic=time.monotonic(),
            build_ms=(time.perf_counter() - t0) * 1000.0, topics=new_topics,
            groups=new_groups)

    def topic_configs(self, names: Iterable[str]) -> dict[str, Mapping[str, object]]:
        """Each named topic's DescribeConfigs entries (confluent-kafka ``ConfigEntry`` by
        config name); {} where the cluster does not serve DescribeConfigs (then named
        in :attr:`unsupported`). One request."""
        self.requests_last = 0
        return self._configs(sorted(set(names)))

    def _metadata(self):
        """Metadata, retried in short slices so that an auth, TLS or connect failure the
        client reports through its error callback ends the wait early."""
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            self._errors.clear()
        while True:
            left = deadline - time.monotonic()
            self.requests_last += 1
            try:
                return self._admin.list_topics(timeout=max(0.05, min(0.5, left)))
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                self._admin.poll(0)  # delivers error_cb
                fatal = self._fatal_error()
                if fatal is not None:
                    raise fatal from None
                if isinstance(err, KafkaError) and err.code() in _AUTH_CODES:
                    raise ExternalError(f"authentication failed: {err.str()}") from None
                if time.monotonic() >= deadline:
                    detail = err.str() if isinstance(err, KafkaError) else str(exc)
                    raise ExternalError(
                        f"cannot reach {self.settings.bootstrap} within "
                        f"{self.timeout_s:g} s: {detail}") from None

    def _wait(self, futures: Iterable[Future], what: str) -> None:
        futures = list(futures)
        _, pending = wait_futures(futures, timeout=self.timeout_s)
        if pending:
            raise ExternalError(f"{what} timed out after {self.timeout_s:g} s")

    def _result(self, future: Future, what: str):
        """A future's value; None where the cluster does not serve the API."""
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            raise ExternalError(f"{what} timed out after {self.timeout_s:g} s") from None
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError):
                if what == "ListOffsets" and err.code() in _PARTITION_CODES:
                    raise _PartitionUnavailable(err.str()) from None
                if err.code() in _UNSUPPORTED_CODES:
                    self.unsupported.add(what)
                    return None
                if err.code() in _AUTH_CODES:
                    raise ExternalError(f"authentication failed: {err.str()}") from None
                raise ExternalError(f"{what} failed: {err.str()}") from None
            raise ExternalError(f"{what} failed: {exc}") from None

    def _configs(self, names: list[str]) -> dict[str, dict[str, object]]:
        if not names or "DescribeConfigs" in self.unsupported:
            return {}
        self.requests_last += 1
        futures = self._admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names],
            request_timeout=self.timeout_s)
        self._wait(futures.values(), "DescribeConfigs")
        out: dict[str, dict[str, object]] = {}
        for resource, future in futures.items():
            entries = self._result(future, "DescribeConfigs")
            if entries is not None:
                out[resource.name] = entries
        return out

    def _offsets(self, tps: list[tuple[str, int]], spec: OffsetSpec) -> dict[tuple[str, int], int]:
        if not tps:
            return {}
        self.requests_last += 1
        futures = self._admin.list_offsets(
            {CkTopicPartition(t, p): spec for t, p in tps}, request_timeout=self.timeout_s)
        self._wait(futures.values(), "ListOffsets")
        out: dict[tuple[str, int], int] = {}
        for tp, future in futures.items():
            try:
                info = self._result(future, "ListOffsets")
            except _PartitionUnavailable:
                continue  # that partition's watermarks stay unknown; the rest are drawn
            # librdkafka answers -1001 (no offset) for a partition it could not ask.
            if info is not None and int(info.offset) >= 0:
                out[(tp.topic, tp.partition)] = int(info.offset)
        return out

    def _topic(self, meta, entries: Mapping[str, object],
               hw_by_tp: dict[tuple[str, int], tuple[int, int]],
               live: set[int] | None = None,
               answered: set[tuple[str, int]] | None = None) -> TopicSnapshot:
        name = meta.topic
        parts = []
        messages = 0
        for index in sorted(meta.partitions):
            pm = meta.partitions[index]
            start, end = hw_by_tp[(name, index)]
            messages += max(0, end - start)
            leader = int(pm.leader)
            unavailable = None
            if live is not None and leader not in live:
                unavailable = ("no leader" if leader < 0 else
                               f"its leader, broker {leader}, is not among the live brokers")
            elif answered is not None and (name, index) not in answered:
                unavailable = "its leader did not answer ListOffsets (watermarks unknown)"
            parts.append(PartitionSnapshot(
                name, index, start, end, 0, 0, 0, 0, 0, 0, 0, unavailable=unavailable,
                leader=leader, replicas=tuple(pm.replicas), isr=tuple(pm.isrs)))

        def effective(key: str, default: int) -> int:
            entry = entries.get(key)
            try:
                return int(entry.value) if entry is not None else default  # type: ignore[attr-defined]
            except (TypeError, ValueError):
                return default

        overrides = tuple(sorted(topic_overrides(entries).items()))
        return TopicSnapshot(
            name=name,
            topic_id=str(getattr(meta, "topic_id", "") or ""),
            partitions=tuple(parts),
            configs=overrides,
            retention_ms=effective("retention.ms", -1),
            retention_bytes=effective("retention.bytes", -1),
            segment_bytes=effective("segment.bytes", 0),
            messages=messages,
            size_bytes=0,
            segment_count=0,
            records_in=0,
            bytes_in=0,
            records_out=0,
            bytes_out=0,
        )

    def _groups(self, hw_by_tp: dict[tuple[str, int], tuple[int, int]],
                only: list[str] | None) -> tuple[GroupSnapshot, ...]:
        if only is not None:
            ids = only
        else:
            if "ListGroups" in self.unsupported:
                return ()
            self.requests_last += 1
            listing = self._result(
                self._admin.list_consumer_groups(request_timeout=self.timeout_s),
                "ListGroups")
            if listing is None:
                return ()
            ids = sorted({g.group_id for g in listing.valid})
            if not ids and listing.errors:
                # Each broker answers ListGroups for itself; when none serves it, say so
                # instead of showing "no groups".
                codes = [_error_code(e) for e in listing.errors]
                if all(c in _UNSUPPORTED_CODES for c in codes):
                    self.unsupported.add("ListGroups")
                    return ()
                raise ExternalError(f"ListGroups failed: {listing.errors[0]}")
        if not ids:
            return ()
        self.requests_last += 1
        described = self._admin.describe_consumer_groups(ids, request_timeout=self.timeout_s)
        self.requests_last += len(ids)
        fetched = {
            gid: self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(gid)],
                request_timeout=self.timeout_s)[gid]
            for gid in ids
        }
        self._wait([*described.values(), *fetched.values()], "DescribeGroups/OffsetFetch")
        out = []
        for gid in ids:
            desc = self._result(described[gid], "DescribeGroups")
            if desc is None:
                continue
            committed_tps = self._result(fetched[gid], "OffsetFetch")
            committed = {}
            if committed_tps is not None:
                for tp in committed_tps.topic_partitions or ():
                    if tp.error is None and tp.offset >= 0:
                        committed[(tp.topic, tp.partition)] = int(tp.offset)
            group = _group(desc, committed, hw_by_tp)
            # Kafka describes a group it does not know as Dead, with nothing in it.
            if group.state == "Dead" and not group.members and not group.offsets:
                continue
            out.append(group)
        return tuple(out)


def _with_watermarks(topic: TopicSnapshot,
                     hw_by_tp: Mapping[tuple[str, int], tuple[int, int]]) -> TopicSnapshot:
    parts = tuple(
        dataclass_replace(p, log_start_offset=hw_by_tp[(p.topic, p.index)][0],
                          high_watermark=hw_by_tp[(p.topic, p.index)][1])
        for p in topic.partitions)
    return dataclass_replace(topic, partitions=parts,
                             messages=sum(max(0, p.high_watermark - p.log_start_offset)
                                          for p in parts))


def _with_lag(group: GroupSnapshot,
              hw_by_tp: Mapping[tuple[str, int], tuple[int, int]]) -> GroupSnapshot:
    offsets = []
    for o in group.offsets:
        start, hw = hw_by_tp.get((o.topic, o.partition), (o.log_start_offset, o.high_watermark))
        offsets.append(dataclass_replace(o, high_watermark=hw, log_start_offset=start,
                                         lag=partition_lag(o.committed_offset, hw)))
    return dataclass_replace(group, offsets=tuple(offsets),
                             total_lag=total_lag(o.lag for o in offsets))


def topic_overrides(entries: Mapping[str, object]) -> dict[str, str]:
    """A topic's config overrides from its DescribeConfigs entries: those the cluster
    reports as DYNAMIC_TOPIC_CONFIG. A cluster that lists only some configs (fewer
    than half of Kafka's topic configs), all as defaults, lists what was set (Tansu
    0.6.0 does): then all of them (sensitive and read-only ones left out)."""
    usable = {k: e for k, e in entries.items()
              if getattr(e, "value", None) is not None and not getattr(e, "is_sensitive", False)
              and not getattr(e, "is_read_only", False)}
    dynamic = {k: str(e.value) for k, e in usable.items()  # type: ignore[attr-defined]
               if _source(e) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}
    partial = (bool(entries) and not dynamic and len(entries) < len(TOPIC_CONFIGS) // 2
               and all(_source(e) in (ConfigSource.DEFAULT_CONFIG.value,
                                      ConfigSource.UNKNOWN_CONFIG.value)
                       for e in entries.values()))
    if partial:
        return {k: str(e.value) for k, e in usable.items()}  # type: ignore[attr-defined]
    return dynamic


class _PartitionUnavailable(Exception):
    """One partition's leader cannot answer now (moved, gone); the others can."""


_PARTITION_CODES = frozenset({
    KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.REPLICA_NOT_AVAILABLE,
    KafkaError.BROKER_NOT_AVAILABLE,
})


def _error_code(error: object) -> int | None:
    err = error.args[0] if isinstance(error, KafkaException) and error.args else error
    return err.code() if isinstance(err, KafkaError) else None


def _source(entry: object) -> int:
    source = getattr(entry, "source", None)
    return int(getattr(source, "value", source) or 0)


def _group(desc, committed: dict[tuple[str, int], int],
           hw_by_tp: dict[tuple[str, int], tuple[int, int]]) -> GroupSnapshot:
    members = []
    owner: dict[tuple[str, int], str] = {}
    for m in sorted(desc.members, key=lambda m: m.member_id):
        tps = m.assignment.topic_partitions if m.assignment is not None else ()
        assignment = tuple(sorted((tp.topic, tp.partition) for tp in tps))
        for tp in assignment:
            owner[tp] = m.member_id
        members.append(MemberSnapshot(
            member_id=m.member_id,
            client_id=m.client_id or "",
            # Kafka writes a member's address as Java prints it ("/127.0.0.1").
            host=(m.host or "").lstrip("/"),
            group_instance_id=m.group_instance_id or None,
            assignment=assignment,
        ))
    offsets = []
    for tp in sorted(committed.keys() | owner.keys()):
        start, hw = hw_by_tp.get(tp, (0, 0))
        off = committed.get(tp, -1)
        offsets.append(OffsetSnapshot(tp[0], tp[1], off, hw, start, partition_lag(off, hw),
                                      owner.get(tp)))
    state = getattr(desc.state, "name", str(desc.state))
    return GroupSnapshot(
        group_id=desc.group_id,
        state=_STATE_NAMES.get(state, state),
        protocol_type="" if desc.is_simple_consumer_group else "consumer",
        assignor=desc.partition_assignor or "",
        generation=0,
        leader=None,
        members=tuple(members),
        offsets=tuple(offsets),
        total_lag=total_lag(o.lag for o in offsets),
        rebalances=(),
    )
