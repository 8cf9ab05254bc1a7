"""The log cleaner on real segment files: latest value per key, offsets kept (gaps),
codecs, tombstones after delete.retention.ms, lags and ratio, control and producer
batches, bounded key map, and crash safety through the fault-injecting file layer."""

from __future__ import annotations

import errno
import os
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path

import crc32c
import pytest
from streamscope.core.config import LogConfig
from streamscope.core.idempotence import ABORT, PartitionTxns
from streamscope.core.log import PartitionLog, cleaner, files
from streamscope.core.records import (
    Compression,
    build_batch,
    iter_all_records,
    iter_batches,
    parse_header,
    validate_batches,
)

NEVER = 10**15


def cfg(**kw) -> LogConfig:
    base = dict(segment_ms=NEVER, retention_ms=-1, index_interval_bytes=128,
                segment_bytes=600, cleanup_policy="compact", delete_retention_ms=NEVER,
                min_cleanable_dirty_ratio=0.01)
    base.update(kw)
    return LogConfig(**base)


def append(log: PartitionLog, batch: bytes) -> int:
    data = bytearray(batch)
    return log.append(data, validate_batches(data))[0]


def put(log: PartitionLog, key: str | None, value: str | None, *, ts: int = 1_000,
        codec: Compression = Compression.NONE, headers=()) -> int:
    return append(log, build_batch(
        [(None if key is None else key.encode(), None if value is None else value.encode(),
          list(headers), ts)], compression=codec))


def records(log: PartitionLog) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every record from the log start to its end: (offset, key, value)."""
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        if not data:
            break
        recs = [r for r in iter_all_records(data) if r.offset >= offset]
        out.extend((r.offset, r.key, r.value) for r in recs)
        last = max(h.base_offset + h.last_offset_delta for h, _v in iter_batches(data))
        offset = last + 1
    return out


def clean(log: PartitionLog, now_ms: int | None = None, *, max_keys: int = 1000) -> bool:
    """One pass as the broker's cleaner runs it, all on this thread."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    p = cleaner.plan(log, now)
    if p is None:
        return False
    result = cleaner.run_pass(p, cleaner.Throttle(1 << 40, threading.Event()),
                              max_keys=max_keys, swap=lambda c: cleaner.commit_one(log, c))
    cleaner.finish(p.directory, result)
    log.cleaner.clean_offset = result.clean_offset
    log.cleaner.tombstone_due_ms = result.tombstone_due_ms
    return True


def latest_by_key(expected: list[tuple[int, bytes | None, bytes | None]]):
    last = {}
    for off, k, v in expected:
        last[k] = (off, k, v)
    return sorted(last.values())


@pytest.fixture
def log(tmp_path: Path):
    plog = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    yield plog
    plog.close()


@pytest.mark.parametrize("codec", list(Compression))
def test_only_the_latest_value_per_key_stays_offsets_kept(tmp_path: Path, codec) -> None:
    log = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    written = []
    for i in range(60):
        key = f"k{i % 4}"
        off = put(log, key, f"v{i}", codec=codec, headers=[("h", f"{i}".encode())])
        written.append((off, key.encode(), f"v{i}".encode()))
    assert log.segment_count > 3
    active_base = log.segments()[-1].base_offset
    before = records(log)
    size_before = log.size_bytes
    assert clean(log)
    after = records(log)
    # Every key's latest value stays; in the cleaned part nothing else does.
    cleaned = [r for r in after if r[0] < active_base]
    assert {k: (o, v) for o, k, v in cleaned} == {
        k: (o, v) for o, k, v in latest_by_key([r for r in before if r[0] < active_base])}
    assert len(cleaned) <= 4
    assert [r for r in after if r[0] >= active_base] == [r for r in before if r[0] >= active_base]
    assert latest_by_key(after) == latest_by_key(written)
    assert log.size_bytes < size_before
    assert log.log_start_offset == 0 and log.log_end_offset == 60
    # Offsets, headers, codec and timestamps survive, and so does a reopen (gaps).
    data = log.read(0, 1 << 20)
    for h, view in iter_batches(data):
        assert h.compression == codec
        for r in iter_all_records(bytes(view)):
            assert r.headers == (("h", str(r.offset).encode()),)
            assert r.timestamp == 1_000
    log.close()
    again = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    try:
        assert records(again) == after
        assert again.cleaner.clean_offset == active_base
        assert again.log_end_offset == 60
    finally:
        again.close()


