"""A failing disk under a real broker and real clients (issue 13, "Crash and fault tests").

The broker runs on its own thread with a listener on 127.0.0.1 (``BrokerThread``); its
data lives in a tmp dir; faults come from ``core.log.files.FaultyFiles`` installed as the
file layer (a module global, so the broker thread sees it). Producers are confluent-kafka
clients over sockets. What must hold: a producer gets KAFKA_STORAGE_ERROR (or, retrying,
its records once the disk works again), never a corrupt log or a crashed broker; the
failure is logged once per episode with the partition and the reason, told as a
``storage`` event and kept in ``Partition.storage_error``; the broker recovers by itself
when writes succeed again, with dense offsets. A segment found corrupt or unreadable at
start-up takes only its partition offline.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError as ClientError
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.config import BrokerConfig, FsyncPolicy
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import files
from streamscope.core.log.files import FaultyFiles
from streamscope.core.records import build_batch, iter_all_records, iter_batches
from streamscope.core.runtime import BrokerThread

from tests.core.helpers import WAIT_S

TOPIC = "orders"


def wait_until(cond: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll ``cond`` (from this test thread); the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def start_broker(data: Path, fsync: FsyncPolicy = "interval") -> BrokerThread:
    cfg = BrokerConfig(host="127.0.0.1", port=0, data_dir=data, fsync=fsync)
    return BrokerThread(cfg).start()


@pytest.fixture
def faulty() -> Iterator[FaultyFiles]:
    with files.installed(FaultyFiles()) as ff:
        yield ff


def create_topic(bt: BrokerThread, name: str = TOPIC, partitions: int = 1,
                 configs: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bt.bootstrap})
    new = NewTopic(name, partitions, 1, config=configs or {})
    admin.create_topics([new])[name].result(timeout=30)


class Reports:
    """Delivery reports of one producer: (error code or None, partition, offset, value)."""

    def __init__(self) -> None:
        self.items: list[tuple[int | None, int, int, bytes]] = []

    def __call__(self, err: ClientError | None, msg: Message) -> None:
        self.items.append((None if err is None else err.code(), msg.partition(),
                           msg.offset(), msg.value()))

    def acked(self) -> dict[bytes, int]:
        return {v: off for code, _p, off, v in self.items if code is None}

    def errors(self) -> list[int]:
        return [code for code, *_ in self.items if code is not None]


def send(producer: Producer, reports: Reports, values: list[bytes], partition: int = 0) -> None:
    for v in values:
        producer.produce(TOPIC, v, partition=partition, on_delivery=reports)
    assert producer.flush(60) == 0


def stored(bt: BrokerThread, topic: str = TOPIC, partition: int = 0) -> list[tuple[int, bytes]]:
    """Every record of the partition, read in the broker, offsets checked dense."""
    def read() -> bytes:
        log = bt.broker.partition(topic, partition).log
        return log.read(log.log_start_offset, 1 << 30) if log.log_end_offset else b""
    recs = [(r.offset, r.value or b"") for r in iter_all_records(bt.call(read))]
    assert [o for o, _ in recs] == list(range(len(recs))), "offsets must be dense"
    return recs


def storage_logs(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR and needle in r.getMessage()]


def storage_events(bt: BrokerThread) -> list[tuple[str, dict]]:
    return bt.call(lambda: [(e.message, dict(e.data)) for e in bt.broker.events
                            if e.kind == "storage"])


def assert_whole_batches(path: Path) -> None:
    raw = path.read_bytes()
    end = sum(h.batch_length + 12 for h, _ in iter_batches(raw))
    assert end == len(raw), f"{path.name}: {len(raw) - end} stray bytes after the last batch"


def test_a_full_disk_answers_storage_error_once_logged_and_the_broker_recovers_by_itself(
    tmp_path: Path, faulty: FaultyFiles, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    bt = start_broker(tmp_path / "data")
    try:
        create_topic(bt)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0, "retries": 0,
                             "enable.idempotence": False, "acks": "all"})
        reports = Reports()
        send(producer, reports, [b"before-%d" % i for i in range(5)])
        faulty.fail_next("write", errno.ENOSPC, times=None, path_contains=f"{TOPIC}-0")
        send(producer, reports, [b"refused-%d" % i for i in range(4)])
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR] * 4
        reason = bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error)
        assert reason is not None and "No space left on device" in reason
        # Logged once for the episode, with the partition and the reason; told once.
        logged = storage_logs(caplog, f"{TOPIC}-0")
        assert len(logged) == 1 and "No space left on device" in logged[0]
        events = storage_events(bt)
        assert len(events) == 1
        assert events[0][1]["topic"] == TOPIC and events[0][1]["partition"] == 0
        assert bt.call(lambda: bt.broker.partition(TOPIC, 0).log.log_end_offset) == 5

        faulty.heal()  # space again: the next write succeeds, nothing else needed
        send(producer, reports, [b"after-%d" % i for i in range(5)])
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR] * 4
        assert bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error) is None
        assert [v for _o, v in stored(bt)] == (
            [b"before-%d" % i for i in range(5)] + [b"after-%d" % i for i in range(5)])
        assert sorted(reports.acked().values()) == list(range(10))
        assert len(storage_events(bt)) == 2  # ... and "works again"
        assert len(storage_logs(caplog, f"{TOPIC}-0")) == 1
    finally:
        bt.stop()
    assert_whole_batches(tmp_path / "data" / f"{TOPIC}-0" / "00000000000000000000.log")


def test_a_retrying_idempotent_producer_gets_every_record_once_after_the_disk_heals(
    tmp_path: Path, faulty: FaultyFiles,
) -> None:
    bt = start_broker(tmp_path / "data")
    try:
        create_topic(bt)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 2,
                             "enable.idempotence": True, "acks": "all",
                             "retry.backoff.ms": 20})
        reports = Reports()
        faulty.fail_next("write", errno.EIO, times=None, path_contains=f"{TOPIC}-0")
        for i in range(50):
            producer.produce(TOPIC, b"r-%d" % i, partition=0, on_delivery=reports)
        producer.poll(0)
        wait_until(lambda: faulty.injected["write"] >= 3, timeout=30)
        wait_until(lambda: bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error)
                   is not None, timeout=30)
        faulty.heal()
        assert producer.flush(60) == 0
        assert reports.errors() == []
        assert stored(bt) == [(i, b"r-%d" % i) for i in range(50)]  # once each, in order
        assert reports.acked() == {b"r-%d" % i: i for i in range(50)}
        wait_until(lambda: bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error)
                   is None, timeout=30)
    finally:
        bt.stop()


def test_a_short_write_then_a_full_disk_leaves_no_partial_batch(
    tmp_path: Path, faulty: FaultyFiles,
) -> None:
    bt = start_broker(tmp_path / "data")
    try:
        create_topic(bt)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0, "retries": 0,
                             "enable.idempotence": False})
        reports = Reports()
        send(producer, reports, [b"first"])
        faulty.short_write_next(path_contains=f"{TOPIC}-0")
        faulty.fail_next("write", errno.ENOSPC, path_contains=f"{TOPIC}-0")
        send(producer, reports, [b"x" * 3000])
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR]
        send(producer, reports, [b"second"])
        assert stored(bt) == [(0, b"first"), (1, b"second")]
    finally:
        bt.stop()
    assert_whole_batches(tmp_path / "data" / f"{TOPIC}-0" / "00000000000000000000.log")


def test_a_failed_fsync_in_always_mode_refuses_the_ack_and_the_next_sync_recovers(
    tmp_path: Path, faulty: FaultyFiles, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    bt = start_broker(tmp_path / "data", fsync="always")
    try:
        create_topic(bt)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0, "retries": 0,
                             "enable.idempotence": False, "acks": "all"})
        reports = Reports()
        send(producer, reports, [b"durable-0"])
        faulty.fail_next("fsync", errno.EIO, times=None, path_contains=f"{TOPIC}-0")
        send(producer, reports, [b"not-durable"])
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR]
        reason = bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error)
        assert reason is not None and "Input/output error" in reason
        assert len(storage_logs(caplog, f"{TOPIC}-0")) == 1
        faulty.heal()
        send(producer, reports, [b"durable-1"])
        acked = reports.acked()
        assert set(acked) == {b"durable-0", b"durable-1"}
        wait_until(lambda: bt.call(lambda: bt.broker.partition(TOPIC, 0).storage_error)
                   is None, timeout=30)
        recs = stored(bt)  # dense; the refused record may be there, but only once
        assert [v for _o, v in recs].count(b"not-durable") <= 1
        for value, offset in acked.items():
            assert (offset, value) in recs
    finally:
        bt.stop()


def test_a_failing_read_answers_storage_error_and_reads_work_once_healed(
    tmp_path: Path, faulty: FaultyFiles,
) -> None:
    bt = start_broker(tmp_path / "data")
    try:
        create_topic(bt)
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0})
        reports = Reports()
        send(producer, reports, [b"v%d" % i for i in range(10)])
        faulty.fail_next("pread", errno.EIO, times=None, path_contains=f"{TOPIC}-0")

        def fetch() -> ErrorCode | None:
            try:
                bt.broker.fetch(TOPIC, 0, 3, 1 << 20)
            except KafkaError as exc:
                return exc.code
            return None

        assert bt.call(fetch) == ErrorCode.KAFKA_STORAGE_ERROR
        faulty.heal()
        assert bt.call(fetch) is None
        assert [v for _o, v in stored(bt)] == [b"v%d" % i for i in range(10)]
    finally:
        bt.stop()


def _fill_two_partitions(data: Path) -> None:
    bt = start_broker(data)
    try:
        create_topic(bt, partitions=2, configs={"segment.bytes": "2000"})
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0})
        reports = Reports()
        for p in (0, 1):
            for i in range(60):  # one batch each: many small segments
                send(producer, reports, [b"p%d-%03d-" % (p, i) + b"x" * 100], p)
        assert reports.errors() == []
    finally:
        bt.stop()


def test_a_segment_corrupt_in_its_middle_takes_only_its_partition_offline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    data = tmp_path / "data"
    _fill_two_partitions(data)
    segments = sorted((data / f"{TOPIC}-0").glob("*.log"))
    assert len(segments) > 2
    old = segments[1]
    raw = bytearray(old.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 16] = b"\xde\xad\xbe\xef" * 4  # bit rot, not a tear
    old.write_bytes(raw)
    bt = start_broker(data)
    try:
        offline = bt.call(lambda: bt.broker.topics[TOPIC].partitions[0].offline)
        assert offline is not None and old.name in offline
        assert old.stat().st_size == len(raw)  # nothing cut away: the records after it stay
        logged = storage_logs(caplog, f"{TOPIC}-0")
        assert len(logged) == 1 and "offline" in logged[0]
        assert any(d.get("offline") for _m, d in storage_events(bt))
        producer = Producer({"bootstrap.servers": bt.bootstrap, "linger.ms": 0, "retries": 0,
                             "enable.idempotence": False})
        reports = Reports()
        send(producer, reports, [b"to-the-offline-one"], partition=0)
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR]
        send(producer, reports, [b"p1-more"], partition=1)  # the other partition serves
        assert reports.errors() == [ClientError.KAFKA_STORAGE_ERROR]
        recs = stored(bt, partition=1)
        assert len(recs) == 61 and recs[-1][1] == b"p1-more"
    finally:
        bt.stop()


def test_a_segment_unreadable_at_start_up_takes_only_its_partition_offline(
    tmp_path: Path, faulty: FaultyFiles,
) -> None:
    data = tmp_path / "data"
    _fill_two_partitions(data)
    faulty.fail_next("pread", errno.EIO, times=None, path_contains=f"{TOPIC}-1/")
    bt = start_broker(data)
    try:
        offline = bt.call(lambda: bt.broker.topics[TOPIC].partitions[1].offline)
        assert offline is not None and "Input/output error" in offline
        faulty.heal()  # the partition stays offline until a restart: it was never opened
        assert len(stored(bt, partition=0)) == 60
        with pytest.raises(KafkaError) as info:
            bt.call(lambda: bt.broker.partition(TOPIC, 1))
        assert info.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    finally:
        bt.stop()
    bt = start_broker(data)  # the disk works again: so does the partition
    try:
        assert len(stored(bt, partition=1)) == 60
    finally:
        bt.stop()


def test_an_in_process_produce_to_a_failing_disk_raises_storage_error(
    tmp_path: Path, faulty: FaultyFiles,
) -> None:
    bt = start_broker(tmp_path / "data")
    try:
        bt.call(lambda: bt.broker.create_topic(TOPIC, 1))
        faulty.fail_next("write", errno.ENOSPC, path_contains=f"{TOPIC}-0")

        def produce() -> int:
            return bt.broker.produce(TOPIC, 0, build_batch([(None, b"x")]))[0]

        with pytest.raises(KafkaError) as info:
            bt.call(produce)
        assert info.value.code == ErrorCode.KAFKA_STORAGE_ERROR
        assert bt.call(produce) == 0
    finally:
        bt.stop()
