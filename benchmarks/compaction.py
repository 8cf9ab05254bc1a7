"""Log compaction: cleaner throughput, and what it costs producers, measured in one run.

Usage: ``.venv/bin/python benchmarks/compaction.py [--mib 32] [--rounds 5] [--keys 1000]``

* **cleaner**: a partition log of ``--mib`` MiB of keyed records (1 KiB values, ``--keys``
  distinct keys, 4 MiB segments, batches of 16 records) is built once per codec (none,
  lz4) and copied fresh for each round; one whole pass (map, rewrite, swap, checkpoint;
  unthrottled) is timed. Printed: MB/s of log read by the pass (what it cleaned, as
  stored: compressed for lz4), MB/s written, records mapped per second, medians over
  the rounds, and the bytes kept. The lz4 log holds many more records per MB (its
  values compress), so compare it by records/s.
* **produce**: an in-process Broker takes 16-record batches of 1 KiB values through
  ``Broker.produce`` (the real path: CRC check, the compacted topic's key check,
  append) into a compacted topic, for about ``--produce-mib`` MiB per measurement,
  yielding to the loop every 64 batches. Four alternating variants per round: the
  topic with ``cleanup.policy=delete`` (no key check), compacted with the cleaner idle,
  and compacted while the cleaner thread (unthrottled, then at the 16 MiB/s default
  bound) cleans another, pre-filled compacted partition of the same broker. Printed:
  median MB/s each and the ratios to the first (1.0 = no cost).

Nothing is fsynced by the produce side (the default "interval" policy); the cleaner
fsyncs what it writes, as it does in the broker. A temp dir is used and removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamscope.core.broker import Broker  # noqa: E402
from streamscope.core.config import BrokerConfig, LogConfig  # noqa: E402
from streamscope.core.log import PartitionLog, cleaner  # noqa: E402
from streamscope.core.records import Compression, build_batch, validate_batches  # noqa: E402

BATCH_RECORDS = 16
VALUE = 1024
SEGMENT = 4 * 1024 * 1024
MB = 1e6


def batches(n_bytes: int, keys: int, codec: Compression, seed: int = 0) -> list[bytes]:
    out = []
    i = seed
    size = 0
    value = os.urandom(VALUE)
    while size < n_bytes:
        recs = [(b"key-%d" % ((i + j) % keys), value[(i + j) % 64:] + value[: (i + j) % 64])
                for j in range(BATCH_RECORDS)]
        b = build_batch(recs, compression=codec)
        out.append(b)
        size += len(b)
        i += BATCH_RECORDS
    return out


def fill(directory: Path, data: list[bytes], config: LogConfig) -> None:
    log = PartitionLog.open(directory, config)
    for b in data:
        buf = bytearray(b)
        log.append(buf, validate_batches(buf))
    log.roll()
    log.close()


def one_pass(directory: Path, config: LogConfig) -> tuple[float, int, int, int, int]:
    """(seconds, bytes read, bytes written, bytes kept, records) of one unthrottled pass."""
    log = PartitionLog.open(directory, config)
    try:
        t0 = time.perf_counter()
        p = cleaner.plan(log, int(time.time() * 1000))
        assert p is not None
        result = cleaner.run_pass(p, cleaner.Throttle(1 << 50, threading.Event()),
                                  max_keys=1 << 30, swap=lambda c: cleaner.commit_one(log, c))
        cleaner.finish(p.directory, result)
        dt = time.perf_counter() - t0
        return dt, result.bytes_read, result.bytes_written, log.size_bytes, result.records_mapped
    finally:
        log.close()


def bench_cleaner(work: Path, mib: int, keys: int, rounds: int) -> None:
    config = LogConfig(segment_bytes=SEGMENT, retention_ms=-1, cleanup_policy="compact",
                       min_cleanable_dirty_ratio=0.0)
    print(f"cleaner: {mib} MiB log, {keys} keys, 1 KiB values, {rounds} rounds (median)")
    print(f"  {'codec':6} {'read MB/s':>10} {'written MB/s':>13} {'records/s':>10}"
          f" {'log MB':>8} {'kept MB':>8}")
    for codec in (Compression.NONE, Compression.LZ4):
        master = work / f"master-{codec.name}"
        fill(master, batches(mib << 20, keys, codec), config)
        size = sum(f.stat().st_size for f in master.glob("*.log"))
        reads, writes, rates, kept = [], [], [], 0
        for r in range(rounds):
            copy = work / f"round-{codec.name}-{r}"
            shutil.copytree(master, copy)
            dt, nread, nwritten, kept, nrec = one_pass(copy, config)
            rates.append(nrec / dt)
            reads.append(nread / MB / dt)
            writes.append(nwritten / MB / dt)
            shutil.rmtree(copy)
        print(f"  {codec.name.lower():6} {statistics.median(reads):10.1f}"
              f" {statistics.median(writes):13.1f} {statistics.median(rates):10.0f}"
              f" {size / MB:8.1f} {kept / MB:8.2f}")


async def produce_rate(broker: Broker, topic: str, data: list[bytearray]) -> float:
    t0 = time.perf_counter()
    n = 0
    for i, b in enumerate(data):
        broker.produce(topic, 0, bytearray(b))
        n += len(b)
        if i % 64 == 63:
            await asyncio.sleep(0)  # the loop also swaps the cleaner's segments
    return n / MB / (time.perf_counter() - t0)


async def bench_produce(work: Path, keys: int, rounds: int, produce_mib: int,
                        big_mib: int) -> None:
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=work / "broker",
                          cleaner_interval_ms=3_600_000,
                          log=LogConfig(segment_bytes=SEGMENT, retention_ms=-1))
    broker = Broker(config)
    await broker.start()
    try:
        compact = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.0"}
        broker.create_topic("plain", 1, {})
        broker.create_topic("keyed", 1, compact)
        broker.create_topic("big", 1, compact)
        data = [bytearray(b) for b in batches(produce_mib << 20, keys, Compression.NONE)]
        fill_big = batches(big_mib << 20, keys, Compression.NONE, seed=7)
        results: dict[str, list[float]] = {k: [] for k in (
            "delete topic", "compacted, cleaner idle", "compacted, cleaner busy",
            "compacted, cleaner at 16 MiB/s")}
        big = broker.partition("big", 0).log
        lc = broker.cleaner
        for _ in range(rounds):
            results["delete topic"].append(await produce_rate(broker, "plain", data))
            results["compacted, cleaner idle"].append(
                await produce_rate(broker, "keyed", data))
            for label, rate in (("compacted, cleaner busy", 1 << 50),
                                ("compacted, cleaner at 16 MiB/s", 16 << 20)):
                for b in fill_big:  # fresh dirty data for the cleaner
                    broker.produce("big", 0, bytearray(b))
                big.roll()
                lc.config = cleaner.CleanerConfig(3_600_000, rate, 1 << 30)
                task = asyncio.create_task(lc.clean(big))
                await asyncio.sleep(0)  # let the pass start
                results[label].append(await produce_rate(broker, "keyed", data))
                busy = not task.done()
                await task
                if not busy:
                    print(f"  (note: the pass ended before the produce run did: {label})")
        base = statistics.median(results["delete topic"])
        print(f"produce: {produce_mib} MiB of 16 x 1 KiB batches per run, {rounds} rounds"
              f" (median); cleaner pass over ~{big_mib} MiB meanwhile")
        for label, values in results.items():
            med = statistics.median(values)
            print(f"  {label:32} {med:8.1f} MB/s   ratio {med / base:5.2f}")
    finally:
        await broker.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=32)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--produce-mib", type=int, default=32)
    ap.add_argument("--big-mib", type=int, default=64)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-compaction-"))
    try:
        bench_cleaner(work, args.mib, args.keys, args.rounds)
        asyncio.run(bench_produce(work, args.keys, args.rounds, args.produce_mib,
                                  args.big_mib))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