def test_reads_and_offsets_across_gaps(log: PartitionLog) -> None:
    for i in range(40):
        put(log, f"k{i % 2}", f"v{i}")
    assert clean(log)
    kept = [o for o, _k, _v in records(log)]
    gap = next(o for o in range(40) if o not in kept)
    # A fetch at an offset compacted away answers from the next batch that exists.
    data = log.read(gap, 1 << 20)
    first = next(iter(iter_all_records(data)))
    assert first.offset == min(o for o in kept if o >= gap)
    assert log.read(log.log_end_offset, 100) == b""
    # ListOffsets by timestamp lands on a record that still exists.
    found = log.offset_for_timestamp(0)
    assert found is not None and found[0] == kept[0]


def test_tombstones_go_only_after_delete_retention(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", cfg(delete_retention_ms=60_000),
                            topic="t", partition=0)
    try:
        for i in range(20):
            put(log, f"k{i % 3}", f"v{i}")
        put(log, "k0", None)  # tombstone
        for i in range(20):
            put(log, "k1", f"w{i}")
        now = int(time.time() * 1000)
        assert clean(log, now)
        keys = {k: v for _o, k, v in records(log)}
        assert keys[b"k0"] is None  # the first pass keeps the tombstone
        due = log.cleaner.tombstone_due_ms
        assert due is not None and due > now
        # Before the horizon nothing is due; after it a pass removes the tombstone.
        assert not cleaner.needs_cleaning(log, now + 1_000)
        assert cleaner.needs_cleaning(log, due)
        assert clean(log, due + 60_000)
        assert b"k0" not in {k for _o, k, _v in records(log)}
        assert log.cleaner.tombstone_due_ms is None
    finally:
        log.close()


def test_active_segment_and_min_compaction_lag(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", cfg(min_compaction_lag_ms=10_000),
                            topic="t", partition=0)
    try:
        for i in range(30):
            put(log, "k", f"v{i}", ts=100_000 + i)
        # Every record is younger than the lag: nothing is cleanable.
        assert not clean(log, 100_000 + 5_000)
        assert len(records(log)) == 30
        assert clean(log, 100_000 + 20_000)
        recs = records(log)
        active = log.segments()[-1]
        # Only the active segment's records and the last cleaned one remain.
        in_active = [r for r in recs if r[0] >= active.base_offset]
        assert len(recs) == len(in_active) + 1
        assert recs[-1][2] == b"v29"
    finally:
        log.close()


def test_dirty_ratio_threshold_and_max_compaction_lag(tmp_path: Path) -> None:
    log = PartitionLog.open(
        tmp_path / "t-0", cfg(min_cleanable_dirty_ratio=0.9, max_compaction_lag_ms=50_000),
        topic="t", partition=0)
    try:
        for i in range(40):
            put(log, f"k{i}", "x")  # all distinct: nothing to remove
        now = int(time.time() * 1000)
        s = cleaner.sections(log, now)
        assert s.dirty_ratio == 1.0
        assert clean(log, now)  # ratio 1.0 >= 0.9
        assert cleaner.sections(log, now).dirty_ratio == 0.0
        for i in range(12):
            put(log, f"k{i}", "y")
        s = cleaner.sections(log, now)
        assert 0 < s.dirty_ratio < 0.9
        assert not cleaner.needs_cleaning(log, now)
        # Too old to wait for the ratio: max.compaction.lag.ms forces a pass.
        assert cleaner.needs_cleaning(log, now + 60_000)
    finally:
        log.close()


def _control_batch(pid: int) -> bytes:
    """A transaction marker (control bit) as a coordinator would write it."""
    b = bytearray(build_batch([(b"\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00")],
                              producer_id=pid, producer_epoch=0, transactional=True))
    attrs = struct.unpack_from(">h", b, 21)[0] | 0x20
    struct.pack_into(">h", b, 21, attrs)
    struct.pack_into(">I", b, 17, crc32c.crc32c(memoryview(b)[21:]))
    return bytes(b)


