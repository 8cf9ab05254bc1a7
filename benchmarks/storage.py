"""Storage engine throughput against the plain file system, measured in one run.

Usage: ``.venv/bin/python benchmarks/storage.py [--mib 256] [--rounds 5]``

For 16 KiB and 1 MiB record batches (built once with ``build_batch``):

* append: what the broker does per produced batch -- ``validate_batches`` (header +
  CRC32C) and ``PartitionLog.append`` of a writable view of the request's own buffer
  (the server receives each frame into a ``bytearray`` of its own, so there is no copy:
  offset patch in place, one write, index upkeep, segment rolls at the default 64 MiB)
  -- against ``os.write`` of the same bytes to one plain file;
* read: sequential ``PartitionLog.read(offset, 1 MiB)`` over the whole log (sparse
  index lookup, header scans, whole batches via ``os.pread``) against ``os.pread`` of
  the same number of bytes per call from the plain file ("raw pread"), and from the
  log's own segment files ("same files": on this kernel four 64 MiB files read
  measurably slower than one 256 MiB file, which is the file system, not our code).

Rounds alternate ours/raw so drift on a shared machine hits both (appends: one each
per round; reads: several alternating passes over both files per round); medians and
the ratio ours/raw are printed (1.0 = as fast as the raw file system). Nothing is fsynced
(the default "interval" policy leaves that to the background flusher), so both sides
measure writes into the page cache. A temp dir is used and removed; the whole run is
bounded to well under a minute at the defaults.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamscope.core.config import LogConfig  # noqa: E402
from streamscope.core.log import PartitionLog  # noqa: E402
from streamscope.core.records import build_batch, parse_header, validate_batches  # noqa: E402

READ_MAX = 1 << 20
READ_PASSES = 3
MAX_MESSAGE = 2 << 20


def make_batch(target: int) -> bytes:
    """An uncompressed batch of ~1 KiB records, close to ``target`` bytes."""
    value = os.urandom(1000)
    n = max(1, target // 1030)
    return build_batch([(b"key-%d" % i, value, [("h", b"1")]) for i in range(n)])


def append_ours(directory: Path, batch: bytes, count: int) -> tuple[float, PartitionLog]:
    log = PartitionLog.open(directory, LogConfig(retention_ms=-1))
    frame = memoryview(bytearray(batch))  # as the server hands it over: patched in place
    t0 = time.perf_counter()
    zero = bytes(8)
    for _ in range(count):
        frame[0:8] = zero  # a fresh request's base offset is 0; append patched the last one
        headers = validate_batches(frame, max_batch_bytes=MAX_MESSAGE)
        log.append(frame, headers)
    return time.perf_counter() - t0, log


def append_raw(path: Path, batch: bytes, count: int) -> tuple[float, int]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    for _ in range(count):
        os.write(fd, batch)
    elapsed = time.perf_counter() - t0
    os.close(fd)
    return elapsed, count * len(batch)


def read_ours(log: PartitionLog, per_batch: int, batch_size: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    offset = 0
    end = log.log_end_offset
    total = 0
    while offset < end:
        data = log.read(offset, READ_MAX)
        total += len(data)
        # Every batch holds the same number of records; a consumer would track this.
        offset += (len(data) // batch_size) * per_batch
    return time.perf_counter() - t0, total


def read_raw(path: Path, chunk: int) -> tuple[float, int]:
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    t0 = time.perf_counter()
    pos = 0
    while pos < size:
        data = os.pread(fd, chunk, pos)  # held until the next read, as on our side
        pos += len(data)
    elapsed = time.perf_counter() - t0
    os.close(fd)
    return elapsed, pos


def read_raw_segments(log: PartitionLog, chunk: int) -> tuple[float, int]:
    """``os.pread`` of the log's own segment files, ``chunk`` bytes per call."""
    paths = [
        (log.directory / f"{i.base_offset:020d}.log", i.size_bytes) for i in log.segment_infos()
    ]
    t0 = time.perf_counter()
    total = 0
    for path, size in paths:
        fd = os.open(path, os.O_RDONLY)
        pos = 0
        while pos < size:
            data = os.pread(fd, min(chunk, size - pos), pos)
            pos += len(data)
        os.close(fd)
        total += pos
    return time.perf_counter() - t0, total


def run(batch_target: int, total_mib: int, rounds: int, root: Path) -> dict[str, list[float]]:
    batch = make_batch(batch_target)
    h = parse_header(batch)
    per_batch = h.last_offset_delta + 1
    count = max(1, (total_mib << 20) // len(batch))
    chunk = max(1, READ_MAX // len(batch)) * len(batch)  # what one of our reads returns
    figures: dict[str, list[float]] = {k: [] for k in ("aw", "ar", "bw", "br", "ra", "rr", "rs")}
    for r in range(rounds):
        raw_path = root / f"raw-{r}.bin"
        log = None
        for side in ("ours", "raw") if r % 2 == 0 else ("raw", "ours"):
            # Write back earlier dirty pages first, so the kernel's flusher does not run
            # in the middle of one side's timed phase only.
            os.sync()
            if side == "ours":
                secs, log = append_ours(root / f"ours-{r}", batch, count)
                figures["aw"].append(log.size_bytes / secs / 2**20)
                figures["bw"].append(count / secs)
            else:
                secs, nbytes = append_raw(raw_path, batch, count)
                figures["ra"].append(nbytes / secs / 2**20)
                figures["br"].append(count / secs)
        assert log is not None
        os.sync()
        # Reads leave both files as they were: alternate several passes over both.
        for k in range(READ_PASSES):
            sides = ("ours", "raw", "segments")
            for side in sides if (r + k) % 2 == 0 else sides[::-1]:
                if side == "ours":
                    rsecs, rbytes = read_ours(log, per_batch, len(batch))
                    assert rbytes == log.size_bytes, (rbytes, log.size_bytes)
                    figures["ar"].append(rbytes / rsecs / 2**20)
                elif side == "raw":
                    rsecs, rbytes = read_raw(raw_path, chunk)
                    figures["rr"].append(rbytes / rsecs / 2**20)
                else:
                    rsecs, rbytes = read_raw_segments(log, chunk)
                    figures["rs"].append(rbytes / rsecs / 2**20)
        log.delete()
        raw_path.unlink()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="MiB written per run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    med = statistics.median
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="streamscope-storage-bench-"))
    try:
        print(f"{args.mib} MiB per run, {args.rounds} rounds alternating ours/raw, medians\n")
        print(
            f"{'batch':>8} | {'append MB/s':>11} {'raw write':>10} {'ratio':>6} "
            f"{'batches/s':>10} | {'read MB/s':>10} {'raw pread':>10} {'ratio':>6} "
            f"{'same files':>10} {'ratio':>6}"
        )
        for label, target in (("16 KiB", 16 * 1024), ("1 MiB", 1 << 20)):
            f = run(target, args.mib, args.rounds, root)
            print(
                f"{label:>8} | {med(f['aw']):11.0f} {med(f['ra']):10.0f} "
                f"{med(f['aw']) / med(f['ra']):6.2f} {med(f['bw']):10.0f} | "
                f"{med(f['ar']):10.0f} {med(f['rr']):10.0f} {med(f['ar']) / med(f['rr']):6.2f} "
                f"{med(f['rs']):10.0f} {med(f['ar']) / med(f['rs']):6.2f}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n(MB = MiB; total time {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
