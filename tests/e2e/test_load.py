"""The broker under a hundred concurrent client connections, producers and consumer groups
mixed: nothing lost, no client errors, every connection held at once, descriptors and
memory flat after warm-up (issue 13, "Load"; ``benchmarks/load.py`` is the full-size run).

The broker is the real one (``core.runtime.BrokerThread`` on 127.0.0.1 port 0) in this
process, so its snapshot (``EmbeddedObserver``) counts its connections and its group
offsets, and /proc/self gives its descriptors and RSS. The clients are confluent-kafka
instances in two other processes (``benchmarks/load.py worker clients``: one thread per
instance, every acknowledged and every consumed (partition, offset) reported back), so
their work does not share this process's GIL. Every wait is for a condition; a deadline
only turns a hang into a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread

from tests.e2e import ROOT, load_bench

HANG_S = 120.0  # only a hang reaches it

PRODUCERS, CONSUMERS, GROUPS, WORKERS = 40, 30, 3, 2  # 40 + 2 x 30 = 100 connections
RATE, SECONDS, SIZE = 600.0, 6.0, 100  # msg/s for all producers together
FD_TOLERANCE = 6  # a log segment rolled, a log file opened: not one per connection
RSS_GROWTH_MIB = 48  # the whole test process, from all connected to all drained


bench = load_bench("load")


def wait_for(what: str, cond: Callable[[], bool], every_s: float = 0.2) -> None:
    deadline = time.monotonic() + HANG_S
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached: {what}")
        time.sleep(every_s)


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerThread]:
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"))
    bt.start()
    try:
        yield bt
    finally:
        bt.stop()


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen, Any]]]:
    """The client processes a test starts, each with a reader of its stdout lines;
    killed after the test (they exit by themselves when it passes)."""
    started: list[tuple[subprocess.Popen, Any]] = []
    yield started
    for proc, _reader in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_hundred_connections_lose_nothing_and_hold_memory_and_descriptors_flat(
        broker: BrokerThread, clients: list, tmp_path: Path) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    observer = broker.node.observer()

    def summary() -> dict[str, Any]:
        return bench.summarize(broker.call(observer.snapshot))

    plan = bench.make_plan(PRODUCERS, CONSUMERS, GROUPS, WORKERS)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(bench.TOPIC, plan.partitions, 1)])[bench.TOPIC].result(HANG_S)
    del admin
    wait_for("the admin client disconnected", lambda: summary()["conns"] == 0)

    run_dir = tmp_path / "clients"
    run_dir.mkdir()
    for i in range(WORKERS):
        spec = bench.client_spec(plan, i, broker.bootstrap, run_dir, rate=RATE,
                                 seconds=SECONDS, size=SIZE)
        with open(tmp_path / f"clients-{i}.log", "wb") as log:
            proc = subprocess.Popen(bench.client_command(spec), stdout=subprocess.PIPE,
                                    stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT)
        clients.append((proc, bench.LineReader(proc)))
    for proc, reader in clients:
        line = reader.wait_for(lambda ln: ln == "READY" or ln.startswith("{"),
                               time.monotonic() + HANG_S)
        assert line == "READY", f"client process {proc.pid}: {line}"
    wait_for(f"{plan.connections} connections", lambda: summary()["conns"] >= plan.connections)

    # The sustained phase: sample the broker until every producer has flushed.
    samples: list[tuple[int, int, float, int]] = []  # (conns, fds, RSS MiB, records in)
    rss_start = rss_mib()
    (run_dir / "go").touch()

    def produced() -> bool:
        s = summary()
        samples.append((s["conns"], fds(), rss_mib(), s["records_in"]))
        return all(r.wait_for(lambda ln: ln == "PRODUCED", time.monotonic()) is not None
                   for _p, r in clients)

    wait_for("every producer flushed", produced, every_s=0.25)
    wait_for("every group committed up to the end of every partition",
             lambda: bench.behind(summary(), plan.groups) == 0)
    rss_end = rss_mib()
    (run_dir / "stop").touch()
    results = []
    for proc, reader in clients:
        assert reader.wait_eof(time.monotonic() + HANG_S), f"client {proc.pid} did not exit"
        results.append(json.loads(reader.lines[-1]))

    assert not [r["error"] for r in results if r.get("error")]
    errors = [e for r in results for e in r["error_samples"]]
    assert sum(r["errors"] for r in results) == 0, errors
    # A coordinator that leaves heartbeats unanswered past the session timeout shows as
    # librdkafka warnings (SESSTMOUT, REQTMOUT) and assignments revoked mid-run.
    warnings = bench.client_warnings(sorted(tmp_path.glob("clients-*.log")))
    assert not warnings, f"{len(warnings)} client warnings, e.g. {warnings[:2]}"
    assert sum(r["revoked"] for r in results) == 0
    sent, acked = sum(r["sent"] for r in results), sum(r["acked_n"] for r in results)
    assert sent > 0 and acked == sent
    assert bench.lost_by_group(results, plan.groups) == {g: 0 for g in plan.groups}
    assert min(c for c, _f, _r, _n in samples) >= plan.connections
    # Warm-up: the first third of the records; after it, no descriptor per request or
    # per record, and memory growth bounded.
    total_in = samples[-1][3]
    steady = [s for s in samples if s[3] >= total_in / 3]
    assert len(steady) >= 3, "too few samples after warm-up to judge"
    assert max(f for _c, f, _r, _n in steady) - steady[0][1] <= FD_TOLERANCE
    assert rss_end - rss_start <= RSS_GROWTH_MIB
