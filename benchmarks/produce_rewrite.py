"""What the per-topic produce rewrites cost (core/produce_rewrite.py), in process.

Usage (from the repo root)::

    .venv/bin/python benchmarks/produce_rewrite.py            # ~15 s
    .venv/bin/python benchmarks/produce_rewrite.py --quick    # ~3 s

For one 1 MiB-ish batch (1 KiB x 1,000 records, lz4 as a producer sends it) and one
small batch (10 x 100 B, uncompressed), the append path ``prepare_records`` +
``Broker.produce`` on a real broker (temp dir, interval fsync) to topics that ask for:

* nothing (``compression.type=producer``, CreateTime): the pass-through every other
  topic takes; its figure against a bare ``Broker.produce`` is the cost of the check;
* ``message.timestamp.type=LogAppendTime``: header stamp + CRC32C of each batch;
* ``compression.type=lz4``: the large batch is already lz4 and passes as sent; the
  small one is compressed;
* ``compression.type=zstd`` and ``gzip``: decompress + recompress (the large batch
  goes to a worker thread, as it does in the Produce handler).

The large batch's values are 1 KiB of seeded random bytes, each repeated once (lz4
halves it), so the figures are not those of a trivially compressible payload.

Every figure is the median of the repeats (each repeat appends ``--n`` times and takes
the mean); the topics are interleaved repeat by repeat, and each row prints its ratio
to the bare append. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_broker
from streamscope.core.produce_rewrite import prepare_records
from streamscope.core.records import Compression, build_batch

TOPICS = {
    "bare Broker.produce": {},
    "pass-through": {},
    "LogAppendTime": {"message.timestamp.type": "LogAppendTime"},
    "lz4": {"compression.type": "lz4"},
    "zstd (recompress)": {"compression.type": "zstd"},
    "gzip (recompress)": {"compression.type": "gzip"},
}


async def measure(data_dir: Path, repeats: int, n: int) -> None:
    broker = await start_broker(BrokerConfig(port=0, data_dir=data_dir,
                                             retention_check_ms=3_600_000))
    try:
        names = {}
        for i, (label, configs) in enumerate(TOPICS.items()):
            names[label] = f"t{i}"
            broker.create_topic(f"t{i}", 1, {"max.message.bytes": "4000000",
                                             "segment.bytes": "1073741824", **configs})
        rng = random.Random(1)
        workloads = {
            "1 KiB x 1000, lz4": build_batch(
                [(None, rng.randbytes(512) * 2) for _ in range(1000)],
                compression=Compression.LZ4),
            "100 B x 10, none": build_batch([(None, b"v" * 100) for _ in range(10)]),
        }
        for wl_label, batch in workloads.items():
            samples: dict[str, list[float]] = {label: [] for label in TOPICS}
            for _ in range(repeats):
                for label in TOPICS:
                    topic = names[label]
                    t0 = time.perf_counter()
                    for _ in range(n):
                        if label == "bare Broker.produce":
                            broker.produce(topic, 0, batch)
                        else:
                            records, _t = await prepare_records(broker, topic, 0, batch, 1)
                            broker.produce(topic, 0, records)
                    samples[label].append((time.perf_counter() - t0) / n)
            bare = statistics.median(samples["bare Broker.produce"])
            print(f"\n{wl_label} ({len(batch):,} bytes per batch, MB/s of those bytes),"
                  f" median of {repeats}"
                  f" x {n} appends")
            print(f"  {'topic':22} {'us/append':>10} {'MB/s':>8} {'vs bare':>8}")
            for label in TOPICS:
                med = statistics.median(samples[label])
                print(f"  {label:22} {med * 1e6:10.1f} {len(batch) / med / 1e6:8.1f}"
                      f" {med / bare:7.2f}x")
    finally:
        await broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None)
    args = parser.parse_args()
    repeats = 5 if args.quick else 11
    n = args.n or (20 if args.quick else 50)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(Path(tmp) / "data", repeats, n))


if __name__ == "__main__":
    main()
