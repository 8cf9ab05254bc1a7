"""The simulation figures: achieved updates/s against the target, in-process and through a
real client; and the GUI open on the simulation while partners send.

    .venv/bin/python benchmarks/sim.py              # 3 rounds x 2 rates x 2 modes, + GUI (~4 min)
    .venv/bin/python benchmarks/sim.py --quick      # 1 round, shorter windows
    .venv/bin/python benchmarks/sim.py --no-gui     # the headless table only
    .venv/bin/python benchmarks/sim.py --rates 1000,5000,20000 --rounds 5

What one run measures, per round, per target rate (``--rates``, default 1,000 and 20,000
updates/s), per mode, each on a fresh broker (``core.runtime.BrokerThread``, as the app
runs it: its own thread and loop, port 0, a temp data dir):

* ``in-process``: :class:`core.sim.runner.SimRunner` on the broker loop (what the app's
  Simulation page runs by default): in-process producer, no socket.
* ``in-process + 3 apps``: :class:`core.sim.scenario.Scenario` as the Simulation page
  runs it, without the GUI: the same in-process partners, and three consumer apps (map,
  analytics, notifications; in-process consumer groups on the broker loop decoding every
  update). Its "achieved" is still the partners' appended records.
* ``real client``: :class:`core.sim.remote_partners.RemotePartners` (the page's "real
  client" mode): confluent-kafka over loopback TCP from a thread of the same process.

``--partners`` partners (500) share the rate. After ``--warmup`` seconds (1) the window
(``--seconds``, 5) is timed: achieved = records appended to the topic's logs in the
window (log end offsets, read on the broker loop) / window length; CPU = this process's
CPU time in the window (every thread: broker, sim, client) as % of one core; broker loop
lag p99 = how late a 10 ms sleep on the broker loop wakes (ms): what the sim costs every
other client of the broker.

GUI variant (``--no-gui`` skips it), one app process per round and rate, under Xvfb
(``xvfb-run``, Qt's xcb platform) where installed, else (or with ``--offscreen``) on Qt's
offscreen platform: the app (``desktop.app.Streamscope``) on its embedded broker with
three windows of 1280x720 fed by its one ticker: the main window on the Simulation page
(the customer map tab, the event log dock open), a second Simulation page on the
analytics tab (zone heatmap), and the Log page on the partners' topic (the three groups'
cursors). Three apps (map, analytics, notifications: in-process consumer groups on the
broker loop) read every update; the partners (in-process, ``--gui-partners``, 500) are started through the
page's service (``desktop.sim_service.SimService``) at each target rate. After
``--gui-warmup`` s (4) a ``--gui-seconds`` window (10) is timed. Frame = one repaint of a
window (its UpdateRequest, which paints every dirty child), wall ms; lag = lateness of a
10 ms ``Qt.PreciseTimer`` on the GUI thread; both cut and summarised by
``gui_load.phase_figures``, and lag samples over 20 ms put down to the overlapping paint
by ``gui_load.stall_causes``. Achieved = the partners' sent count over the window, from
the simulation's own views. Aim: frame p99 under 16.7 ms, lag p99 under 50 ms.
``--gui-shots DIR`` saves the three windows as PNGs at the end of each window.

Printed: per figure the median over rounds. Every wait has a deadline; only what this
script starts is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import median, percentile, print_table  # noqa: E402 - path set-up
from streamscope.core.config import BrokerConfig  # noqa: E402
from streamscope.core.runtime import BrokerThread  # noqa: E402
from streamscope.core.sim.remote_partners import RemotePartners  # noqa: E402
from streamscope.core.sim.runner import SimRunner  # noqa: E402
from streamscope.core.sim.scenario import Scenario  # noqa: E402

TOPIC = "deliveries"
PARTITIONS = 6
LAG_PROBE_S = 0.01
MODES = ("in-process", "in-process + 3 apps", "real client")
APPS = (("map", "customer-map"), ("analytics", "analytics"), ("notifications", "notifications"))


@dataclass
class Figure:
    mode: str
    target: float
    achieved: float  # records appended per second in the window
    cpu_pct: float  # this process, every thread, % of one core
    loop_lag_p99_ms: float
    errors: int


def _appended(bt: BrokerThread) -> int:
    def count() -> int:
        topic = bt.broker.topics.get(TOPIC)
        return sum(p.log.log_end_offset for p in topic.partitions) if topic else 0

    return bt.call(count)


class LoopLag:
    """A task on the broker loop sleeping 10 ms at a time, recording how late it wakes."""

    def __init__(self, bt: BrokerThread) -> None:
        self.bt = bt
        self.samples: list[tuple[float, float]] = []  # (monotonic, lateness ms)
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(LAG_PROBE_S)
            now = time.monotonic()
            self.samples.append((now, max(0.0, (now - t0 - LAG_PROBE_S) * 1000)))

    def start(self) -> None:
        async def go() -> None:
            self._task = asyncio.get_running_loop().create_task(self._probe())

        self.bt.submit(go).result(30)

    def stop(self) -> None:
        async def halt() -> None:
            if self._task is not None:
                self._task.cancel()

        self.bt.submit(halt).result(30)

    def p99(self, t0: float, t1: float) -> float:
        window = sorted(ms for t, ms in list(self.samples) if t0 <= t <= t1)
        return percentile(window, 99)


def _window(bt: BrokerThread, warmup: float, seconds: float,
            errors: Callable[[], int], profile: Path | None = None) -> tuple[float, float, float, int]:
    """(achieved /s, CPU %, loop lag p99 ms, errors) over the timed window; with
    ``profile``, cProfile of the broker loop's thread over the window, dumped there."""
    import cProfile

    lag = LoopLag(bt)
    lag.start()
    profiler = cProfile.Profile() if profile is not None else None
    try:
        time.sleep(warmup)
        if profiler is not None:  # cProfile follows the thread it is enabled in
            bt.call(profiler.enable)
        n0, t0, c0 = _appended(bt), time.monotonic(), time.process_time()
        time.sleep(seconds)
        n1, t1, c1 = _appended(bt), time.monotonic(), time.process_time()
        if profiler is not None:
            bt.call(profiler.disable)
            profiler.dump_stats(str(profile))
    finally:
        lag.stop()
    return (n1 - n0) / (t1 - t0), (c1 - c0) / (t1 - t0) * 100, lag.p99(t0, t1), errors()


