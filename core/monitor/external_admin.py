"""Actions on an external Kafka-compatible cluster through its admin API (issue 15).

Contract:

* :class:`ExternalAdmin` drives one cluster through confluent-kafka's ``AdminClient``
  (and a ``Producer`` for :meth:`ExternalAdmin.produce`, made on first use). Every
  method BLOCKS on network round trips: callers run them in a worker thread, never on
  the GUI thread or an event loop. Each call waits at most about ``timeout_s``.
* Every failure raises :class:`ExternalError` whose ``reason`` is one line
  (:func:`core.external_conn.error_reason`): what the cluster answered as
  ``"CODE_NAME: message"`` (``TOPIC_ALREADY_EXISTS: ...``), an API the cluster does not
  serve as a sentence naming it (``the cluster does not serve CreatePartitions: ...``),
  an unreachable cluster, failed authentication or TLS as the observer words them, a
  timeout as "... timed out". Bad arguments (an empty name, a negative count, an
  unknown reset target) raise ``ValueError`` before anything is sent.
* Nothing is checked on the client's side that the cluster checks itself: the cluster
  is the authority, and its error is what the user sees. In particular
  :meth:`ExternalAdmin.reset_offsets` commits with the admin API (OffsetCommit with no
  member): a cluster that follows Kafka's rule refuses it while the group has members
  (UNKNOWN_MEMBER_ID), and the reason adds that the group must be empty.
* :meth:`ExternalAdmin.reset_offsets` targets ``"earliest"``, ``"latest"``, an absolute
  offset (an int, clamped to each partition's [log start, high watermark] as Kafka's
  ``kafka-consumer-groups --reset-offsets --to-offset`` does) or ``"ts:<ms>"`` (the first
  offset at or after that time, the high watermark when there is none). Partitions None
  means every partition the group has committed. It returns what was committed.
* :meth:`ExternalAdmin.delete_records` returns each partition's new log start offset
  (``-1`` in ``before`` means the high watermark).
* :meth:`ExternalAdmin.produce` sends one record (key, headers, partition, timestamp as
  given; the partitioner of librdkafka otherwise) with acks=all and waits for the
  acknowledgement; returns (partition, offset).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)
from streamscope.core.external_conn import (
    ClientErrors,
    ExternalError,
    ExternalSettings,
    error_reason,
    exception_reason,
)

__all__ = ["ExternalAdmin"]


def _reset_target(to: str | int) -> tuple[str, int]:
    """("earliest"|"latest"|"offset"|"timestamp", value) or ValueError."""
    if isinstance(to, bool):
        raise ValueError(f"reset target {to!r} is not earliest, latest, an offset or ts:<ms>")
    if isinstance(to, int):
        if to < 0:
            raise ValueError(f"offset {to} is negative")
        return "offset", to
    text = str(to).strip().lower()
    if text in ("earliest", "latest"):
        return text, 0
    if text.startswith("ts:"):
        try:
            ms = int(text[3:])
        except ValueError:
            raise ValueError(f"timestamp {to!r} is not ts:<milliseconds>") from None
        if ms < 0:
            raise ValueError(f"timestamp {ms} is negative")
        return "timestamp", ms
    raise ValueError(f"reset target {to!r} is not earliest, latest, an offset or ts:<ms>")


class ExternalAdmin:
    """Admin actions on one external cluster (see the module contract). One thread at
    a time; :meth:`close` releases the clients (also a context manager)."""

    def __init__(self, settings: ExternalSettings, *, timeout_s: float = 10.0) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.settings = settings
        self.timeout_s = timeout_s
        self._errors = ClientErrors(settings.bootstrap)
        self._conf: dict[str, Any] = dict(settings.client_config())
        self._conf.update({
            "socket.connection.setup.timeout.ms": int(timeout_s * 1000),
            "error_cb": self._errors,
            "log_level": 0,  # errors reach error_cb and become ExternalError
        })
        self._admin: AdminClient | None = AdminClient(
            {**self._conf, "client.id": "streamscope-admin"})
        self._producer: Producer | None = None

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(min(self.timeout_s, 5.0))
        # Neither client has close(); dropping the last reference destroys the handle.
        self._producer = None
        self._admin = None

    def __enter__(self) -> ExternalAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------

    def _client(self) -> AdminClient:
        if self._admin is None:
            raise ExternalError("the admin client is closed")
        self._errors.clear()
        return self._admin

    def _result(self, future: Future, what: str) -> Any:
        """The future's value, or ExternalError with the cluster's reason. Waited for in
        short slices, so that failed authentication or TLS (reported through error_cb)
        ends the wait at once rather than at the timeout."""
        deadline = time.monotonic() + self.timeout_s + 1.0
        while True:
            try:
                return future.result(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                fatal = self._fatal(unreachable=False)
                if fatal is not None:
                    raise fatal from None
                if time.monotonic() >= deadline:
                    raise self._timeout(what) from None
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError) and err.code() in (
                        KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
                        KafkaError._ALL_BROKERS_DOWN):
                    # A dropped connection is the cluster's answer (it does not serve
                    # the request) unless the client could not get in at all.
                    fatal = self._fatal(unreachable=err.code() != KafkaError._TRANSPORT)
                    if fatal is not None:
                        raise fatal from None
                raise ExternalError(exception_reason(exc, what)) from None

    def _fatal(self, *, unreachable: bool = True) -> ExternalError | None:
        if self._admin is not None:
            self._admin.poll(0)  # delivers error_cb
        return self._errors.fatal(unreachable=unreachable)

    def _timeout(self, what: str) -> ExternalError:
        return self._fatal() or ExternalError(
            f"{what} timed out after {self.timeout_s:g} s on {self.settings.bootstrap}")

    @staticmethod
    def _check_partition_errors(tps: Iterable[TopicPartition], what: str) -> None:
        for tp in tps:
            if tp.error is not None:
                reason = error_reason(tp.error, what)
                if tp.error.code() == KafkaError.UNKNOWN_MEMBER_ID and what == "OffsetCommit":
                    reason += " (offsets can be reset only while the group has no members)"
                raise ExternalError(f"{tp.topic}-{tp.partition}: {reason}")

    # -- topics ------------------------------------------------------------------------

    def create_topic(self, name: str, partitions: int, replication_factor: int = -1,
                     configs: Mapping[str, str] | None = None) -> None:
        """Create ``name`` (CreateTopics); -1 replication factor = the cluster's default."""
        _check_name(name)
        if partitions < 1:
            raise ValueError(f"a topic needs at least 1 partition, not {partitions}")
        if replication_factor == 0 or replication_factor < -1:
            raise ValueError(f"replication factor {replication_factor} is not -1 or >= 1")
        topic = NewTopic(name, num_partitions=partitions,
                         replication_factor=replication_factor,
                         config={str(k): str(v) for k, v in (configs or {}).items()})
        futures = self._client().create_topics(
            [topic], operation_timeout=self.timeout_s, request_timeout=self.timeout_s)
        self._result(futures[name], "CreateTopics")

    def delete_topic(self, name: str) -> None:
        _check_name(name)
        futures = self._client().delete_topics(
            [name], operation_timeout=self.timeout_s, request_timeout=self.timeout_s)
        self._result(futures[name], "DeleteTopics")

    def add_partitions(self, name: str, total: int) -> None:
        """Grow ``name`` to ``total`` partitions (CreatePartitions)."""
        _check_name(name)
        if total < 1:
            raise ValueError(f"partition count {total} is not positive")
        futures = self._client().create_partitions(
            [NewPartitions(name, total)], operation_timeout=self.timeout_s,
            request_timeout=self.timeout_s)
        self._result(futures[name], "CreatePartitions")

    def alter_topic_configs(self, name: str, set_configs: Mapping[str, str],
                            delete: Iterable[str] = ()) -> None:
        """Set and remove topic config overrides (IncrementalAlterConfigs): the others
        are left as they are."""
        _check_name(name)
        entries = [ConfigEntry(str(k), str(v), incremental_operation=AlterConfigOpType.SET)
                   for k, v in set_configs.items()]
        entries += [ConfigEntry(str(k), None, incremental_operation=AlterConfigOpType.DELETE)
                    for k in delete]
        if not entries:
            return
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
        futures = self._client().incremental_alter_configs(
            [resource], request_timeout=self.timeout_s)
        for future in futures.values():
            self._result(future, "IncrementalAlterConfigs")

    # -- groups ------------------------------------------------------------------------

    def reset_offsets(self, group: str, to: str | int,
                      partitions: Iterable[tuple[str, int]] | None = None
                      ) -> dict[tuple[str, int], int]:
        """Commit ``group``'s offsets at ``to`` (module contract); returns them."""
        if not group:
            raise ValueError("the group id is empty")
        kind, value = _reset_target(to)
        admin = self._client()
        if partitions is None:
            listed = self._result(admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout_s)[group],
                "OffsetFetch")
            tps = sorted({(tp.topic, tp.partition) for tp in listed.topic_partitions or ()
                          if tp.error is None and tp.offset >= 0})
            if not tps:
                raise ExternalError(f"group {group!r} has no committed offsets to reset")
        else:
            tps = sorted(set(partitions))
            if not tps:
                return {}
        targets: dict[tuple[str, int], int]
        if kind == "offset":
            lows = self._list_offsets(tps, OffsetSpec.earliest())
            highs = self._list_offsets(tps, OffsetSpec.latest())
            targets = {tp: min(max(value, lows[tp]), highs[tp]) for tp in tps}
        elif kind == "timestamp":
            found = self._list_offsets(tps, OffsetSpec.for_timestamp(value))
            missing = [tp for tp, off in found.items() if off < 0]
            highs = self._list_offsets(missing, OffsetSpec.latest()) if missing else {}
            targets = {tp: (highs[tp] if found[tp] < 0 else found[tp]) for tp in tps}
        else:
            spec = OffsetSpec.earliest() if kind == "earliest" else OffsetSpec.latest()
            targets = self._list_offsets(tps, spec)
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(t, p, targets[(t, p)]) for t, p in tps])
        done = self._result(admin.alter_consumer_group_offsets(
            [request], request_timeout=self.timeout_s)[group], "OffsetCommit")
        self._check_partition_errors(done.topic_partitions or (), "OffsetCommit")
        return {(tp.topic, tp.partition): int(tp.offset) for tp in done.topic_partitions}

    def delete_group(self, group: str) -> None:
        if not group:
            raise ValueError("the group id is empty")
        futures = self._client().delete_consumer_groups([group], request_timeout=self.timeout_s)
        self._result(futures[group], "DeleteGroups")

    def _list_offsets(self, tps: Sequence[tuple[str, int]], spec: OffsetSpec
                      ) -> dict[tuple[str, int], int]:
        futures = self._client().list_offsets(
            {TopicPartition(t, p): spec for t, p in tps}, request_timeout=self.timeout_s)
        return {(tp.topic, tp.partition): int(self._result(f, "ListOffsets").offset)
                for tp, f in futures.items()}

    # -- records -----------------------------------------------------------------------

    def delete_records(self, topic: str, before: Mapping[int, int]) -> dict[int, int]:
        """Delete each partition's records below ``before[partition]`` (-1: the high
        watermark: all of them); returns the new log start offsets."""
        _check_name(topic)
        if not before:
            return {}
        for p, off in before.items():
            if off < -1:
                raise ValueError(f"partition {p}: offset {off} is not -1 or >= 0")
        futures = self._client().delete_records(
            [TopicPartition(topic, int(p), int(off)) for p, off in sorted(before.items())],
            request_timeout=self.timeout_s, operation_timeout=self.timeout_s)
        out = {}
        for tp, future in futures.items():
            try:
                deleted = self._result(future, "DeleteRecords")
            except ExternalError as exc:
                raise ExternalError(f"{topic}-{tp.partition}: {exc.reason}") from None
            out[tp.partition] = int(deleted.low_watermark)
        return out

    def produce(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                partition: int | None = None, headers: Sequence[tuple[str, bytes]] = (),
                timestamp_ms: int | None = None) -> tuple[int, int]:
        """Send one record and wait for its acknowledgement: (partition, offset)."""
        _check_name(topic)
        if self._admin is None:
            raise ExternalError("the admin client is closed")
        if self._producer is None:
            self._producer = Producer({
                **self._conf, "client.id": "streamscope-produce", "acks": "all",
                "linger.ms": 0, "message.timeout.ms": int(self.timeout_s * 1000),
                "allow.auto.create.topics": False,
            })
        self._errors.clear()
        outcome: list[tuple[KafkaError | None, Any]] = []
        kwargs: dict[str, Any] = {"value": value, "key": key,
                                  "on_delivery": lambda err, msg: outcome.append((err, msg))}
        if partition is not None:
            kwargs["partition"] = int(partition)
        if headers:
            kwargs["headers"] = [(str(k), v) for k, v in headers]
        if timestamp_ms is not None:
            kwargs["timestamp"] = int(timestamp_ms)
        try:
            self._producer.produce(topic, **kwargs)
        except KafkaException as exc:
            raise ExternalError(exception_reason(exc, "Produce")) from None
        except BufferError as exc:
            raise ExternalError(f"Produce: the send queue is full: {exc}") from None
        deadline = time.monotonic() + self.timeout_s + 2.0
        while not outcome:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timeout("Produce")
            self._producer.poll(min(0.2, left))
            fatal = self._errors.fatal(unreachable=False)
            if fatal is not None and not outcome:
                raise fatal
        err, msg = outcome[0]
        if err is not None:
            raise ExternalError(error_reason(err, "Produce"))
        return int(msg.partition()), int(msg.offset())


def _check_name(name: str) -> None:
    if not name:
        raise ValueError("the topic name is empty")
