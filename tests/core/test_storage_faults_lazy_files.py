"""Segment and index files are opened lazily and their descriptors stay bounded.

A new partition holds no descriptor until it is written or read; old segments' log
descriptors live in one bounded LRU and are reopened on demand; nothing about this may
cost a read, a recovery or an fsync its correctness.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from streamscope.core.broker import Broker
from streamscope.core.config import LogConfig
from streamscope.core.log import PartitionLog, segment
from streamscope.core.log.segment import CorruptSegmentError, Segment, open_segment_files
from streamscope.core.records import build_batch, iter_all_records, validate_batches


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def append_one(log: PartitionLog, value: bytes) -> int:
    data = bytearray(build_batch([(None, value)]))
    first, _last = log.append(data, validate_batches(data))
    return first


def values_of(log: PartitionLog, start: int, end: int) -> list[bytes]:
    out: list[bytes] = []
    offset = start
    while offset < end:
        chunk = log.read(offset, 1 << 20)
        recs = [r for r in iter_all_records(chunk) if r.offset >= offset]
        assert recs, f"nothing read at {offset}"
        out.extend(r.value or b"" for r in recs if r.offset < end)
        offset = recs[-1].offset + 1
    return out


async def test_two_thousand_new_partitions_hold_no_descriptors_until_written(
    broker: Broker,
) -> None:
    before = open_fds()
    for t in range(20):
        broker.create_topic(f"flood-{t}", 100)
    created = open_fds()
    # Three per partition eagerly would be 6,000; lazily a new partition holds none.
    assert created - before < 50, f"{created - before} descriptors for 2,000 new partitions"
    for t in range(20):
        for p in range(100):
            broker.produce(f"flood-{t}", p, build_batch([(None, f"{t}/{p}".encode())]))
    written = open_fds()
    assert open_segment_files() <= segment.MAX_OPEN_SEGMENTS
    assert written - before <= segment.MAX_OPEN_SEGMENTS + 50
    # Every partition still reads back, including those whose descriptor was evicted.
    for t in range(20):
        for p in range(100):
            data = broker.fetch(f"flood-{t}", p, 0, 1 << 20).records
            assert [r.value for r in iter_all_records(data)] == [f"{t}/{p}".encode()]
    assert open_fds() - before <= segment.MAX_OPEN_SEGMENTS + 50


def test_old_segments_read_back_after_their_descriptors_were_evicted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segment, "MAX_OPEN_SEGMENTS", 3)
    cfg = LogConfig(segment_bytes=400, index_interval_bytes=128)
    logs = [PartitionLog.open(tmp_path / f"p{i}", cfg) for i in range(3)]
    try:
        for n in range(60):
            for i, log in enumerate(logs):
                append_one(log, f"{i}-{n}".encode() * 5)
        assert all(log.segment_count > 10 for log in logs)
        assert open_segment_files() <= 3
        for i, log in enumerate(logs):
            assert values_of(log, 0, log.log_end_offset) == [
                f"{i}-{n}".encode() * 5 for n in range(60)
            ]
            assert open_segment_files() <= 3
        # Reads from the middle of an old segment find their batch again after reopening.
        assert values_of(logs[1], 31, 33) == [b"1-31" * 5, b"1-32" * 5]
    finally:
        for log in logs:
            log.close()
    assert open_segment_files() == 0


def test_a_reopened_log_recovers_its_torn_tail_with_lazy_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segment, "MAX_OPEN_SEGMENTS", 2)
    cfg = LogConfig(segment_bytes=500, index_interval_bytes=100)
    log = PartitionLog.open(tmp_path / "p", cfg)
    for n in range(40):
        append_one(log, b"v%d" % n)
    segments = log.segment_count
    log.close()
    newest = sorted((tmp_path / "p").glob("*.log"))[-1]
    with newest.open("ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x28half a batch")  # a torn append
    log = PartitionLog.open(tmp_path / "p", cfg)
    try:
        assert log.segment_count == segments
        assert log.log_end_offset == 40
        assert values_of(log, 0, 40) == [b"v%d" % n for n in range(40)]
        assert append_one(log, b"after") == 40
    finally:
        log.close()


def test_a_new_segment_creates_its_file_but_keeps_no_descriptor(tmp_path: Path) -> None:
    before = open_fds()
    segs = [Segment.create(tmp_path, base) for base in range(0, 300, 10)]
    try:
        assert open_fds() == before
        assert all(s.log_path.exists() and not s.is_open for s in segs)
        # Index files appear only when there is something to write in them.
        assert not list(tmp_path.glob("*.index"))
    finally:
        for s in segs:
            s.close()


def test_an_evicted_segment_with_unsynced_writes_is_reopened_for_its_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segment, "MAX_OPEN_SEGMENTS", 1)
    a = Segment.create(tmp_path, 0)
    b = Segment.create(tmp_path, 1000)
    try:
        data = bytearray(build_batch([(None, b"x")]))
        a.append(data, validate_batches(data), 4096, 0.0)
        data = bytearray(build_batch([(None, b"y")]))
        b.append(data, validate_batches(data), 4096, 0.0)  # evicts a, unsynced
        assert not a.is_open
        dups = a.dup_fds()
        assert len(dups) == 1
        try:
            assert os.path.samefile(f"/proc/self/fd/{dups[0]}", a.log_path)
        finally:
            for fd in dups:
                os.close(fd)
        assert a.dup_fds() == []  # synced now: nothing more to do while it is closed
        b.datasync()
    finally:
        a.close()
        b.close()


def test_garbage_inside_an_older_segment_is_reported_not_cut(tmp_path: Path) -> None:
    cfg = LogConfig(segment_bytes=400, index_interval_bytes=100)
    log = PartitionLog.open(tmp_path / "p", cfg)
    for n in range(30):
        append_one(log, b"record-%02d" % n)
    log.close()
    oldest = sorted((tmp_path / "p").glob("*.log"))[0]
    raw = bytearray(oldest.read_bytes())
    size = len(raw)
    raw[size // 2 : size // 2 + 8] = b"GARBAGE!"
    oldest.write_bytes(raw)
    with pytest.raises(CorruptSegmentError) as info:
        Segment.open_existing(tmp_path / "p", 0, 100, last=False)
    assert info.value.path == oldest
    assert 0 < info.value.position <= size // 2
    assert oldest.stat().st_size == size  # nothing was cut away
    assert open_segment_files() == 0  # the failed open left no descriptor behind


def test_syncing_from_another_thread_while_appends_evict_descriptors_is_safe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flusher thread syncs segments whose descriptors the owner's appends keep
    evicting and reopening: no EBADF, no fsync of a stranger's descriptor, data whole."""
    monkeypatch.setattr(segment, "MAX_OPEN_SEGMENTS", 2)
    segs = [Segment.create(tmp_path, base * 1_000_000) for base in range(6)]
    errors: list[BaseException] = []
    done = threading.Event()

    def syncer() -> None:
        try:
            while not done.is_set():
                for s in segs:
                    s.datasync()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    t = threading.Thread(target=syncer)
    t.start()
    try:
        for n in range(25):
            for s in segs:
                data = bytearray(build_batch([(None, b"%d" % n)]))
                s.append(data, validate_batches(data), 4096, 0.0)
    finally:
        done.set()
        t.join(30)
    try:
        assert errors == []
        for s in segs:
            assert [r.value for r in iter_all_records(s.read(0, s.size))] == [
                b"%d" % n for n in range(25)
            ]
            assert s.log_path.stat().st_size == s.size
    finally:
        for s in segs:
            s.close()