async def _scenario(bt: BrokerThread, target: float, partners: int) -> Scenario:
    """What the app's Simulation page runs, without the GUI: partners and three apps."""
    scenario = Scenario(bt.broker, bt.node.groups, seed=1)
    for kind, group in APPS:
        await scenario.add_app(kind, group, topic=TOPIC)  # type: ignore[arg-type]
    await scenario.start_partners(topic=TOPIC, partitions=PARTITIONS, partners=partners,
                                  rate=target)
    return scenario


def measure(mode: str, target: float, partners: int, warmup: float,
            seconds: float, profile: Path | None = None) -> Figure:
    data = Path(tempfile.mkdtemp(prefix="sim-bench-"))
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data)).start()
    try:
        if mode == "in-process":
            async def start() -> SimRunner:
                runner = SimRunner(bt.broker, topic=TOPIC, partitions=PARTITIONS,
                                   partners=partners, rate=target, seed=1)
                await runner.start()
                return runner

            runner = bt.submit(start).result(30)
            try:
                figures = _window(bt, warmup, seconds, lambda: runner.errors, profile)
            finally:
                bt.submit(runner.stop).result(60)
        elif mode == "in-process + 3 apps":
            scenario = bt.submit(lambda: _scenario(bt, target, partners)).result(60)
            try:
                figures = _window(bt, warmup, seconds, lambda: bt.call(
                    lambda: scenario.view().partners.errors), profile)  # type: ignore[union-attr]
            finally:
                bt.submit(lambda: scenario.reset()).result(60)
        else:
            remote = RemotePartners(bt.bootstrap, TOPIC, partners, target, 1,
                                    partitions=PARTITIONS)
            remote.start()
            try:
                figures = _window(bt, warmup, seconds, lambda: remote.errors)
            finally:
                remote.stop()
        return Figure(mode, target, *figures)
    finally:
        bt.stop()
        shutil.rmtree(data, ignore_errors=True)


