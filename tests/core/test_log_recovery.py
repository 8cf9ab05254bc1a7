"""Crash recovery on real files: torn tails, corrupt bytes, broken indexes, kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from streamscope.core.config import LogConfig
from streamscope.core.log import PartitionLog
from streamscope.core.records import build_batch, iter_all_records, iter_batches, validate_batches

REPO = Path(__file__).resolve().parents[2]
CONFIG = LogConfig(
    segment_bytes=3_000, segment_ms=10**15, retention_ms=-1, index_interval_bytes=300
)


def produce(log: PartitionLog, batch: bytes) -> tuple[int, int]:
    data = bytearray(batch)
    return log.append(data, validate_batches(data))


def make_batch(i: int) -> bytes:
    n = 1 + i % 3
    return build_batch(
        [
            (
                f"k{i}".encode(),
                f"batch {i} record {j}".encode(),
                [("n", str(j).encode())],
                5_000 + i,
            )
            for j in range(n)
        ]
    )


def segment_file(d: Path, base: int, ext: str = "log") -> Path:
    return d / f"{base:020d}.{ext}"


def read_everything(log: PartitionLog) -> list[tuple[int, bytes | None]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        got = [r for r in iter_all_records(log.read(offset, 700)) if r.offset >= offset]
        assert got and got[0].offset == offset
        out.extend((r.offset, r.value) for r in got)
        offset = got[-1].offset + 1
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[tuple[int, bytes | None]], list[int]]:
    """A log of several segments; the records and the batch starts in its last segment."""
    d = tmp_path_factory.mktemp("pristine") / "t-0"
    log = PartitionLog.open(d, CONFIG)
    for i in range(60):
        produce(log, make_batch(i))
    assert log.segment_count >= 3
    records = read_everything(log)
    last = log.segment_infos()[-1]
    log.close()
    data = segment_file(d, last.base_offset).read_bytes()
    starts = [0]
    for _h, view in iter_batches(data):
        starts.append(starts[-1] + len(view))
    assert starts[-1] == len(data) and len(starts) >= 5
    return d, records, starts


def copy_log(pristine_dir: Path, tmp_path: Path, name: str) -> tuple[Path, Path]:
    d = tmp_path / name
    shutil.copytree(pristine_dir, d)
    last = max(p for p in d.iterdir() if p.suffix == ".log")
    return d, last


def check_recovered(d: Path, last_file: Path, records, keep_bytes: int) -> None:
    """Reopen: exactly the batches before ``keep_bytes`` survive, appends continue."""
    kept_in_last = iter_all_records(last_file.read_bytes()[:keep_bytes])
    last_base = int(last_file.stem)
    expected_end = last_base + sum(1 for _ in kept_in_last)
    log = PartitionLog.open(d, CONFIG)
    try:
        assert log.log_end_offset == expected_end
        assert last_file.stat().st_size == keep_bytes
        assert read_everything(log) == [(o, v) for o, v in records if o < expected_end]
        first, _ = produce(log, make_batch(999))
        assert first == expected_end
        assert read_everything(log)[-1][1] == b"batch 999 record 0"
    finally:
        log.close()
    # A second reopen finds nothing more to repair.
    log = PartitionLog.open(d, CONFIG)
    assert log.log_end_offset == expected_end + 1
    log.close()


def test_truncation_at_every_byte_of_the_last_batch_and_every_boundary(pristine, tmp_path) -> None:
    pristine_dir, records, starts = pristine
    cuts = set(range(starts[-2], starts[-1] + 1)) | set(starts)
    for cut in sorted(cuts):
        d, last = copy_log(pristine_dir, tmp_path, f"cut{cut}")
        os.truncate(last, cut)
        keep = max(s for s in starts if s <= cut)
        check_recovered(d, last, records, keep)
        shutil.rmtree(d)


@pytest.mark.parametrize(
    "where",
    [0, 5, 8, 11, 12, 16, 17, 20, 21, 23, 30, 40, 57, 60, 61, 62, -10, -1],
    ids=lambda w: f"byte{w}",
)
def test_a_corrupt_byte_in_the_last_batch_truncates_it(pristine, tmp_path, where) -> None:
    pristine_dir, records, starts = pristine
    d, last = copy_log(pristine_dir, tmp_path, "corrupt")
    start = starts[-2]
    pos = start + where if where >= 0 else starts[-1] + where
    data = bytearray(last.read_bytes())
    data[pos] ^= 0x5A
    last.write_bytes(bytes(data))
    check_recovered(d, last, records, start)


def test_corruption_in_a_middle_batch_of_the_tail_drops_everything_after_it(
    pristine, tmp_path
) -> None:
    pristine_dir, records, starts = pristine
    d, last = copy_log(pristine_dir, tmp_path, "middle")
    # Lose the index so the whole last segment counts as unindexed tail.
    segment_file(d, int(last.stem), "index").unlink()
    data = bytearray(last.read_bytes())
    data[starts[2] + 70] ^= 0xFF
    last.write_bytes(bytes(data))
    check_recovered(d, last, records, starts[2])


def test_garbage_appended_after_the_last_batch_is_cut_off(pristine, tmp_path) -> None:
    pristine_dir, records, starts = pristine
    d, last = copy_log(pristine_dir, tmp_path, "garbage")
    with open(last, "ab") as f:
        f.write(b"\x00" * 100)  # what a file system can leave after a power cut
    check_recovered(d, last, records, starts[-1])


@pytest.mark.parametrize("ext", ["index", "timeindex"])
@pytest.mark.parametrize("damage", ["delete", "empty", "half", "garbage", "beyond", "shuffle"])
def test_a_damaged_index_is_rebuilt_and_reads_stay_right(pristine, tmp_path, ext, damage) -> None:
    pristine_dir, records, starts = pristine
    d, _last = copy_log(pristine_dir, tmp_path, "idx")
    originals = {
        p.name: p.read_bytes() for p in d.iterdir() if p.suffix in (".index", ".timeindex")
    }
    first = min(p for p in d.iterdir() if p.suffix == ".log")
    target = segment_file(d, int(first.stem), ext)
    good = target.read_bytes()
    entry = 8 if ext == "index" else 12
    assert len(good) >= 3 * entry
    if damage == "delete":
        target.unlink()
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "half":
        target.write_bytes(good[: len(good) // 2 + 3])  # also a torn entry
    elif damage == "garbage":
        target.write_bytes(os.urandom(len(good)))
    elif damage == "beyond":  # last entry points past the end of the log
        target.write_bytes(good + (b"\x00\x00\x10\x00\x7f\x00\x00\x00" + b"\x00" * 4)[:entry])
    elif damage == "shuffle":  # not monotonic
        target.write_bytes(good[entry : 2 * entry] + good[:entry] + good[2 * entry :])
    log = PartitionLog.open(d, CONFIG)
    try:
        assert read_everything(log) == records
        for target in (5_005, 5_030):
            assert log.offset_for_timestamp(target) == next(
                (o, _ts_of(o, records)) for o, _ in records if _ts_of(o, records) >= target
            )
    finally:
        log.close()
    rebuilt = {p.name: p.read_bytes() for p in d.iterdir() if p.suffix in (".index", ".timeindex")}
    assert rebuilt == originals


def _ts_of(offset: int, records) -> int:
    # make_batch(i) stamps every record of batch i with 5_000 + i; find i from the value.
    value = dict(records)[offset]
    return 5_000 + int(value.split()[1])


def test_a_log_newer_than_its_index_gets_the_missing_entries(pristine, tmp_path) -> None:
    pristine_dir, records, _starts = pristine
    d, last = copy_log(pristine_dir, tmp_path, "stale")
    index = segment_file(d, int(last.stem), "index")
    timeindex = segment_file(d, int(last.stem), "timeindex")
    full = (index.read_bytes(), timeindex.read_bytes())
    assert len(full[0]) >= 16
    index.write_bytes(full[0][:8])
    timeindex.write_bytes(full[1][:12])
    log = PartitionLog.open(d, CONFIG)
    assert read_everything(log) == records
    log.close()
    assert (index.read_bytes(), timeindex.read_bytes()) == full


def test_a_checkpoint_beyond_a_lost_tail_keeps_offsets_monotonic(tmp_path) -> None:
    d = tmp_path / "t-0"
    log = PartitionLog.open(d, CONFIG)
    for i in range(5):
        produce(log, make_batch(i))
    end = log.log_end_offset
    log.delete_records(end - 1)
    log.close()
    last = max(p for p in d.iterdir() if p.suffix == ".log")
    os.truncate(last, 0)  # the whole tail is gone
    log = PartitionLog.open(d, CONFIG)
    assert (log.log_start_offset, log.log_end_offset) == (end - 1, end - 1)
    assert produce(log, make_batch(7))[0] == end - 1
    log.close()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from streamscope.core.config import LogConfig
    from streamscope.core.log import PartitionLog
    from streamscope.core.records import build_batch, validate_batches

    log = PartitionLog.open(Path(sys.argv[1]), LogConfig(
        segment_bytes=20_000, index_interval_bytes=512, fsync="interval"))
    i = 0
    while True:
        n = 1 + i % 4
        data = bytearray(build_batch(
            [(b"%d" % i, b"payload %d/%d " % (i, j) + b"x" * (i % 200), [], 1000 + i)
             for j in range(n)]))
        first, last = log.append(data, validate_batches(data))
        sys.stdout.write("%d %d %d\\n" % (i, first, last))
        sys.stdout.flush()
        if i % 97 == 0:
            log.flush()
        i += 1
    """
)