def test_control_batches_kept_and_producer_last_batch_kept_empty(log: PartitionLog) -> None:
    pid = 7
    append(log, build_batch([(b"a", b"1")], producer_id=pid, producer_epoch=3, base_sequence=0))
    marker = bytearray(_control_batch(99))
    log.append(marker, [parse_header(marker)])
    for i in range(30):
        put(log, "a", f"later{i}")
    assert clean(log)
    batches = [(h, bytes(v)) for h, v in iter_batches(log.read(0, 1 << 20))]
    first = batches[0][0]
    # The producer's only batch lost its record but stays: an empty header.
    assert (first.base_offset, first.producer_id, first.producer_epoch,
            first.base_sequence, first.records_count) == (0, pid, 3, 0, 0)
    assert batches[1][1] == bytes(marker)  # the marker, byte for byte
    log.close()


def test_keyless_records_are_removed(log: PartitionLog) -> None:
    put(log, None, "no key")
    for i in range(30):
        put(log, "a", f"v{i}")
    assert clean(log)
    assert all(k is not None for _o, k, _v in records(log))


def test_key_map_bound_stops_at_a_segment(log: PartitionLog) -> None:
    for i in range(60):
        put(log, f"k{i}", "x")
    assert log.segment_count > 4
    first = log.segments()[0]
    assert clean(log, max_keys=1)
    assert log.cleaner.clean_offset == first.next_offset
    assert cleaner.sections(log, int(time.time() * 1000)).dirty_bytes > 0


