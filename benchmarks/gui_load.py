"""GUI responsiveness while a real producer drives the embedded broker hard.

Runs the desktop app offscreen (the same :class:`desktop.app.Streamscope` wiring users
run, under qasync) with its embedded broker on 127.0.0.1 port 0 and a throwaway data dir,
and starts a real Kafka producer (confluent-kafka / librdkafka) in a SEPARATE PROCESS that
produces 100-byte values as fast as it can (linger.ms 5, batch.size 1000000) for
``--seconds``. Meanwhile a 10 ms QTimer measures the GUI event loop's lag (how late each
timeout fires), the views cycle so every one of them draws under load, and the broker
service records how long each snapshot took to build. Prints:

* GUI event-loop lag p50 / p99 / max (ms)       aim: p99 < 50 ms
* snapshot build time p50 / p99 (ms)
* the producer's achieved msg/s                   aim: >= 50,000 msg/s

    .venv/bin/python benchmarks/gui_load.py [--seconds 20] [--partitions 6] [--rate 0]
                                            [--consumers 0] [--json out.json]

``--rate R`` paces the producer at R msg/s (default 0: as fast as it can).

``--consumers N`` also starts N in-process consumers (one group) reading the topic, so
the out rates and lag views have something to draw too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPIC = "load"
VALUE = b"x" * 100


def producer_main(bootstrap: str, topic: str, seconds: float, rate: float) -> None:
    """The separate producer process: produce (flat out, or paced at ``rate`` msg/s for
    ``rate`` > 0), then report what was delivered."""
    from confluent_kafka import Producer

    delivered = 0
    failed = 0

    def on_delivery(err, _msg) -> None:
        nonlocal delivered, failed
        if err is None:
            delivered += 1
        else:
            failed += 1

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "acks": 1,
            "enable.idempotence": False,
        }
    )
    start = time.monotonic()
    end = start + seconds
    produce = p.produce
    sent = 0
    while (now := time.monotonic()) < end:
        if rate > 0 and sent > (now - start) * rate:
            p.poll(0.001)  # ahead of the pace: serve callbacks, then check again
            continue
        sent += 1000
        for _ in range(1000):
            try:
                produce(topic, VALUE, on_delivery=on_delivery)
            except BufferError:
                p.poll(0.005)
        p.poll(0)
    p.flush(60)
    elapsed = time.monotonic() - start
    print(json.dumps({"delivered": delivered, "failed": failed, "elapsed": elapsed}), flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def gui_main(args: argparse.Namespace) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import asyncio

    import qasync
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from core.config import BrokerConfig
    from desktop.app import Streamscope, _quiet_offscreen_warnings
    from desktop.main_window import VIEW_KEYS

    _quiet_offscreen_warnings()

    app = QApplication.instance() or QApplication(["gui_load"])
    tmp = tempfile.TemporaryDirectory(prefix="streamscope-gui-load-")
    settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(tmp.name) / "data")
    shell = Streamscope(app, config, settings, theme="light", interactive=False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    lags: list[float] = []
    result: dict = {}
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(10)
    last = [0.0]
    measuring = [False]

    def on_probe() -> None:
        now = clock.nsecsElapsed() / 1e6
        if measuring[0] and last[0]:
            lags.append(max(0.0, now - last[0] - 10.0))
        last[0] = now

    probe.timeout.connect(on_probe)
    views = list(VIEW_KEYS)
    view_i = [0]

    def cycle_views() -> None:
        view_i[0] = (view_i[0] + 1) % len(views)
        shell.window.show_view(views[view_i[0]])
        if views[view_i[0]] == "topics":
            shell.window.topics.table.select_key(TOPIC)

    cycler = QTimer()
    cycler.setInterval(2000)
    cycler.timeout.connect(cycle_views)
    producer: list[subprocess.Popen] = []

    def topic_created(_result: object, error: BaseException | None) -> None:
        if error is not None:
            print(f"could not create the topic: {error}", file=sys.stderr)
            QCoreApplication.quit()
            return
        if args.consumers:
            shell.commands.start_consumers("load-readers", TOPIC, args.consumers, "range")
        shell.service.build_ms.clear()
        producer.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--producer",
                    shell.service.bootstrap,
                    "--seconds",
                    str(args.seconds),
                    "--rate",
                    str(args.rate),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        # librdkafka takes a moment to connect; measure from when records flow.
        QTimer.singleShot(1000, start_measuring)
        QTimer.singleShot(int((args.seconds + 90) * 1000), QCoreApplication.quit)  # safety
        poll_producer.start()

    def start_measuring() -> None:
        measuring[0] = True
        clock.restart()
        last[0] = 0.0

    def on_started(_bootstrap: str) -> None:
        shell.commands.create_topic(TOPIC, args.partitions, None, topic_created)

    poll_producer = QTimer()
    poll_producer.setInterval(200)

    def check_producer() -> None:
        if producer and producer[0].poll() is not None:
            measuring[0] = False
            out = producer[0].stdout.read() if producer[0].stdout else ""
            try:
                result["producer"] = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                result["producer"] = {"error": out}
            snap = shell.ticker.snapshot
            result["records_in"] = snap.counters.records_in if snap else 0
            QCoreApplication.quit()

    poll_producer.timeout.connect(check_producer)
    shell.service.started.connect(on_started)
    shell.window.resize(1440, 900)
    shell.start()
    probe.start()
    clock.start()
    cycler.start()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    build = list(shell.service.build_ms)
    shell.close()
    for p in producer:
        if p.poll() is None:
            p.kill()
    tmp.cleanup()

    prod = result.get("producer", {})
    rate = prod.get("delivered", 0) / prod["elapsed"] if prod.get("elapsed") else 0.0
    return {
        "seconds": args.seconds,
        "partitions": args.partitions,
        "consumers": args.consumers,
        "rate_asked": args.rate,
        "gui_lag_ms": {
            "samples": len(lags),
            "p50": statistics.median(lags) if lags else float("nan"),
            "p99": percentile(lags, 0.99),
            "max": max(lags) if lags else float("nan"),
        },
        "snapshot_build_ms": {
            "samples": len(build),
            "p50": statistics.median(build) if build else float("nan"),
            "p99": percentile(build, 0.99),
        },
        "producer": {
            "delivered": prod.get("delivered", 0),
            "failed": prod.get("failed", 0),
            "msgs_per_s": rate,
        },
        "broker_records_in": result.get("records_in", 0),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--consumers", type=int, default=0)
    p.add_argument("--rate", type=float, default=0, help="msg/s to produce; 0 = flat out")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--producer", metavar="BOOTSTRAP", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.producer:
        producer_main(args.producer, TOPIC, args.seconds, args.rate)
        return
    r = gui_main(args)
    lag, build, prod = r["gui_lag_ms"], r["snapshot_build_ms"], r["producer"]
    print(
        f"GUI event-loop lag (10 ms timer drift, {lag['samples']} samples): "
        f"p50 {lag['p50']:.1f} ms  p99 {lag['p99']:.1f} ms  max {lag['max']:.1f} ms"
    )
    print(
        f"snapshot build ({build['samples']} snapshots): "
        f"p50 {build['p50']:.2f} ms  p99 {build['p99']:.2f} ms"
    )
    print(
        f"producer (separate process, confluent-kafka): {prod['msgs_per_s']:,.0f} msg/s "
        f"({prod['delivered']:,} delivered, {prod['failed']} failed) over {r['seconds']:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
