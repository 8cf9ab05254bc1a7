"""What one external-observer refresh costs, against the embedded broker over the wire.

Starts a real broker (:class:`core.runtime.BrokerThread`, 127.0.0.1, port 0) in a
temporary data dir, creates ``--topics`` topics of ``--partitions`` partitions with one
record in every partition and ``--groups`` consumer groups with a committed offset on
every partition of one topic each (committed by confluent-kafka, no members), then times
:meth:`core.monitor.external.ExternalObserver.snapshot` (the wire path) and, as the peer
in the same run, the embedded observer's snapshot of the same broker (taken on its loop).
Prints median and max milliseconds of each, their ratio, and the requests per refresh.

    .venv/bin/python benchmarks/external_snapshot.py [--topics 200] [--partitions 10]
                                                     [--groups 200] [--rounds 20]

The issue's target size is 2,000 partitions and 200 groups (the defaults).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.config import BrokerConfig
from streamscope.core.monitor.external import ExternalObserver, ExternalSettings
from streamscope.core.monitor.external_poller import ExternalPoller
from streamscope.core.runtime import BrokerThread


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topics", type=int, default=200)
    ap.add_argument("--partitions", type=int, default=10)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--focus-topics", type=int, default=1)
    ap.add_argument("--focus-groups", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(tmp))).start()
        try:
            run(bt, args)
        finally:
            bt.stop()
    return 0


def run(bt: BrokerThread, args: argparse.Namespace) -> None:
    bootstrap = bt.bootstrap
    names = [f"t{i:04d}" for i in range(args.topics)]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
            [NewTopic(n, args.partitions, 1) for n in names], request_timeout=60).values():
        future.result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for name in names:
        for p in range(args.partitions):
            producer.produce(name, b"x", partition=p)
    producer.flush(60)
    for g in range(args.groups):
        topic = names[g % len(names)]
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g{g:04d}"})
        c.commit(offsets=[TopicPartition(topic, p, 1) for p in range(args.partitions)],
                 asynchronous=False)
        c.close()
    observer = ExternalObserver(ExternalSettings(bootstrap), timeout_s=30)
    embedded = bt.call(lambda: bt.node.observer())
    observer.snapshot()  # connections and coordinators found once, as in a live view
    wire, local = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        snap = observer.snapshot()
        wire.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        bt.call(embedded.snapshot)
        local.append((time.perf_counter() - t0) * 1000)
    assert snap.partition_count == args.topics * args.partitions
    assert len(snap.groups) == args.groups
    # The poller: one full refresh, then focused ones only (full_every above the rounds).
    poller = ExternalPoller(ExternalSettings(bootstrap), full_every=args.rounds + 10,
                            timeout_s=30)
    focus_topics = names[:args.focus_topics]
    focus_groups = [f"g{g:04d}" for g in range(min(args.focus_groups, args.groups))]
    poller.set_focus(topics=focus_topics, groups=focus_groups)
    t0 = time.perf_counter()
    poller.poll()
    poller_full_ms, poller_full_requests = (time.perf_counter() - t0) * 1000, poller.requests_last
    focused = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        fsnap = poller.poll()
        focused.append((time.perf_counter() - t0) * 1000)
        assert not poller.full_last
    assert fsnap.partition_count == args.topics * args.partitions
    assert len(fsnap.groups) == args.groups
    fm = statistics.median(focused)
    wm, lm = statistics.median(wire), statistics.median(local)
    print(f"{args.topics} topics x {args.partitions} partitions = "
          f"{args.topics * args.partitions} partitions, {args.groups} groups, "
          f"{args.rounds} rounds")
    print(f"external (wire) snapshot: median {wm:.1f} ms, max {max(wire):.1f} ms, "
          f"{observer.requests_last} requests per refresh")
    print(f"embedded snapshot (peer): median {lm:.2f} ms, max {max(local):.2f} ms "
          f"(incl. the hop to the broker thread)")
    print(f"ratio external/embedded: {wm / lm:.0f}x")
    print(f"poller full refresh (first poll): {poller_full_ms:.1f} ms, "
          f"{poller_full_requests} requests")
    print(f"poller focused refresh ({len(focus_topics)} topics = "
          f"{len(focus_topics) * args.partitions} partitions, {len(focus_groups)} groups in "
          f"focus): median {fm:.1f} ms, max {max(focused):.1f} ms, "
          f"{poller.requests_last} requests per refresh "
          f"({wm / fm:.0f}x cheaper than the full refresh)")
    poller.close()


if __name__ == "__main__":
    sys.exit(main())
