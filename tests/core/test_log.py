"""PartitionLog behaviour on real files: append, read, roll, retention, timestamps, deletes."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import CHECKPOINT_NAME, PartitionLog
from streamscope.core.records import build_batch, iter_all_records, iter_batches, validate_batches

NEVER = 10**15  # ms (~31,000 years): no time-based roll or retention in a test


def cfg(**kw) -> LogConfig:
    base = dict(segment_ms=NEVER, retention_ms=-1, index_interval_bytes=256)
    base.update(kw)
    return LogConfig(**base)


def produce(log: PartitionLog, *batches: bytes) -> tuple[int, int]:
    """Append as the broker does: validate, copy into a bytearray, append."""
    data = bytearray(b"".join(batches))
    return log.append(data, validate_batches(data))


def batch_of(n: int, tag: str = "v", ts: int = 1_000, size: int = 10) -> bytes:
    return build_batch(
        [(f"k{i}".encode(), f"{tag}{i}".encode().ljust(size, b"."), [], ts + i) for i in range(n)]
    )


def all_records(log: PartitionLog) -> list[tuple[int, bytes | None]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        assert data, f"nothing read at {offset}"
        records = [r for r in iter_all_records(data) if r.offset >= offset]
        out.extend((r.offset, r.value) for r in records)
        offset = records[-1].offset + 1
    return out


def active_file_size(log: PartitionLog) -> int:
    base = log.segment_infos()[-1].base_offset
    return os.path.getsize(log.directory / f"{base:020d}.log")


@pytest.fixture
def log(tmp_path: Path):
    plog = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    yield plog
    plog.close()


def test_a_new_log_is_empty_at_offset_zero(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "new" / "t-0", cfg())
    assert (plog.log_start_offset, plog.log_end_offset, plog.size_bytes) == (0, 0, 0)
    assert plog.segment_count == 1
    assert plog.read(0, 100) == b""
    assert (tmp_path / "new" / "t-0" / f"{0:020d}.log").exists()
    plog.close()


def test_append_assigns_offsets_and_patches_batches_in_place(log: PartitionLog) -> None:
    data = bytearray(batch_of(3) + batch_of(2))
    headers = validate_batches(data)
    assert log.append(data, headers) == (0, 4)
    data2 = bytearray(batch_of(4))
    assert log.append(data2, validate_batches(data2)) == (5, 8)
    assert [h.base_offset for h in headers] == [0, 3]
    # The caller's buffer now holds exactly what was stored (offsets, leader epoch 0).
    stored = log.read(5, 1 << 20)
    assert stored == bytes(data2)
    assert [h.partition_leader_epoch for h, _ in iter_batches(stored)] == [0]
    assert log.log_end_offset == 9
    assert log.size_bytes == len(data) + len(data2)
    assert [o for o, _ in all_records(log)] == list(range(9))


def test_read_returns_the_whole_batch_containing_the_offset(log: PartitionLog) -> None:
    for i in range(20):
        produce(log, batch_of(5, tag=f"b{i}-"))
    for offset in range(100):
        data = log.read(offset, 1)
        [(h, _view)] = list(iter_batches(data))
        assert h.base_offset <= offset <= h.last_offset
        assert h.base_offset == offset - offset % 5


def test_read_respects_max_bytes_in_whole_batches(log: PartitionLog) -> None:
    sizes = []
    for i in range(50):
        b = batch_of(1 + i % 4, size=20 + 13 * i)
        sizes.append(len(b))
        produce(log, b)
    for max_bytes in (1, 100, 500, 1000, 5000, 10**9):
        data = log.read(0, max_bytes)
        n = len(list(iter_batches(data)))
        expected = 1
        while expected < len(sizes) and sum(sizes[: expected + 1]) <= max_bytes:
            expected += 1
        assert n == expected
        assert len(data) == sum(sizes[:n])


def test_read_returns_one_batch_even_if_larger_than_max_bytes(log: PartitionLog) -> None:
    big = batch_of(1, size=100_000)
    produce(log, batch_of(1), big, batch_of(1))
    data = log.read(1, 10)
    assert data == log.read(1, len(big))
    assert len(data) == len(big)


def test_offsets_outside_the_log_are_out_of_range(log: PartitionLog) -> None:
    produce(log, batch_of(3))
    assert log.read(3, 100) == b""
    for bad in (-1, 4, 1000):
        with pytest.raises(KafkaError) as exc:
            log.read(bad, 100)
        assert exc.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    log.delete_records(2)
    with pytest.raises(KafkaError) as exc:
        log.read(1, 100)
    assert exc.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    # Reading at the log start returns the batch that contains it (consumers skip below).
    assert [r.offset for r in iter_all_records(log.read(2, 100))] == [0, 1, 2]


def test_bad_input_is_refused_and_leaves_the_log_unchanged(log: PartitionLog) -> None:
    produce(log, batch_of(2))
    before = (log.log_end_offset, log.size_bytes, active_file_size(log))
    good = batch_of(1)
    flipped = bytearray(good)
    flipped[-1] ^= 1
    old_magic = bytearray(good)
    old_magic[16] = 1
    for bad in (
        bytes(flipped),
        bytes(old_magic),
        good[:-1],
        b"",
        build_batch([(b"k", b"v")], base_offset=9),
    ):
        with pytest.raises(KafkaError):
            produce(log, bad)
    with pytest.raises(KafkaError) as exc:
        data = bytearray(batch_of(1, size=5000))
        log.append(data, validate_batches(data, max_batch_bytes=1000))
    assert exc.value.code == ErrorCode.MESSAGE_TOO_LARGE
    assert (log.log_end_offset, log.size_bytes, active_file_size(log)) == before


def test_segments_roll_by_size(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_bytes=1000))
    one = batch_of(2, size=100)
    per_segment = 1000 // len(one)
    for _ in range(per_segment * 3):
        produce(plog, one)
    infos = plog.segment_infos()
    assert len(infos) == 3
    assert all(info.size_bytes == per_segment * len(one) for info in infos)
    assert [info.base_offset for info in infos] == [0, 2 * per_segment, 4 * per_segment]
    assert sorted(p.name for p in (tmp_path / "t-0").iterdir() if p.suffix == ".log") == [
        f"{info.base_offset:020d}.log" for info in infos
    ]
    assert [o for o, _ in all_records(plog)] == list(range(plog.log_end_offset))
    # A batch bigger than a whole segment still goes in (alone, into a fresh segment).
    produce(plog, batch_of(1, size=5000))
    assert plog.segment_infos()[-1].size_bytes > 1000
    plog.close()


def test_segments_roll_by_age(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_ms=1))
    produce(plog, batch_of(1))
    created = time.time()
    while time.time() - created < 0.003:  # wait for the clock, not for an event
        pass
    produce(plog, batch_of(1))
    assert [i.base_offset for i in plog.segment_infos()] == [0, 1]
    plog.config = cfg(segment_ms=NEVER)
    produce(plog, batch_of(1))
    assert plog.segment_count == 2
    plog.close()


def test_reopened_segment_ages_from_its_first_batch_timestamp(tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_ms=60_000))
    produce(plog, batch_of(1, ts=now_ms - 120_000))
    produce(plog, batch_of(1, ts=now_ms))
    assert plog.segment_count == 1  # at run time the age counts from creation
    plog.close()
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_ms=60_000))
    produce(plog, batch_of(1, ts=now_ms))
    assert plog.segment_count == 2
    plog.close()


def test_roll_starts_a_segment_at_the_log_end(log: PartitionLog) -> None:
    log.roll()  # an empty active segment is not rolled
    assert log.segment_count == 1
    produce(log, batch_of(3))
    log.roll()
    produce(log, batch_of(2))
    assert [i.base_offset for i in log.segment_infos()] == [0, 3]
    assert [o for o, _ in all_records(log)] == [0, 1, 2, 3, 4]
    # A read at the end of one segment spills into the next one in whole batches.
    assert [r.offset for r in iter_all_records(log.read(0, 1 << 20))] == [0, 1, 2, 3, 4]


def test_retention_by_time_deletes_expired_segments_by_largest_timestamp(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(retention_ms=1_000))
    for ts in (10_000, 20_000, 30_000):
        produce(plog, batch_of(2, ts=ts - 1), batch_of(1, ts=ts))
        plog.roll()
    produce(plog, batch_of(1, ts=40_000))
    assert plog.segment_count == 4
    assert plog.enforce_retention(now_ms=21_000) == 1  # 10_000 expired, 20_000 not yet
    assert plog.log_start_offset == 3
    assert plog.enforce_retention(now_ms=21_000) == 0
    assert plog.enforce_retention(now_ms=31_001) == 2
    assert [i.base_offset for i in plog.segment_infos()] == [9]
    assert plog.log_start_offset == 9
    # Everything expired: the active segment is rolled away, the end offset is kept.
    assert plog.enforce_retention(now_ms=100_000) == 1
    assert (plog.log_start_offset, plog.log_end_offset, plog.size_bytes) == (10, 10, 0)
    assert [i.base_offset for i in plog.segment_infos()] == [10]
    assert produce(plog, batch_of(1)) == (10, 10)
    plog.close()
    reopened = PartitionLog.open(tmp_path / "t-0", cfg())
    assert (reopened.log_start_offset, reopened.log_end_offset) == (10, 11)
    reopened.close()


def test_retention_by_time_uses_mtime_when_records_have_no_timestamp(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(retention_ms=60_000))
    produce(plog, build_batch([(b"k", b"v", [], -1)]))
    plog.roll()
    produce(plog, build_batch([(b"k", b"v", [], -1)]))
    now = int(time.time() * 1000)
    assert plog.enforce_retention(now_ms=now) == 0
    assert plog.enforce_retention(now_ms=now + 120_000) == 2
    assert plog.log_end_offset == plog.log_start_offset == 2
    plog.close()


def test_retention_by_bytes_keeps_at_least_the_limit(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(retention_bytes=-1))
    one = batch_of(1, size=200)
    for _ in range(5):
        produce(plog, one, one)
        plog.roll()
    seg = 2 * len(one)
    assert plog.size_bytes == 5 * seg
    plog.config = cfg(retention_bytes=3 * seg)
    assert plog.enforce_retention() == 2
    assert plog.size_bytes == 3 * seg
    plog.config = cfg(retention_bytes=3 * seg - 1)  # deleting one more would undershoot
    assert plog.enforce_retention() == 0
    plog.config = cfg(retention_bytes=2 * seg)
    assert plog.enforce_retention() == 1
    assert (plog.log_start_offset, plog.log_end_offset) == (6, 10)
    assert [o for o, _ in all_records(plog)] == [6, 7, 8, 9]
    plog.close()


def test_delete_records_moves_log_start_and_drops_whole_segments(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg())
    for _ in range(3):
        produce(plog, batch_of(4))
        plog.roll()
    assert plog.delete_records(2) == 2
    assert plog.segment_count == 4 and plog.log_start_offset == 2
    assert (tmp_path / "t-0" / CHECKPOINT_NAME).read_text().strip() == "2"
    assert plog.delete_records(1) == 2  # never backwards
    assert plog.delete_records(8) == 8
    assert [i.base_offset for i in plog.segment_infos()] == [8, 12]
    with pytest.raises(KafkaError) as exc:
        plog.delete_records(13)
    assert exc.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    plog.close()
    plog = PartitionLog.open(tmp_path / "t-0", cfg())
    assert (plog.log_start_offset, plog.log_end_offset) == (8, 12)
    assert plog.delete_records(-1) == 12  # -1: up to the high watermark
    assert [i.base_offset for i in plog.segment_infos()] == [12]
    assert plog.read(12, 100) == b""
    assert produce(plog, batch_of(1)) == (12, 12)
    plog.close()


def test_an_empty_log_starts_at_its_checkpointed_log_start(tmp_path: Path) -> None:
    d = tmp_path / "t-0"
    d.mkdir()
    (d / CHECKPOINT_NAME).write_text("41\n")
    plog = PartitionLog.open(d, cfg())
    assert (plog.log_start_offset, plog.log_end_offset) == (41, 41)
    assert produce(plog, batch_of(2)) == (41, 42)
    assert [o for o, _ in all_records(plog)] == [41, 42]
    plog.close()


def test_offset_for_timestamp_and_max_timestamp_match_a_brute_force_scan(tmp_path: Path) -> None:
    rng = random.Random(7)
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_bytes=3000, index_interval_bytes=200))
    truth: list[tuple[int, int]] = []
    clock = 1_000_000
    for _ in range(150):
        n = rng.randint(1, 4)
        stamps = [clock + rng.randint(-3000, 3000) for _ in range(n)]  # out of order
        clock += rng.randint(0, 400)
        first, _ = produce(plog, build_batch([(b"k", b"v" * 30, [], t) for t in stamps]))
        truth.extend((first + i, t) for i, t in enumerate(stamps))
    assert plog.segment_count > 3

    def check() -> None:
        live = [(o, t) for o, t in truth if o >= plog.log_start_offset]
        for target in [0, *range(clock - 70_000, clock + 4_000, 250)]:
            expected = next(((o, t) for o, t in live if t >= target), None)
            assert plog.offset_for_timestamp(target) == expected, target
        top = max(t for _, t in live)
        assert plog.max_timestamp_offset() == next((o, t) for o, t in live if t == top)

    check()
    plog.delete_records(truth[len(truth) // 3][0] + 1)  # log start inside a batch
    check()
    plog.close()
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_bytes=3000, index_interval_bytes=200))
    check()
    plog.close()


def test_timestamp_lookups_on_an_empty_log_find_nothing(log: PartitionLog) -> None:
    assert log.offset_for_timestamp(0) is None
    assert log.max_timestamp_offset() is None
    produce(log, batch_of(1, ts=500))
    assert log.offset_for_timestamp(501) is None
    assert log.offset_for_timestamp(-5) == (0, 500)


def test_fsync_always_appends_are_readable_after_reopen(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(fsync="always", segment_bytes=500))
    for i in range(10):
        produce(plog, batch_of(2, tag=f"{i}-"))
    plog.close()
    plog = PartitionLog.open(tmp_path / "t-0", cfg())
    assert len(all_records(plog)) == 20
    plog.close()


def test_flush_from_another_thread_while_appending(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg(segment_bytes=4000, retention_bytes=20_000))
    stop = threading.Event()
    errors: list[BaseException] = []
    flushes = 0

    def flusher() -> None:
        nonlocal flushes
        while not stop.is_set():
            try:
                plog.flush()
                flushes += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
                return

    t = threading.Thread(target=flusher)
    t.start()
    try:
        for i in range(400):
            produce(plog, batch_of(3, tag=f"{i}-"))
            if i % 50 == 0:
                plog.enforce_retention()  # closes and deletes segments under the flusher
    finally:
        stop.set()
        t.join()
    assert not errors
    assert flushes > 0
    assert plog.log_end_offset == 1200
    plog.close()
    plog.flush()  # flushing a closed log is a no-op
    with pytest.raises(ValueError):
        plog.read(0, 10)


def test_replaced_config_applies_to_later_appends(tmp_path: Path) -> None:
    plog = PartitionLog.open(tmp_path / "t-0", cfg())
    produce(plog, batch_of(5, size=200))
    plog.config = replace(plog.config, segment_bytes=100)
    produce(plog, batch_of(1))
    assert plog.segment_count == 2
    plog.close()
