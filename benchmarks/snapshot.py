"""How long one monitor snapshot takes on a busy broker.

Builds a real node (:class:`core.node.Node`, no listener) in a temporary data dir with
100 topics x 10 partitions (records in every partition) and 50 consumer groups of in-process consumers
(2 members each, committed offsets on every partition they own), then times
:meth:`core.monitor.EmbeddedObserver.snapshot` on the broker's loop, as the desktop app
calls it 10 times a second. Prints median, p99 and max in milliseconds.

    .venv/bin/python benchmarks/snapshot.py [--topics 100] [--partitions 10] [--groups 50]
                                            [--rounds 500]

Three runs: an idle broker (unchanged partitions are reused from the previous snapshot),
a busy one (a partition of every topic changes between snapshots), and busy after
``gc.freeze()`` as the app does once started: most of the p99 otherwise is Python's
full garbage collections scanning every long-lived object, not the snapshot itself.

Aim: median and p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamscope.core.clients import Consumer  # noqa: E402
from streamscope.core.config import BrokerConfig  # noqa: E402
from streamscope.core.node import Node  # noqa: E402
from streamscope.core.records import build_batch  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    node = await Node(BrokerConfig(port=0, data_dir=data_dir, fsync_interval_ms=60_000),
                      serve=False).start()
    broker = node.broker
    consumers: list[Consumer] = []
    try:
        t0 = time.perf_counter()
        batch = build_batch([(b"k%d" % i, b"x" * 100) for i in range(10)])
        for t in range(args.topics):
            name = f"topic-{t:03d}"
            broker.create_topic(name, args.partitions)
            for p in range(args.partitions):
                for _ in range(3):
                    broker.produce(name, p, bytearray(batch))
        setup_topics = time.perf_counter() - t0

        t0 = time.perf_counter()
        for g in range(args.groups):
            topic = f"topic-{g % args.topics:03d}"
            for m in range(2):
                c = Consumer(
                    broker,
                    f"group-{g:02d}",
                    [topic],
                    client_id=f"g{g}-c{m}",
                    auto_offset_reset="earliest",
                    heartbeat_interval_ms=3000,
                )
                await c.start()
                consumers.append(c)
        # Wait until every group is Stable with both members assigned, then consume and
        # commit so each group has offsets and lag to report.
        deadline = time.monotonic() + 120
        while True:
            infos = node.groups.snapshot()
            ready = sum(1 for g in infos if str(g.state) == "Stable" and len(g.members) == 2)
            if ready == args.groups and all(c.assignment() for c in consumers):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {ready}/{args.groups} groups became stable")
            await asyncio.sleep(0.05)
        for c in consumers:
            await c.getmany(timeout_ms=100, max_records=15)
            await c.commit()
        setup_groups = time.perf_counter() - t0

        observer = node.observer()
        observer.snapshot()  # warm-up

        async def measure(busy: bool) -> tuple[list[float], object]:
            times = []
            snap = None
            for i in range(args.rounds):
                if busy:
                    # Every partition of 100 topics moves between snapshots (worst case:
                    # nothing can be reused from the previous snapshot).
                    for t in range(min(args.topics, 100)):
                        broker.produce(f"topic-{t:03d}", i % args.partitions, bytearray(batch))
                t = time.perf_counter()
                snap = observer.snapshot()
                times.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0)  # let heartbeats run between snapshots, as in the app
            return times, snap

        idle, snap = await measure(False)
        busy, _ = await measure(True)
        gc.freeze()  # what the app does once started: long-lived objects leave the GC's scans
        frozen, _ = await measure(True)
        parts = sum(len(t.partitions) for t in snap.topics)
        offsets = sum(len(g.offsets) for g in snap.groups)
        members = sum(len(g.members) for g in snap.groups)
        print(
            f"snapshot of {len(snap.topics)} topics / {parts} partitions, {len(snap.groups)} "
            f"groups / {members} members / {offsets} committed partitions"
        )
        print(f"setup: topics {setup_topics:.1f} s, groups {setup_groups:.1f} s")
        for label, times in (
            ("idle broker", idle),
            ("busy broker", busy),
            ("busy, after gc.freeze() (as the app runs)", frozen),
        ):
            print(
                f"snapshot build, {label}, {args.rounds} rounds: "
                f"median {statistics.median(times):.2f} ms  p99 {percentile(times, 0.99):.2f} ms"
                f"  max {max(times):.2f} ms"
            )
    finally:
        for c in consumers:
            c.kill()
        await node.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--topics", type=int, default=100)
    p.add_argument("--partitions", type=int, default=10)
    p.add_argument("--groups", type=int, default=50)
    p.add_argument("--rounds", type=int, default=500)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="streamscope-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