def test_a_failed_swap_leaves_the_old_segment(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    for i in range(40):
        put(log, "k", f"v{i}")
    before = records(log)
    with files.installed(files.FaultyFiles()) as ops:
        ops.fail_next("replace", errno.EIO, times=None, path_contains=".log.cleaned")
        with pytest.raises(OSError):
            clean(log)
    assert records(log) == before
    assert log.cleaner.last_error and "swap failed" in log.cleaner.last_error
    assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
    log.close()


def test_a_failed_write_of_the_cleaned_file_discards_it(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    for i in range(40):
        put(log, "k", f"v{i}")
    before = records(log)
    with files.installed(files.FaultyFiles()) as ops:
        ops.fail_next("fsync", errno.EIO, path_contains=".cleaned")
        with pytest.raises(OSError):
            clean(log)
    assert records(log) == before
    assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
    log.close()


def test_open_discards_a_swap_in_progress_and_heals_stale_indexes(tmp_path: Path) -> None:
    """A crash at each point of the swap: before the rename (``*.cleaned`` left), or
    after the log's rename but before the indexes' (stale index files)."""
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    for i in range(40):
        put(log, f"k{i % 2}", f"v{i}")
    before = records(log)
    p = cleaner.plan(log, int(time.time() * 1000))
    result = cleaner.run_pass(p, cleaner.Throttle(1 << 40, threading.Event()), max_keys=100,
                              swap=lambda c: True)  # the process dies before any swap
    assert result.cleaned
    log.close()
    # Crash 1: nothing renamed. The next open drops the *.cleaned files.
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    assert records(log) == before
    assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
    p = cleaner.plan(log, int(time.time() * 1000))
    result = cleaner.run_pass(p, cleaner.Throttle(1 << 40, threading.Event()), max_keys=100,
                              swap=lambda c: True)
    c = result.cleaned[0]
    assert c.manifest is not None and len(c.olds) > 1  # a merge, its manifest written
    log.close()
    # Crash 2: the first segment's log renamed in, its indexes not (nor the others).
    os.replace(c.tmp_log, c.olds[0].log_path)
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    try:
        got = records(log)
        assert latest_by_key(got) == latest_by_key(before)
        assert len(got) < len(before)
        kept = {o for o, _k, _v in got}
        assert kept <= {o for o, _k, _v in before}
        assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
        # And a pass from there finishes the job.
        assert clean(log)
        assert latest_by_key(records(log)) == latest_by_key(before)
    finally:
        log.close()


def test_throttle_waits_on_an_injected_clock() -> None:
    now = [0.0]
    stop = threading.Event()
    waits = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        return stop.is_set()

    t = cleaner.Throttle(1000, stop, clock=lambda: now[0], wait=wait)
    t.spend(500)  # 0.5 s of budget ahead, and the clock has not moved: it waits
    assert waits == [pytest.approx(0.5)]
    t.spend(100)  # the clock moved with the wait: only the new 0.1 s is owed
    assert waits[1] == pytest.approx(0.1)
    now[0] += 10
    t.spend(100)  # well under the rate now: no wait
    assert len(waits) == 2
    stop.set()
    with pytest.raises(cleaner.Stopped):
        t.spend(1)


def test_policy_delete_disables_cleaning_and_compact_disables_retention(log: PartitionLog) -> None:
    for i in range(30):
        put(log, "k", f"v{i}", ts=1)
    log.config = replace(log.config, retention_ms=1)
    assert log.enforce_retention(10**12) == 0  # compact only: retention never deletes
    log.config = replace(log.config, cleanup_policy="delete")
    assert not cleaner.needs_cleaning(log, int(time.time() * 1000))
    log.config = replace(log.config, cleanup_policy="compact,delete")
    assert clean(log)
    # Emptied segments age by their file time, kept from before the cleaning.
    assert log.enforce_retention(int(time.time() * 1000) + 10**9) > 0


def test_a_stopped_pass_leaves_no_files(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    for i in range(80):  # the first 40 overwritten: several groups to clean
        put(log, f"k{i % 40}", f"v{i}")
    before = records(log)
    stop = threading.Event()
    swapped = []

    def swap(c) -> bool:
        swapped.append(cleaner.commit_one(log, c))
        stop.set()  # shut down after the first segment is in
        return swapped[-1]

    p = cleaner.plan(log, int(time.time() * 1000))
    with pytest.raises(cleaner.Stopped):
        cleaner.run_pass(p, cleaner.Throttle(1 << 40, stop), max_keys=100, swap=swap)
    assert swapped == [True]
    assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
    after = records(log)
    assert len(after) < len(before) and latest_by_key(after) == latest_by_key(before)
    assert log.cleaner.clean_offset == 0  # the checkpoint waits for a whole pass
    log.close()


async def test_the_cleaner_thread_swaps_on_the_loop(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    lc = cleaner.LogCleaner(cleaner.CleanerConfig(interval_ms=10), lambda: [log])
    try:
        for i in range(40):
            put(log, f"k{i % 3}", f"v{i}")
        before = records(log)
        assert await lc.clean_due() == 1
        status = log.compaction()
        assert status is not None and status.state == "idle" and status.passes == 1
        assert status.clean_offset == log.segments()[-1].base_offset
        assert latest_by_key(records(log)) == latest_by_key(before)
        assert await lc.clean_due() == 0  # nothing dirty now
    finally:
        await lc.close()
        log.close()


def test_a_checkpoint_past_the_log_end_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    put(log, "k", "v")
    log.close()
    # As if a power loss took a tail the checkpoint had already covered.
    (path / cleaner.CLEANER_CHECKPOINT).write_text('{"clean_offset": 1000}')
    (path / f"{'0' * 20}.log.cleaned").write_bytes(b"half a swap")
    log = PartitionLog.open(path, cfg(), topic="t", partition=0)
    try:
        assert log.cleaner.clean_offset == 0
        assert not (path / f"{'0' * 20}.log.cleaned").exists()
        assert records(log) == [(0, b"k", b"v")]
    finally:
        log.close()


def test_small_cleaned_segments_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(segment_bytes=2000), topic="t", partition=0)
    try:
        for i in range(200):
            put(log, f"k{i % 4}", f"v{i}")
        before = records(log)
        segments = log.segment_count
        assert clean(log)
        assert log.segment_count < segments / 3
        assert latest_by_key(records(log)) == latest_by_key(before)
        assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
        files_now = sorted(n for n in os.listdir(path) if n.endswith(".log"))
        assert len(files_now) == log.segment_count
        after = records(log)
        log.close()
        log = PartitionLog.open(path, cfg(segment_bytes=2000), topic="t", partition=0)
        assert records(log) == after
        assert log.segment_count == len(files_now) and log.log_end_offset == 200
    finally:
        log.close()


def test_max_compaction_lag_rolls_the_active_segment(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", cfg(segment_bytes=1 << 20,
                                                  max_compaction_lag_ms=60_000),
                            topic="t", partition=0)
    try:
        put(log, "k", "v0")
        put(log, "k", "v1")
        assert log.segment_count == 1
        log.segments()[-1].created_ms -= 61_000  # as if a minute had passed
        put(log, "k", "v2")
        assert log.segment_count == 2  # rolled: its records can now be compacted
        log.config = replace(log.config, cleanup_policy="delete")
        log.segments()[-1].created_ms -= 61_000
        put(log, "k", "v3")
        assert log.segment_count == 2  # segment.ms alone (a week) for a delete topic
    finally:
        log.close()


def test_a_group_whose_segments_went_away_meanwhile_is_discarded(tmp_path: Path) -> None:
    path = tmp_path / "t-0"
    log = PartitionLog.open(path, cfg(cleanup_policy="compact,delete"), topic="t",
                            partition=0)
    try:
        for i in range(40):
            put(log, f"k{i % 2}", f"v{i}")
        p = cleaner.plan(log, int(time.time() * 1000))
        outcomes = []

        def swap(c) -> bool:
            # Retention runs on the loop between the pass's write and its swap.
            log.delete_records(log.segments()[1].base_offset)
            outcomes.append(cleaner.commit_one(log, c))
            return outcomes[-1]

        result = cleaner.run_pass(p, cleaner.Throttle(1 << 40, threading.Event()),
                                  max_keys=100, swap=swap)
        assert outcomes[0] is False and result.cleaned == []
        assert not [n for n in os.listdir(path) if n.endswith((".cleaned", ".merged"))]
        # The log reads as before from its (new) start.
        assert records(log)[0][0] == log.log_start_offset
    finally:
        log.close()


async def test_a_running_pass_reports_its_progress(tmp_path: Path, monkeypatch) -> None:
    # The monitor reads the status on the loop while the pass runs on its thread; each
    # swap runs on the loop mid-pass, so what the status says there is the progress seen.
    log = PartitionLog.open(tmp_path / "t-0", cfg(), topic="t", partition=0)
    lc = cleaner.LogCleaner(cleaner.CleanerConfig(interval_ms=10), lambda: [log])
    seen: list[tuple[str, float]] = []
    real = cleaner.commit_one

    def observed(plog: PartitionLog, c: cleaner.Cleaned) -> bool:
        status = plog.compaction()
        assert status is not None
        seen.append((status.state, status.progress))
        return real(plog, c)

    monkeypatch.setattr(cleaner, "commit_one", observed)
    try:
        for i in range(60):
            put(log, f"k{i % 3}", f"v{i}")
        assert await lc.clean_due() == 1
        assert seen and all(state == "cleaning" for state, _p in seen)
        progress = [p for _s, p in seen]
        assert all(0 < p <= 1 for p in progress) and progress == sorted(progress)
        status = log.compaction()
        assert status is not None and status.state == "idle" and status.progress == 0.0
    finally:
        await lc.close()
        log.close()


def _txn_put(log: PartitionLog, pid: int, seq: int, key: str, value: str) -> int:
    return append(log, build_batch([(key.encode(), value.encode())], producer_id=pid,
                                   producer_epoch=0, base_sequence=seq, transactional=True))


def test_an_aborted_write_never_hides_the_committed_value(log: PartitionLog) -> None:
    txns = PartitionTxns()
    log.txns = txns
    put(log, "a", "committed")
    first = _txn_put(log, 7, 0, "a", "aborted")
    txns.appended([parse_header(build_batch([(b"a", b"x")], base_offset=first,
                                            producer_id=7, transactional=True))])
    marker = bytearray(_control_batch(7))
    at = log.append(marker, [parse_header(marker)])[0]
    txns.marker(7, ABORT, at)
    for i in range(20):
        put(log, "b", f"filler{i}")
    assert clean(log)
    kept = {(o, k, v) for o, k, v in records(log)}
    # The committed value of "a" stays, the aborted one is gone; the marker stays.
    assert (0, b"a", b"committed") in kept
    assert not any(v == b"aborted" for _o, _k, v in kept)
    assert any(h.is_control for h, _v in iter_batches(log.read(0, 1 << 20)))
    log.close()


def test_nothing_at_or_past_the_last_stable_offset_is_cleaned(log: PartitionLog) -> None:
    txns = PartitionTxns()
    log.txns = txns
    for i in range(10):
        put(log, "a", f"v{i}")
    first = _txn_put(log, 7, 0, "a", "open")  # an open transaction: it may still abort
    txns.appended([parse_header(build_batch([(b"a", b"x")], base_offset=first,
                                            producer_id=7, transactional=True))])
    for i in range(20):
        put(log, "a", f"w{i}")
    status = log.compaction()
    assert status is not None and status.dirty_end_offset <= first
    assert clean(log)
    kept = [(o, v) for o, k, v in records(log) if k == b"a"]
    # Whole segments below the LSO were cleaned (older values of "a" are gone); from the
    # segment holding the open transaction's first record on, nothing was touched.
    assert 0 < len([o for o, _v in kept if o < first]) < first
    assert [o for o, _v in kept if o >= first] == list(range(first, first + 21))
    log.close()