def test_every_acknowledged_append_survives_kill_9(tmp_path) -> None:
    d = tmp_path / "t-0"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(d)], stdout=subprocess.PIPE, env=env, cwd=REPO
    )
    acked: list[tuple[int, int, int]] = []
    deadline = time.monotonic() + 30
    try:
        assert proc.stdout is not None
        while len(acked) < 1500 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(tuple(int(x) for x in line.split()))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 1500, f"writer acknowledged only {len(acked)} appends"

    log = PartitionLog.open(d, LogConfig(segment_bytes=20_000, index_interval_bytes=512))
    try:
        assert log.segment_count > 3
        assert log.log_end_offset >= acked[-1][2] + 1
        by_offset = {r.offset: r for r in iter_all_records(log.read(0, 1 << 30))}
        for i, first, last in acked:
            for j, offset in enumerate(range(first, last + 1)):
                r = by_offset[offset]
                assert r.key == b"%d" % i
                assert r.value.startswith(b"payload %d/%d " % (i, j))
        end = log.log_end_offset
        assert produce(log, make_batch(1))[0] == end
    finally:
        log.close()


def test_a_corrupt_tail_in_an_older_segment_is_cut_and_reads_skip_the_gap(pristine, tmp_path):
    pristine_dir, records, _starts = pristine
    d, _last = copy_log(pristine_dir, tmp_path, "older")
    first = min(p for p in d.iterdir() if p.suffix == ".log")
    data = bytearray(first.read_bytes())
    batches = list(iter_batches(bytes(data)))
    lost_header, lost_view = batches[-1]
    data[len(data) - 5] ^= 0xFF  # inside the last batch's records
    first.write_bytes(bytes(data))
    segment_file(d, int(first.stem), "index").unlink()  # no index to trust: full scan
    log = PartitionLog.open(d, CONFIG)
    try:
        assert first.stat().st_size == len(data) - len(lost_view)
        lost = range(lost_header.base_offset, lost_header.last_offset + 1)
        assert log.log_end_offset == records[-1][0] + 1  # later segments untouched
        # A fetch inside the gap gets the next batch that exists, never the corrupt one.
        got = list(iter_all_records(log.read(lost[0], 1)))
        assert got[0].offset == lost[-1] + 1
        assert read_everything_across_gaps(log) == [(o, v) for o, v in records if o not in lost]
    finally:
        log.close()


def read_everything_across_gaps(log: PartitionLog) -> list[tuple[int, bytes | None]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        got = [r for r in iter_all_records(log.read(offset, 700)) if r.offset >= offset]
        out.extend((r.offset, r.value) for r in got)
        offset = got[-1].offset + 1
    return out
