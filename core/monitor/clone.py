"""Clone an external cluster's topics (and optionally their newest records) into the
sandbox: the embedded broker, so a user can experiment on a copy (issue 15).

Contract:

* :func:`clone_to_sandbox` BLOCKS (network round trips; callers run it in a worker
  thread). It reads the source through :class:`ExternalObserver` (Metadata,
  DescribeConfigs, ListOffsets; no group requests) and a confluent-kafka ``Consumer``
  that only assigns and seeks (never joins a group, never commits), and writes the
  target, ``target_bootstrap`` (the embedded broker's PLAINTEXT listener, or any
  cluster reachable so), through :class:`ExternalAdmin` and an idempotent ``Producer``.
  Nothing is ever written to the source.
* Each topic (``topics``: those names, else every topic the source has but Kafka's
  internal ``__*`` ones) is created on the target with the same name and partition
  count, replication factor the target's default, and the source's config overrides
  that the target accepts: the overrides are what
  :func:`core.monitor.external.topic_overrides` says (the DYNAMIC_TOPIC_CONFIG entries;
  all of a partial list such as Tansu 0.6.0's). The target decides what it accepts: CreateTopics with ``validate_only`` checks them, and
  each one it refuses is skipped with its error as the why. ``min.insync.replicas``
  above 1 is skipped too (on one broker acks=all would then be refused). A topic that
  exists on the target already, or that the target refuses, is skipped whole
  (``CloneReport.skipped_topics``, with why) and none of its records are copied; a named
  topic the source does not have is skipped so too.
* With ``last_n`` > 0, each partition's newest ``last_n`` records (from
  ``max(log start, high watermark - last_n)`` to the high watermark as the clone
  started) are produced to the same partition of the target with the same key, value,
  headers and timestamp (CreateTime), in offset order. Offsets are NOT kept: the copy
  starts at offset 0 (a log cannot start elsewhere through the produce API). Control
  records (transaction markers) are not copied (a consumer never sees them).
* ``progress`` is called (on the calling thread) after each topic is created or
  skipped and after each partition's records are copied, with a
  :class:`CloneProgress`. ``cancel`` (a ``threading.Event``) is checked between topics,
  partitions and record batches: a cancelled clone stops there, waits for what it has
  produced to be acknowledged, and returns the report so far with ``cancelled`` True.
* Failures raise :class:`ExternalError` (one line): the source or the target cannot be
  reached, authentication failed, a record could not be copied (the cluster's error).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.external_conn import (
    ClientErrors,
    ExternalError,
    ExternalSettings,
    error_reason,
    exception_reason,
)
from streamscope.core.monitor.external import ExternalObserver, topic_overrides
from streamscope.core.monitor.snapshot import TopicSnapshot

__all__ = ["CloneProgress", "CloneReport", "clone_to_sandbox"]

_POLL_S = 0.2
_BATCH = 500


@dataclass(frozen=True)
class CloneProgress:
    topic: str
    done_topics: int
    total_topics: int
    records_copied: int


@dataclass(frozen=True)
class CloneReport:
    topics: tuple[str, ...]  # created on the target, in the order cloned
    records: int  # records copied
    skipped_configs: tuple[tuple[str, str, str], ...]  # (topic, config, why)
    skipped_topics: tuple[tuple[str, str], ...]  # (topic, why), e.g. exists already
    cancelled: bool = False


def clone_to_sandbox(source: ExternalSettings, target_bootstrap: str, *,
                     topics: Iterable[str] | None = None, last_n: int = 0,
                     progress: Callable[[CloneProgress], None] | None = None,
                     cancel: threading.Event | None = None,
                     timeout_s: float = 30.0) -> CloneReport:
    """Copy topics (and their newest ``last_n`` records per partition) from ``source``
    into the sandbox at ``target_bootstrap`` (module contract)."""
    if last_n < 0:
        raise ValueError(f"last_n {last_n} is negative")
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    target = ExternalSettings(target_bootstrap)
    cancel = cancel or threading.Event()
    with ExternalObserver(source, timeout_s=timeout_s, client_id="streamscope-clone") as obs:
        snap = obs.snapshot(groups=())
        configs = _source_configs(obs, [t.name for t in snap.topics])
    by_name = {t.name: t for t in snap.topics}
    names = sorted(by_name) if topics is None else list(dict.fromkeys(topics))
    job = _Clone(source, target, timeout_s, cancel, progress, len(names))
    try:
        existing = job.target_topics()
        for name in names:
            if cancel.is_set():
                break
            topic = by_name.get(name)
            if topic is None:
                job.skip_topic(name, "not on the source cluster")
            elif name in existing:
                job.skip_topic(name, "exists already in the sandbox")
            elif job.create(topic, configs.get(name, {})) and last_n > 0:
                job.copy(topic, last_n)
            job.done_topic(name)
    finally:
        job.close()
    return CloneReport(tuple(job.created), job.records, tuple(job.skipped_configs),
                       tuple(job.skipped_topics), cancel.is_set())


def _source_configs(obs: ExternalObserver, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's overrides on the source (:func:`topic_overrides`), by name."""
    if not names:
        return {}
    return {name: topic_overrides(entries)
            for name, entries in obs.topic_configs(names).items()}


