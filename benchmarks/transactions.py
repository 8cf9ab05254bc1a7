"""Transactional produce against plain idempotent produce, same run, same broker, same client.

Usage (from the repo root)::

    .venv/bin/python benchmarks/transactions.py               # 3 rounds, ~1-2 minutes
    .venv/bin/python benchmarks/transactions.py --rounds 5 --n 200000 --json out.json

What it does:

* Starts one headless broker (``streamscope broker``, default fsync policy) on a free
  loopback port, killed (process group) at the end.
* Per round, per mode (the order rotates every round), in a fresh topic (one
  partition): a confluent-kafka producer (linger.ms 5, 100 B values) sends ``--n``
  messages and the time from the first send to the last message acknowledged is taken
  (after one warm-up message, so connections, metadata and the producer id are ready):
  - ``idempotent``: ``enable.idempotence`` (acks=all), one flush at the end;
  - ``txn-100`` / ``txn-10000``: a transactional producer committing every 100 / 10,000
    messages (begin, produce, commit_transaction; each commit waits for delivery, the
    EndTxn round trip and the markers).
  Each measurement runs its client in a separate Python process (``worker``).
* Prints the median msg/s of each mode over the rounds and its ratio to idempotent
  produce, and the median commit latency (EndTxn round trip included) per transaction.

Robustness: every wait has a deadline; a failed measurement is printed and skipped;
temp dirs are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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
    print_table,
    remove_tree,
    run_worker,
    start_streamscope,
)

SCRIPT = Path(__file__).resolve()
VALUE = b"v" * 100
MODES = {"idempotent": None, "txn-100": 100, "txn-10000": 10_000}


def produce_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One timed run: ``spec`` = bootstrap, topic, n, per_txn (None: idempotent)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap, topic, n, per_txn = spec["bootstrap"], spec["topic"], spec["n"], spec["per_txn"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        fut.result(timeout=30)
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "linger.ms": 5,
                            "queue.buffering.max.messages": 1_000_000}
    if per_txn is None:
        conf["enable.idempotence"] = True
    else:
        conf["transactional.id"] = f"bench-{topic}"
    producer = Producer(conf)
    delivered = 0

    def on_delivery(err, _msg) -> None:
        nonlocal delivered
        if err is None:
            delivered += 1

    commits: list[float] = []
    # Warm-up outside the timing, the same for every mode: connections, metadata and the
    # producer id (and the transaction coordinator) are all in place before t0.
    if per_txn is not None:
        producer.init_transactions(30)
        producer.begin_transaction()
    producer.produce(topic, VALUE, partition=0)
    if per_txn is not None:
        producer.commit_transaction(30)
    producer.flush(30)
    t0 = time.perf_counter()
    if per_txn is None:
        for _ in range(n):
            while True:
                try:
                    producer.produce(topic, VALUE, partition=0, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.flush(120)
    else:
        sent = 0
        while sent < n:
            producer.begin_transaction()
            for _ in range(min(per_txn, n - sent)):
                while True:
                    try:
                        producer.produce(topic, VALUE, partition=0, on_delivery=on_delivery)
                        break
                    except BufferError:
                        producer.poll(0.01)
                sent += 1
            c0 = time.perf_counter()
            producer.commit_transaction(120)
            commits.append((time.perf_counter() - c0) * 1000)
    elapsed = time.perf_counter() - t0
    if delivered != n:
        return {"error": f"{delivered} of {n} delivered"}
    commits.sort()
    return {"msgs_per_s": n / elapsed, "elapsed_s": elapsed,
            "commit_ms_p50": commits[len(commits) // 2] if commits else None,
            "transactions": len(commits)}


WORKERS = {"produce": produce_worker}


def run(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    workdir = Path(tempfile.mkdtemp(prefix="bench-txn-", dir=args.tmp))
    try:
        broker = start_streamscope(workdir)
        print(f"broker at {broker.bootstrap} (pid {broker.pid})")
        order = list(MODES)
        for rnd in range(args.rounds):
            for mode in order:
                spec = {"bootstrap": broker.bootstrap, "topic": f"{mode}-{rnd}",
                        "n": args.n, "per_txn": MODES[mode]}
                try:
                    broker.check_alive()
                    out = run_worker(SCRIPT, "produce", spec, timeout_s=300)
                except BenchError as exc:
                    print(f"  round {rnd + 1} {mode}: skipped ({exc})")
                    continue
                results[mode].append(out)
                print(f"  round {rnd + 1} {mode:>10}: {out['msgs_per_s']:>10,.0f} msg/s"
                      f" ({out['transactions']} transactions)")
            order = order[1:] + order[:1]
        broker.stop()
    finally:
        remove_tree(workdir)
    return results


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    base = median(r["msgs_per_s"] for r in results["idempotent"])
    rows = []
    for mode, runs in results.items():
        rate = median(r["msgs_per_s"] for r in runs)
        commit = median(r["commit_ms_p50"] for r in runs if r["commit_ms_p50"] is not None)
        rows.append([mode, fmt_num(rate), fmt_ratio(rate, base),
                     fmt_num(commit, "ms") if commit is not None else "-", str(len(runs))])
    print(f"\n{args.n:,} messages of {len(VALUE)} B per run, median over rounds:")
    print_table(["mode", "msg/s", "vs idempotent", "commit p50", "runs"], rows)


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
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=100_000, help="messages per run")
    p.add_argument("--tmp", type=Path, default=None, help="parent dir for the data dir")
    p.add_argument("--json", type=Path, default=None, help="write all raw figures here")
    args = p.parse_args(argv)
    install_cleanup()
    print(f"$ python benchmarks/transactions.py {' '.join(argv)}".rstrip())
    results = run(args)
    report(results, args)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
