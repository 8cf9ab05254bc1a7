"""What the Simulation page costs the GUI thread per tick: refresh + paint of the map and
the heatmap, on a realistic :class:`~streamscope.core.sim.scenario.ScenarioView`.

No broker: the customer map, analytics and notifications models (core/sim/apps.py, the
same objects the apps run) are fed by a :class:`~streamscope.core.sim.partners.Fleet` at
the chosen total rate, so the view holds what a running simulation holds (500 partners,
full trails). Per frame: the stream advances by one fast tick (rate / 10 updates), the
models' snapshots make a ScenarioView (broker-loop work, timed apart), then the page's
fast tick (``SimView.on_tick``: the visible app's picture and counters) and a grab of
the page (a full paint into a pixmap) are timed on the GUI thread; every fifth frame the
slow tick (``on_slow_tick``: tables, figures) is timed too. Prints p50 / p99 of CPU time
(``time.thread_time``) and wall time per frame, for the map tab and the analytics tab;
the paint of the whole page (what a window shown for the first time costs) apart.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/sim_paint.py
    .venv/bin/python benchmarks/sim_paint.py --rates 1000 20000 --frames 200 --png /tmp/sim.png
    .venv/bin/python benchmarks/sim_paint.py --profile map   # cProfile of the map frames

Figures, not a test: they vary with the machine's load.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from streamscope.core.sim.apps import Analytics, CustomerMap, Notifications  # noqa: E402
from streamscope.core.sim.city import generate_city  # noqa: E402
from streamscope.core.sim.consumers import AppView, MemberView, _make_model  # noqa: E402
from streamscope.core.sim.partners import Fleet  # noqa: E402
from streamscope.core.sim.scenario import PartnersView, ScenarioView  # noqa: E402
from streamscope.desktop.theme import LIGHT  # noqa: E402

PAGE_SIZE = (1065, 650)  # the page area of the main window at 1280x720 (sidebar, status bar)
TICK_HZ = 10
PARTITIONS = 6


class Stream:
    """The three apps' models fed by one fleet at ``rate`` updates/s (simulated time)."""

    def __init__(self, partners: int, rate: float, trail_len: int) -> None:
        self.city = generate_city(1)
        self.fleet = Fleet(self.city, partners)
        self.rate = rate
        self.partners = partners
        self.map = CustomerMap(trail_len=trail_len)
        self.analytics = Analytics(self.city)
        self.notifications = Notifications(self.city)
        self.now_ms = 1_700_000_000_000.0
        self.sent = 0

    def advance(self, seconds: float) -> None:
        n = int(self.rate * seconds)
        step = 1000.0 / self.rate
        for _ in range(n):
            self.now_ms += step
            u = self.fleet.next_update(self.now_ms)
            for model in (self.map, self.analytics, self.notifications):
                model.ingest(u, produced_ms=self.now_ms, processed_ms=self.now_ms + 12.0)
        self.sent += n

    def view(self) -> ScenarioView:
        def app(group: str, kind, model) -> AppView:
            members = tuple(
                MemberView(f"{group}-{i + 1}", f"m{i}", "stable",
                           tuple(("deliveries", q) for q in range(PARTITIONS) if q % 2 == i),
                           False, 0.0, self.sent // 2, False)
                for i in range(2)
            )
            return AppView(group, kind, "deliveries", "range", "after", members,
                           model.delivery.counts(), self.sent, 0, snapshot(model))

        def snapshot(model):
            if isinstance(model, Analytics):
                return model.snapshot(self.now_ms)
            return model.snapshot()

        per = self.sent // PARTITIONS
        partners = PartnersView(True, "deliveries", PARTITIONS, self.partners, self.rate, 1.0,
                                self.sent, 0, self.rate, False, (per,) * PARTITIONS)
        apps = (app("customer-map", "map", self.map),
                app("analytics", "analytics", self.analytics),
                app("notifications", "notifications", self.notifications))
        return ScenarioView(partners, apps, self.city, self.now_ms)


class StubSim:
    """What the page reads of SimService on a tick: the newest view."""

    def __init__(self) -> None:
        self.view: ScenarioView | None = None

    def latest(self) -> ScenarioView | None:
        return self.view


@dataclass
class Figures:
    cpu: list[float]
    wall: list[float]

    def line(self) -> str:
        return (f"CPU p50 {statistics.median(self.cpu):6.2f} p99 {pct(self.cpu, .99):6.2f}"
                f"   wall p50 {statistics.median(self.wall):6.2f} p99 {pct(self.wall, .99):6.2f}")


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def timed(fn) -> tuple[float, float]:
    c0, w0 = time.thread_time(), time.perf_counter()
    fn()
    return (time.thread_time() - c0) * 1000, (time.perf_counter() - w0) * 1000


def run(app: QApplication, rate: float, tab: str, args, png: str | None) -> None:
    from streamscope.desktop.views.sim_view import SimView

    stream = Stream(args.partners, rate, args.trail_len)
    stream.advance(args.warm)
    sim = StubSim()
    page = SimView(sim, LIGHT)  # type: ignore[arg-type]  # the page reads latest() only
    page.resize(*PAGE_SIZE)
    page.show()
    sim.view = stream.view()
    page.on_slow_tick(None, None)  # type: ignore[arg-type]  # the page ignores them
    page.apps.show_app(tab)
    page.on_tick(None, None)  # type: ignore[arg-type]
    app.processEvents()
    panel = page.apps.current()
    assert panel is not None and panel.picture is not None
    picture = panel.picture
    snap, fast, page_paint, idle, slow = (Figures([], []) for _ in range(5))
    profile = cProfile.Profile() if args.profile == tab.split("-")[-1] else None

    def frame() -> None:
        page.on_tick(None, None)  # type: ignore[arg-type]
        picture.grab()

    for i in range(args.frames):
        stream.advance(1 / TICK_HZ)
        c, w = timed(lambda: setattr(sim, "view", stream.view()))
        snap.cpu.append(c)
        snap.wall.append(w)
        if profile is not None:
            profile.enable()
        for figures, fn in ((fast, frame), (page_paint, page.grab)):
            c, w = timed(fn)
            figures.cpu.append(c)
            figures.wall.append(w)
        sim.view = stream.view() if args.same_content else sim.view
        c, w = timed(frame)  # nothing new processed (or the very same view): nothing to draw
        idle.cpu.append(c)
        idle.wall.append(w)
        if i % (TICK_HZ // 2) == 0:
            c, w = timed(lambda: page.on_slow_tick(None, None))  # type: ignore[arg-type]
            slow.cpu.append(c)
            slow.wall.append(w)
        if profile is not None:
            profile.disable()
        app.processEvents()
    points = sum(len(p.trail) for p in stream.map.snapshot().partners)
    print(f"{fmt_rate(rate)} updates/s, {tab} tab, {args.partners} partners, "
          f"{points:,} trail points in the app's model")
    print(f"  fast tick: on_tick + paint of the picture  {fast.line()}")
    print(f"  paint of the whole page                    {page_paint.line()}")
    print(f"  fast tick, nothing new processed           {idle.line()}")
    print(f"  slow tick (on_slow_tick)                   {slow.line()}")
    print(f"  scenario view (broker loop, not GUI)       {snap.line()}")
    if png:
        page.grab().save(png.replace(".png", f"_{tab}_{int(rate)}.png"))
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    page.close()
    page.deleteLater()
    app.processEvents()


def quiet(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if "propagateSizeHints" not in message:  # the offscreen platform's, once per window
        print(message, file=sys.stderr)


def fmt_rate(rate: float) -> str:
    return f"{rate:>8,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1000.0, 20000.0])
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--warm", type=float, default=60.0, help="seconds of stream first")
    parser.add_argument("--trail-len", type=int, default=None,
                        help="trail points per partner (default: the apps' own)")
    parser.add_argument("--tabs", nargs="+", default=["customer-map", "analytics"])
    parser.add_argument("--profile", choices=["map", "analytics"], default=None)
    parser.add_argument("--png", default=None, help="save the last frame of each run")
    parser.add_argument("--same-content", action="store_true",
                        help="the idle frame gets a new view of unchanged models (else the "
                             "same view object again)")
    args = parser.parse_args()
    if args.trail_len is None:
        model = _make_model("map", generate_city(1))
        assert isinstance(model, CustomerMap)
        args.trail_len = model.trail_len
    app = QApplication.instance() or QApplication(sys.argv[:1])
    qInstallMessageHandler(quiet)
    gc.freeze()  # as the app does after start-up: old objects out of the collector's way
    print(f"Simulation page {PAGE_SIZE[0]}x{PAGE_SIZE[1]} offscreen, trail_len "
          f"{args.trail_len}, {args.frames} frames per run, ms per frame")
    for rate in args.rates:
        for tab in args.tabs:
            run(app, rate, tab, args, args.png)


if __name__ == "__main__":
    main()
