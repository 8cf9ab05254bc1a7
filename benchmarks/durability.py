"""Durable acknowledgements: ``--fsync always`` against ``interval``, same run, same client.

Usage (from the repo root)::

    .venv/bin/python benchmarks/durability.py              # ~2 minutes
    .venv/bin/python benchmarks/durability.py --rounds 3 --seconds 8 --json out.json

What it does (issue 13 is the authority):

* Measures the disk first: a 4 KiB write + fdatasync on the data dir's file system,
  p50 / p99 (alone, and with the disk writer below running).
* Starts two headless brokers on free loopback ports, ``--fsync interval`` and
  ``--fsync always``, each killed (process group) at the end.
* Per round, per condition (quiet disk / a concurrent disk writer: a thread in this
  harness writing 1 MiB chunks to a big file and fdatasyncing each), per broker in
  alternation (the order rotates every round):
  - throughput: a confluent-kafka producer (linger.ms 5, acks=all, 1 KiB values, one
    partition) sends N messages as fast as it can; msg/s from first send to flush done;
  - latency: the same producer paced at ``--rate`` msg/s (1,000 by default) for
    ``--seconds``; produce latency = delivery callback time - send time; p50 / p99.
  Each measurement runs its client in a separate process (``worker``), so the client
  never shares a GIL with the harness or the disk writer.
* Prints a table per condition (median over rounds) with the ratios always/interval,
  and the bound the issue sets for the p99 of always mode: one fsync time (p99 of the
  disk probe under the same condition) plus the batching interval (linger.ms).

Robustness: every wait has a deadline; a failed measurement is printed and skipped;
temp dirs are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the line above makes the sibling module importable
    BenchError,
    fmt_num,
    fmt_ratio,
    install_cleanup,
    median,
    percentile,
    print_table,
    remove_tree,
    run_worker,
    start_streamscope,
)

SCRIPT = Path(__file__).resolve()
LINGER_MS = 5
VALUE = 1024
CHUNK = 1024 * 1024  # the disk writer's write size
WRITER_FILE_MAX = 256 * 1024 * 1024  # it starts over past this


# --- the disk -------------------------------------------------------------------------


def fsync_probe(directory: Path, n: int = 200) -> dict[str, float]:
    """p50 / p99 ms of a 4 KiB append + fdatasync in ``directory``."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        block = os.urandom(4096)
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    times.sort()
    return {"p50": percentile(times, 50), "p99": percentile(times, 99)}