def headless(args: argparse.Namespace) -> list[Figure]:
    figures: list[Figure] = []
    for r in range(args.rounds):
        for target in args.rates:
            # Rotate which mode goes first, so none always runs on a warmer machine.
            modes = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            for mode in [m for m in modes if m in args.modes]:
                profile = None
                if args.profile and mode != "real client":
                    profile = Path(f"{args.profile}-{mode.replace(' + 3 ', '-').replace(' ', '')}"
                                   f"-{target:.0f}-r{r + 1}.prof")
                fig = measure(mode, target, args.partners, args.warmup, args.seconds, profile)
                print(f"round {r + 1}: {mode:19s} target {target:>8,.0f}/s achieved "
                      f"{fig.achieved:>10,.0f}/s CPU {fig.cpu_pct:5.0f} % loop lag p99 "
                      f"{fig.loop_lag_p99_ms:6.1f} ms errors {fig.errors}", flush=True)
                figures.append(fig)
    return figures


def print_headless(figures: list[Figure], args: argparse.Namespace) -> None:
    print()
    print(f"Achieved updates/s against the target (median of {args.rounds} round(s), "
          f"{args.seconds:g} s windows, {args.partners} partners, {PARTITIONS} partitions)")
    rows = []
    for target in args.rates:
        for mode in [m for m in MODES if m in args.modes]:
            mine = [f for f in figures if f.mode == mode and f.target == target]
            achieved = median(f.achieved for f in mine)
            rows.append([
                mode, f"{target:,.0f}", f"{achieved:,.0f}" if achieved is not None else "-",
                f"{achieved / target * 100:.1f} %" if achieved is not None else "-",
                f"{median(f.cpu_pct for f in mine):.0f} %",
                f"{median(f.loop_lag_p99_ms for f in mine):.1f}",
                str(sum(f.errors for f in mine)),
            ])
    print_table(["mode", "target/s", "achieved/s", "of target", "CPU (1 core)",
                 "broker loop lag p99 ms", "errors"], rows)


# --- GUI variant ------------------------------------------------------------------------

WINDOW = (1280, 720)


