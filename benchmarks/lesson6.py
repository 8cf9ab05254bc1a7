"""Lesson 6 figures: writing every update straight into SQLite vs through the broker.

Usage: ``.venv/bin/python benchmarks/lesson6.py [--steps 200,500,1000,2000,5000]
[--step-s 3] [--drain-s 10] [--partners 50] [--dir DIR]``

One run of :func:`streamscope.core.sim.database.run_db_race` on this machine: an embedded
broker (no listener) in a temp dir, in-process delivery partners producing at rising
load steps, the same stream offered to a direct writer (one transaction per update,
``synchronous=FULL``) and, through the topic, to a consumer group writing batches (one
transaction per batch). Both SQLite files sit in one directory (same disk, real fsync).
First the direct writer runs alone for 2 s (its ceiling on this disk). Prints the
per-step table (offered/s, writes/s, p99 update-to-visible latency, backlog and its peak
per path) and the top step and drain in words. A figure, not a test: it never fails
on numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamscope.core.config import BrokerConfig  # noqa: E402
from streamscope.core.node import Node  # noqa: E402
from streamscope.core.sim.city import generate_city  # noqa: E402
from streamscope.core.sim.database import DbRaceResult, DirectWriter, run_db_race  # noqa: E402
from streamscope.core.sim.partners import Fleet  # noqa: E402

CEILING_S = 2.0


async def direct_ceiling(root: Path) -> float:
    """Writes/s of the direct writer alone in this process (the same disk): the most
    the direct path can do here, one fsynced transaction per update."""
    fleet = Fleet(generate_city(1), 50)
    writer = DirectWriter(root / "ceiling.db", queue_max=100_000)
    for i in range(50_000):
        writer.offer(fleet.next_update(i), 0.0)
    loop = asyncio.get_running_loop()
    writer.start()
    await asyncio.sleep(0.2)  # the first commits (file creation) are not the steady rate
    rows0, t0 = writer.view().rows, loop.time()
    await asyncio.sleep(CEILING_S)
    rows1, t1 = writer.view().rows, loop.time()
    await writer.close()
    return (rows1 - rows0) / (t1 - t0)


async def race(args: argparse.Namespace, root: Path) -> DbRaceResult:
    node = Node(BrokerConfig(host="127.0.0.1", port=0, data_dir=root / "broker",
                             group_initial_rebalance_delay_ms=0), serve=False)
    await node.start()
    try:
        return await run_db_race(
            node.broker, node.groups, data_dir=root / "db",
            steps=[float(s) for s in args.steps.split(",")], step_s=args.step_s,
            drain_s=args.drain_s, partners=args.partners, seed=args.seed,
        )
    finally:
        await node.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="200,500,1000,2000,5000", help="updates/s per step")
    ap.add_argument("--step-s", type=float, default=3.0, help="seconds per load step")
    ap.add_argument("--drain-s", type=float, default=30.0, help="most seconds to drain")
    ap.add_argument("--partners", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the broker and both databases go (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lesson6-", dir=args.dir) as tmp:
        ceiling = asyncio.run(direct_ceiling(Path(tmp)))
        result = asyncio.run(race(args, Path(tmp)))
    print(f"Lesson 6 race on {platform.node()} ({os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite WAL synchronous=FULL, one disk)")
    print(f"steps of {args.step_s:g} s, {args.partners} partners, then a drain phase "
          f"(up to {args.drain_s:g} s, ends when both paths have written everything)\n")
    print(result.table())
    print(f"\nThe direct writer alone in this process (same disk, same settings), just "
          f"before the race: {ceiling:.0f} writes/s.")
    print("In the race it shares the process (and Python's GIL) with the simulated "
          "partners, the broker and the consumer,")
    print("as a Python app writing each update directly shares it with its request "
          "handling.")
    top = result.top
    print(f"\ntop step {top.label}: direct {top.direct.writes_per_s:.0f} writes/s, backlog "
          f"{top.direct.backlog}; via the broker {top.broker.writes_per_s:.0f} writes/s, "
          f"lag {top.broker.backlog}")
    drain = result.steps[-1]
    print(f"after the drain ({drain.seconds:.1f} s): direct backlog {drain.direct.backlog}, "
          f"broker lag {drain.broker.backlog}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