class DiskWriter:
    """A thread writing 1 MiB chunks to a big file, fdatasyncing each: a busy disk."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "disk-writer.bin"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-writer", daemon=True)
        self.written = 0

    def __enter__(self) -> DiskWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        chunk = os.urandom(CHUNK)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            size = 0
            while not self._stop.is_set():
                os.write(fd, chunk)
                os.fdatasync(fd)
                size += CHUNK
                self.written += CHUNK
                if size >= WRITER_FILE_MAX:
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    size = 0
        finally:
            os.close(fd)


# --- the client (a worker process) ------------------------------------------------------


def _producer(bootstrap: str):
    from confluent_kafka import Producer

    return Producer({
        "bootstrap.servers": bootstrap, "linger.ms": LINGER_MS, "batch.size": 1_000_000,
        "acks": "all", "compression.type": "none", "enable.idempotence": False,
        "queue.buffering.max.messages": 1_000_000,
    })


def worker_throughput(spec: dict[str, Any]) -> dict[str, Any]:
    p = _producer(spec["bootstrap"])
    topic, n = spec["topic"], spec["n"]
    value = b"x" * VALUE
    errors = [0]

    def done(err, _msg) -> None:
        if err is not None:
            errors[0] += 1

    p.produce(topic, value, partition=0, on_delivery=done)  # warm-up: metadata, connection
    p.flush(30)
    t0 = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                p.produce(topic, value, partition=0, on_delivery=done)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    left = p.flush(120)
    elapsed = time.perf_counter() - t0
    return {"msgs_per_s": n / elapsed, "errors": errors[0], "unflushed": left}


def worker_latency(spec: dict[str, Any]) -> dict[str, Any]:
    p = _producer(spec["bootstrap"])
    topic, rate, seconds = spec["topic"], spec["rate"], spec["seconds"]
    value = b"y" * VALUE
    latencies: list[float] = []
    errors = [0]

    def done_at(sent: float):
        def done(err, _msg) -> None:
            if err is not None:
                errors[0] += 1
            else:
                latencies.append((time.perf_counter() - sent) * 1000)
        return done

    p.produce(topic, value, partition=0)
    p.flush(30)
    interval = 1.0 / rate
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i * interval
        while True:
            now = time.perf_counter()
            if now >= due:
                break
            p.poll(min(due - now, 0.001))
        p.produce(topic, value, partition=0, on_delivery=done_at(time.perf_counter()))
        p.poll(0)
    p.flush(60)
    latencies.sort()
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else float("nan"), "n": len(latencies),
            "errors": errors[0]}


WORKERS = {"throughput": worker_throughput, "latency": worker_latency}


# --- the harness ------------------------------------------------------------------------


def create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=30)
    for fut in futures.values():
        fut.result(30)


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"disk": {}, "figures": []}
    tmp = Path(tempfile.mkdtemp(prefix="durability-", dir=args.tmp))
    try:
        brokers = {mode: start_streamscope(tmp, fsync=mode, name=f"Streamscope {mode}")
                   for mode in ("interval", "always")}
        for name, b in brokers.items():
            print(f"  {name}: {b.bootstrap} (pid {b.pid})")
        results["disk"]["quiet"] = fsync_probe(tmp)
        with DiskWriter(tmp):
            time.sleep(0.5)
            results["disk"]["writer"] = fsync_probe(tmp)
        for cond, probe in results["disk"].items():
            print(f"  disk ({cond}): 4 KiB write+fdatasync p50 {probe['p50']:.2f} ms,"
                  f" p99 {probe['p99']:.2f} ms")
        order = ["interval", "always"]
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds} (order: {', '.join(order)})")
            for cond in ("quiet", "writer"):
                writer = DiskWriter(tmp) if cond == "writer" else None
                if writer is not None:
                    writer.__enter__()
                try:
                    for mode in order:
                        b = brokers[mode]
                        b.check_alive()
                        topic = f"d-{mode}-{cond}-{r}"
                        create_topic(b.bootstrap, topic)
                        fig: dict[str, Any] = {"round": r, "cond": cond, "mode": mode}
                        try:
                            fig.update(tp=run_worker(SCRIPT, "throughput", {
                                "bootstrap": b.bootstrap, "topic": topic, "n": args.n},
                                timeout_s=300))
                            fig.update(lat=run_worker(SCRIPT, "latency", {
                                "bootstrap": b.bootstrap, "topic": topic, "rate": args.rate,
                                "seconds": args.seconds}, timeout_s=args.seconds * 4 + 60))
                        except BenchError as exc:
                            print(f"    {mode:8s} {cond:6s} failed: {exc}")
                            continue
                        results["figures"].append(fig)
                        print(f"    {mode:8s} {cond:6s} {fig['tp']['msgs_per_s']:>9,.0f} msg/s"
                              f"  p50 {fig['lat']['p50']:6.1f} ms  p99 {fig['lat']['p99']:6.1f} ms"
                              f"  max {fig['lat']['max']:6.1f} ms"
                              f"  errors {fig['tp']['errors'] + fig['lat']['errors']}")
                finally:
                    if writer is not None:
                        writer.__exit__()
            order = order[1:] + order[:1]
    finally:
        remove_tree(tmp)
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print(f"== median over rounds: 1 KiB values, linger.ms {LINGER_MS}, acks=all, one partition;"
          f" throughput n={args.n:,}, latency {args.rate:,} msg/s for {args.seconds:g} s")
    rows = []
    for cond in ("quiet", "writer"):
        def med(mode: str, key: str, sub: str, cond: str = cond) -> float | None:
            return median(f[key][sub] for f in results["figures"]
                          if f["cond"] == cond and f["mode"] == mode)

        disk = results["disk"].get(cond, {})
        bound = disk.get("p99", float("nan")) + LINGER_MS
        label = "quiet disk" if cond == "quiet" else "disk writer"
        ti, ta = med("interval", "tp", "msgs_per_s"), med("always", "tp", "msgs_per_s")
        rows.append([f"{label}: produce msg/s", fmt_num(ti), fmt_num(ta), fmt_ratio(ta, ti), ""])
        for q in ("p50", "p99"):
            li, la = med("interval", "lat", q), med("always", "lat", q)
            note = f"bound {bound:.1f} ms" if q == "p99" else ""
            rows.append([f"{label}: latency {q} ms", fmt_num(li, "ms"), fmt_num(la, "ms"),
                         fmt_ratio(la, li), note])
    print_table(["figure", "interval", "always", "always/interval", "p99 bound (fsync p99 + linger)"],
                rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        try:
            out = WORKERS[argv[1]](json.loads(argv[2]))
        except Exception as exc:  # noqa: BLE001 - reported to the harness as JSON
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--n", type=int, default=50_000, help="messages per throughput run")
    p.add_argument("--rate", type=int, default=1000, help="latency run: messages/s")
    p.add_argument("--seconds", type=float, default=5.0, help="latency run length")
    p.add_argument("--tmp", type=Path, default=None, help="parent dir for the data dirs")
    p.add_argument("--json", type=Path, default=None, help="write all raw figures here")
    args = p.parse_args(argv)
    install_cleanup()
    print(f"$ python benchmarks/durability.py {' '.join(argv)}".rstrip())
    results = run(args)
    report(results, args)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