def worker_gui(spec: dict[str, object]) -> int:
    """The app with the simulation on screen at ``spec["rate"]``; figures to ``spec["result"]``.

    Windows: the main window on the Simulation page (the customer map tab, the event log
    dock open); a second Simulation page on the analytics tab; the Log page on the
    partners' topic (the three groups' cursors). All fed by the app's one ticker.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")  # as desktop.app.main does
    import gc

    import qasync
    from gui_load import lag_probe
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QWidget
    from streamscope.core.server import tune_allocator
    from streamscope.desktop.app import Streamscope, _quiet_offscreen_warnings
    from streamscope.desktop.views.log_view import LogView
    from streamscope.desktop.views.sim_view import SimView

    _quiet_offscreen_warnings()
    rate = float(spec["rate"])  # type: ignore[arg-type]
    warmup = float(spec["warmup"])  # type: ignore[arg-type]
    seconds = float(spec["seconds"])  # type: ignore[arg-type]
    work_dir = Path(str(spec["dir"]))
    app = QApplication.instance() or QApplication(["sim-bench"])
    settings = QSettings(str(work_dir / "settings.ini"), QSettings.Format.IniFormat)
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=work_dir / "data")
    tune_allocator()
    shell = Streamscope(app, config, settings, theme="light", interactive=False)  # type: ignore[arg-type]
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    sim, ticker = shell.sim, shell.ticker

    lag_t: list[float] = []
    lag_ms: list[float] = []
    frames: list[tuple[float, float]] = []  # (t, wall ms) of each window repaint
    frames_cpu: list[tuple[float, float]] = []
    ticks: list[tuple[float, float]] = []
    spans: list[tuple[float, float, str, float, float]] = []
    marks: dict[str, float] = {}
    sent_at: dict[str, tuple[float, int]] = {}
    errors: list[str] = []
    probe = lag_probe(lag_t, lag_ms)

    def time_paints(widget: QWidget, name: str) -> None:
        # A top-level widget's UpdateRequest paints every dirty child: one frame.
        widget_event = widget.event

        def timed_event(event: QEvent) -> bool:
            if event.type() != QEvent.Type.UpdateRequest:
                return widget_event(event)
            t0, c0 = time.monotonic(), time.thread_time()
            result = widget_event(event)
            t1 = time.monotonic()
            frames.append((t1, (t1 - t0) * 1000))
            frames_cpu.append((t1, (time.thread_time() - c0) * 1000))
            spans.append((t0, t1, f"paint {name}", (time.thread_time() - c0) * 1000, 0.0))
            return result

        widget.event = timed_event  # type: ignore[method-assign]

    ticker.tick.connect(lambda snap, _h: ticks.append((time.monotonic(), snap.build_ms)))
    window = shell.window
    window.resize(*WINDOW)
    time_paints(window, "main window (Simulation, map)")
    analytics = SimView(sim, shell.themes.theme)
    analytics.resize(*WINDOW)
    analytics.setWindowTitle("Simulation: analytics")
    time_paints(analytics, "Simulation, analytics")
    log_view = LogView(shell.themes.theme)
    log_view.resize(*WINDOW)
    time_paints(log_view, "Log page")
    ticker.tick.connect(analytics.on_tick)
    ticker.slow_tick.connect(analytics.on_slow_tick)
    ticker.tick.connect(log_view.on_tick)
    ticker.slow_tick.connect(log_view.on_slow_tick)

    def check(what: str):  # on_done of the simulation's commands
        def done(_result: object, error: BaseException | None) -> None:
            if error is not None:
                errors.append(f"{what}: {error}")
                QCoreApplication.quit()
        return done

    def sent_now() -> tuple[float, int] | None:
        view = sim.latest()
        if view is None or view.partners is None:
            return None
        return view.at_ms / 1000.0, view.partners.sent

    def show_tabs() -> None:
        window.simulation.apps.show_app("customer-map")
        analytics.apps.show_app("analytics")
        log_view.show_topic(TOPIC)

    profiler = None
    if spec.get("profile"):  # the GUI thread only (cProfile follows the thread it runs in)
        import cProfile

        profiler = cProfile.Profile()

    def begin() -> None:
        show_tabs()
        if profiler is not None:
            profiler.enable()
        marks["t0"] = time.monotonic()
        got = sent_now()
        if got is not None:
            sent_at["t0"] = got
        QTimer.singleShot(int(seconds * 1000), end)

    def end() -> None:
        marks["t1"] = time.monotonic()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(spec["profile"]) + f"-{rate:.0f}.prof")
        got = sent_now()
        if got is not None:
            sent_at["t1"] = got
        view = sim.latest()
        if view is not None:
            marks["apps_lag"] = float(sum(a.lag for a in view.apps))
        if spec.get("shots"):  # to check by eye what was on screen (after the window)
            shots = Path(str(spec["shots"]))
            shots.mkdir(parents=True, exist_ok=True)
            for name, w in (("main", window), ("analytics", analytics), ("log", log_view)):
                w.grab().save(str(shots / f"sim-{rate:.0f}-{name}.png"))
        QCoreApplication.quit()

    def on_started(_bootstrap: str) -> None:
        gc.freeze()  # as desktop.app.main does once its broker is up
        window.show_view("simulation")
        window.show_event_log()
        analytics.show()
        log_view.show()
        for kind, group in APPS:
            sim.add_app(kind, group, topic=TOPIC, on_done=check(f"add {kind}"))  # type: ignore[arg-type]
        partners = int(spec["partners"])  # type: ignore[call-overload]
        sim.start_partners(topic=TOPIC, partitions=PARTITIONS, partners=partners, rate=rate, on_done=check("start partners"))
        QTimer.singleShot(500, show_tabs)
        QTimer.singleShot(int(warmup * 1000), begin)

    shell.service.started.connect(on_started)
    shell.service.failed.connect(lambda exc: (errors.append(f"broker: {exc}"),
                                              QCoreApplication.quit()))
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(lambda: (errors.append("timed out"), QCoreApplication.quit()))
    watchdog.start(int((warmup + seconds + 120) * 1000))
    shell.start()
    probe.start()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    probe.stop()
    for w in (analytics, log_view):
        w.close()
        w.deleteLater()
    shell.close()
    achieved = None
    if "t0" in sent_at and "t1" in sent_at:
        (a0, n0), (a1, n1) = sent_at["t0"], sent_at["t1"]
        achieved = (n1 - n0) / (a1 - a0) if a1 > a0 else None
    Path(str(spec["result"])).write_text(json.dumps({
        "lag_t": lag_t, "lag_ms": lag_ms, "frames": frames, "frames_cpu": frames_cpu,
        "ticks": ticks, "work": [], "spans": spans, "marks": marks, "achieved": achieved,
        "errors": errors, "platform": os.environ.get("QT_QPA_PLATFORM"),
    }))
    return 0 if not errors else 1


@dataclass
class GuiFigure:
    target: float
    achieved: float | None
    frame_p50: float | None
    frame_p99: float | None
    frame_max: float | None
    frames_per_s: float
    lag_p50: float | None
    lag_p99: float | None
    lag_max: float | None
    apps_lag: float | None
    stalls: dict[str, dict[str, float]]


def run_gui(target: float, args: argparse.Namespace, use_xvfb: bool) -> GuiFigure:
    import subprocess

    from gui_load import phase_figures, stall_causes

    work = Path(tempfile.mkdtemp(prefix="sim-bench-gui-"))
    try:
        result = work / "result.json"
        spec = {"rate": target, "warmup": args.gui_warmup, "seconds": args.gui_seconds,
                "dir": str(work), "result": str(result), "shots": args.gui_shots,
                "partners": args.gui_partners,
                "profile": args.gui_profile}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--gui-worker", json.dumps(spec)]
        env = dict(os.environ)
        if use_xvfb:
            cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *cmd]
            env["QT_QPA_PLATFORM"] = "xcb"
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=args.gui_warmup + args.gui_seconds + 240)
        if not result.exists():
            raise RuntimeError(f"GUI worker failed ({proc.returncode}): {proc.stderr[-2000:]}")
        gui = json.loads(result.read_text())
        if gui["errors"]:
            raise RuntimeError(f"GUI worker: {gui['errors']}; {proc.stderr[-1000:]}")
        t0, t1 = gui["marks"]["t0"], gui["marks"]["t1"]
        f = phase_figures(gui, t0, t1)
        return GuiFigure(target, gui["achieved"], f["frame_p50"], f["frame_p99"],
                         f["frame_max"], f["frames_per_s"] or 0.0, f["lag_p50"], f["lag_p99"],
                         f["lag_max"], gui["marks"].get("apps_lag"),
                         stall_causes(gui, t0, t1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def gui_variant(args: argparse.Namespace) -> list[GuiFigure]:
    use_xvfb = not args.offscreen and shutil.which("xvfb-run") is not None
    print(f"\nGUI variant: {'Xvfb (xcb)' if use_xvfb else 'offscreen'}, windows "
          f"{WINDOW[0]}x{WINDOW[1]}, {args.gui_partners} partners, apps "
          f"{', '.join(k for k, _ in APPS)}", flush=True)
    out: list[GuiFigure] = []
    for r in range(args.gui_rounds):
        for target in args.rates:
            fig = run_gui(target, args, use_xvfb)
            print(f"round {r + 1}: GUI target {target:>8,.0f}/s achieved "
                  f"{_f(fig.achieved, ',.0f')}/s frame p99 {_f(fig.frame_p99)} ms "
                  f"lag p99 {_f(fig.lag_p99)} ms apps lag {_f(fig.apps_lag, ',.0f')}",
                  flush=True)
            for cause, c in sorted(fig.stalls.items(), key=lambda kv: -kv[1]["ms"])[:3]:
                print(f"    lag over 20 ms: {c['n']:.0f} x {cause} ({c['ms']:.0f} ms)")
            out.append(fig)
    return out


def _f(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_gui(figures: list[GuiFigure], args: argparse.Namespace) -> None:
    print()
    print(f"GUI open on the simulation (median of {args.gui_rounds} round(s), "
          f"{args.gui_seconds:g} s windows; aim: frame p99 < 16.7 ms, lag p99 < 50 ms)")
    rows = []
    for target in args.rates:
        mine = [f for f in figures if f.target == target]
        rows.append([
            f"{target:,.0f}", _f(median(f.achieved for f in mine if f.achieved), ",.0f"),
            _f(median(f.frame_p50 for f in mine)), _f(median(f.frame_p99 for f in mine)),
            _f(median(f.frame_max for f in mine)), _f(median(f.frames_per_s for f in mine)),
            _f(median(f.lag_p50 for f in mine)), _f(median(f.lag_p99 for f in mine)),
            _f(median(f.lag_max for f in mine)),
        ])
    print_table(["target/s", "achieved/s", "frame p50 ms", "frame p99 ms", "frame max ms",
                 "frames/s", "lag p50 ms", "lag p99 ms", "lag max ms"], rows, align_left=0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rates", default="1000,20000",
                   help="target updates/s, comma-separated (default 1000,20000)")
    p.add_argument("--partners", type=int, default=500)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--quick", action="store_true", help="1 round, 3 s windows")
    p.add_argument("--modes", default=",".join(MODES),
                   help=f"headless modes, comma-separated (default {','.join(MODES)})")
    p.add_argument("--profile", default=None, metavar="PREFIX",
                   help="cProfile the broker loop over each in-process window to "
                        "PREFIX-MODE-RATE-rN.prof")
    p.add_argument("--no-gui", action="store_true", help="skip the GUI variant")
    p.add_argument("--gui-only", action="store_true", help="only the GUI variant")
    p.add_argument("--gui-rounds", type=int, default=None, help="default: --rounds")
    p.add_argument("--gui-partners", type=int, default=500,
                   help="partners in the GUI variant (the map draws each, with its trail)")
    p.add_argument("--gui-warmup", type=float, default=4.0)
    p.add_argument("--gui-seconds", type=float, default=10.0)
    p.add_argument("--offscreen", action="store_true",
                   help="GUI on Qt's offscreen platform even where Xvfb is installed")
    p.add_argument("--gui-shots", default=None, metavar="DIR",
                   help="save the GUI windows as PNGs here at the end of each window")
    p.add_argument("--gui-profile", default=None, metavar="PREFIX",
                   help="cProfile the GUI thread over each window to PREFIX-RATE.prof")
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    p.add_argument("--gui-worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.gui_rounds is None:
        args.gui_rounds = args.rounds
    args.rates = [float(x) for x in args.rates.split(",") if x]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(MODES)
    if unknown:
        p.error(f"unknown mode(s) {', '.join(sorted(unknown))} (one of {', '.join(MODES)})")
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
        args.gui_rounds, args.gui_seconds = 1, 6.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.gui_worker is not None:
        return worker_gui(json.loads(args.gui_worker))
    print(f"benchmarks/sim.py on {os.cpu_count()} CPUs, load average at the start "
          f"{os.getloadavg()[0]:.2f} (other work on the machine shows in every figure)",
          flush=True)
    figures: list[Figure] = []
    if not args.gui_only:
        figures = headless(args)
        print_headless(figures, args)
    gui: list[GuiFigure] = []
    if not args.no_gui:
        gui = gui_variant(args)
        print_gui(gui, args)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    out: dict[str, object] = {"headless": [asdict(f) for f in figures],
                              "gui": [asdict(f) for f in gui]}
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