class _Clone:
    """The target side of one clone, and its running report."""

    def __init__(self, source: ExternalSettings, target: ExternalSettings, timeout_s: float,
                 cancel: threading.Event, progress: Callable[[CloneProgress], None] | None,
                 total: int) -> None:
        self.source, self.target, self.timeout_s = source, target, timeout_s
        self.cancel, self.progress, self.total = cancel, progress, total
        self.created: list[str] = []
        self.skipped_configs: list[tuple[str, str, str]] = []
        self.skipped_topics: list[tuple[str, str]] = []
        self.records = 0
        self.done = 0
        self.errors = ClientErrors(target.bootstrap)
        conf: dict[str, Any] = {**target.client_config(), "error_cb": self.errors,
                                "log_level": 0,
                                "socket.connection.setup.timeout.ms": int(timeout_s * 1000)}
        self.admin = AdminClient({**conf, "client.id": "streamscope-clone"})
        self.producer = Producer({**conf, "client.id": "streamscope-clone",
                                  "enable.idempotence": True, "linger.ms": 5,
                                  "message.timeout.ms": int(timeout_s * 1000)})

    def close(self) -> None:
        self.producer.flush(self.timeout_s)

    def report(self, topic: str) -> None:
        if self.progress is not None:
            self.progress(CloneProgress(topic, self.done, self.total, self.records))

    def skip_topic(self, name: str, why: str) -> None:
        self.skipped_topics.append((name, why))

    def done_topic(self, name: str) -> None:
        self.done += 1
        self.report(name)

    def target_topics(self) -> set[str]:
        try:
            md = self.admin.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            self.admin.poll(0)
            fatal = self.errors.fatal()
            raise fatal or ExternalError(
                f"cannot reach the sandbox at {self.target.bootstrap}: "
                f"{exception_reason(exc, 'Metadata')}") from None
        return set(md.topics)

    def _create(self, topic: TopicSnapshot, configs: dict[str, str], *, validate: bool
                ) -> KafkaError | None:
        new = NewTopic(topic.name, num_partitions=topic.partition_count,
                       replication_factor=-1, config=configs)
        future = self.admin.create_topics([new], validate_only=validate,
                                          request_timeout=self.timeout_s,
                                          operation_timeout=self.timeout_s)[topic.name]
        try:
            future.result(timeout=self.timeout_s + 1)
            return None
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() not in (
                    KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
                return err
            raise ExternalError(exception_reason(exc, "CreateTopics")) from None

    def create(self, topic: TopicSnapshot, configs: dict[str, str]) -> bool:
        """Create ``topic`` with the configs the target accepts; False if skipped."""
        configs = dict(configs)
        mir = configs.get("min.insync.replicas")
        if mir is not None and mir.strip() != "1":
            del configs["min.insync.replicas"]
            self.skipped_configs.append((
                topic.name, "min.insync.replicas",
                f"{mir} on the one-broker sandbox would refuse every acks=all produce"))
        err = self._create(topic, configs, validate=True)
        if err is not None and err.code() in (KafkaError.INVALID_CONFIG,
                                              KafkaError.POLICY_VIOLATION):
            for key in sorted(configs):
                alone = self._create(topic, {key: configs[key]}, validate=True)
                if alone is not None and alone.code() in (KafkaError.INVALID_CONFIG,
                                                          KafkaError.POLICY_VIOLATION):
                    self.skipped_configs.append(
                        (topic.name, key, error_reason(alone, "CreateTopics")))
                    del configs[key]
            err = self._create(topic, configs, validate=True)
        if err is None:
            err = self._create(topic, configs, validate=False)
        if err is not None:
            why = ("exists already in the sandbox" if err.code() == KafkaError.TOPIC_ALREADY_EXISTS
                   else error_reason(err, "CreateTopics"))
            self.skip_topic(topic.name, why)
            return False
        self.created.append(topic.name)
        return True

    def copy(self, topic: TopicSnapshot, last_n: int) -> None:
        """The newest ``last_n`` records of each partition, produced to the target."""
        ranges = {p.index: (max(p.log_start_offset, p.high_watermark - last_n),
                            p.high_watermark) for p in topic.partitions}
        conf: dict[str, Any] = {**self.source.client_config(),
                                "group.id": f"streamscope-clone-{uuid.uuid4().hex}",
                                "client.id": "streamscope-clone",
                                "enable.auto.commit": False,
                                "enable.auto.offset.store": False,
                                "enable.partition.eof": True,
                                "isolation.level": "read_uncommitted",
                                "auto.offset.reset": "earliest",
                                "log_level": 0}
        consumer = Consumer(conf)
        try:
            for p, (start, stop) in sorted(ranges.items()):
                if self.cancel.is_set():
                    return
                if start < stop:
                    self._copy_partition(consumer, topic.name, p, start, stop)
                self._flush(topic.name)  # acknowledged before it is reported
                self.report(topic.name)
        finally:
            consumer.close()

    def _copy_partition(self, consumer: Consumer, topic: str, p: int, start: int,
                        stop: int) -> None:
        consumer.assign([TopicPartition(topic, p, start)])
        quiet_until = time.monotonic() + self.timeout_s
        pos = start
        try:
            while pos < stop and not self.cancel.is_set():
                try:
                    msgs = consumer.consume(_BATCH, timeout=_POLL_S)
                except KafkaException as exc:
                    raise ExternalError(exception_reason(exc, "Fetch")) from None
                if not msgs:
                    if time.monotonic() > quiet_until:
                        raise ExternalError(
                            f"no records of {topic}-{p} arrived within {self.timeout_s:g} s "
                            f"(at offset {pos} of {stop})")
                    continue
                quiet_until = time.monotonic() + self.timeout_s
                for m in msgs:
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            pos = stop
                            break
                        raise ExternalError(error_reason(err, "Fetch"))
                    if m.offset() < pos:
                        continue
                    if m.offset() >= stop:
                        pos = stop
                        break
                    pos = m.offset() + 1
                    self._produce(topic, p, m)
        finally:
            consumer.unassign()

    def _produce(self, topic: str, p: int, m: Any) -> None:
        kwargs: dict[str, Any] = {"partition": p, "key": m.key(), "value": m.value(),
                                  "timestamp": m.timestamp()[1],
                                  "on_delivery": self._delivered}
        if m.headers():
            kwargs["headers"] = m.headers()
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                break
            except BufferError:
                self.producer.poll(0.1)  # the queue is full: let acknowledgements drain
        self.producer.poll(0)
        self._raise_failed()

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        if err is None:
            self.records += 1
        else:
            self._failed = error_reason(err, "Produce")

    _failed: str | None = None

    def _raise_failed(self) -> None:
        if self._failed is not None:
            raise ExternalError(f"copying records to the sandbox failed: {self._failed}")

    def _flush(self, topic: str) -> None:
        left = self.producer.flush(self.timeout_s)
        self._raise_failed()
        if left:
            raise ExternalError(f"{left} records of {topic} were not acknowledged by the "
                                f"sandbox within {self.timeout_s:g} s")
