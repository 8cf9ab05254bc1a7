"""``SimService``: the GUI's handle on the simulation, on the real app over a real broker.

The scenario runs on the broker loop of the app's own embedded broker (Qt offscreen, port
0); views arrive per tick with at most one request in flight; commands answer on the GUI
thread; a restarted broker gets a fresh scenario on its new address; closing the service
stops the partners and makes the apps leave their groups while the broker still answers.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from streamscope.desktop.sim_service import SimClosed

from tests.desktop.helpers import command


def latest_has(shell, check) -> bool:
    view = shell.sim.latest()
    return view is not None and bool(check(view))


def snapshot_has(shell, check) -> bool:
    shell.ticker.refresh_now()
    snap = shell.ticker.snapshot
    return snap is not None and bool(check(snap))


def test_views_follow_the_scenario_and_commands_answer_on_the_gui_thread(app_shell, qtbot):
    sim = app_shell.sim
    qtbot.waitUntil(lambda: sim.latest() is not None, timeout=10_000)
    assert sim.latest().partners is None and sim.latest().apps == ()

    threads: list[threading.Thread] = []

    def start(cb):
        def done(result, error):
            threads.append(threading.current_thread())
            cb(result, error)

        sim.start_partners(topic="svc-deliveries", partitions=3, partners=5, rate=40.0,
                           on_done=done)

    command(app_shell, qtbot, start)
    assert threads == [threading.main_thread()]
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: v.partners.sent > 0), timeout=10_000)
    assert sim.latest().partners.topic == "svc-deliveries"
    assert sim.latest().partners.partitions == 3
    qtbot.waitUntil(
        lambda: snapshot_has(app_shell, lambda s: s.topic("svc-deliveries") is not None),
        timeout=10_000,
    )
    assert len(app_shell.ticker.snapshot.topic("svc-deliveries").partitions) == 3

    group = command(app_shell, qtbot, lambda cb: sim.add_app(
        "counter", "svc-counter", topic="svc-deliveries", consumers=2, on_done=cb))
    assert group == "svc-counter"
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: any(
        a.group == "svc-counter" and a.processed > 0 for a in v.apps)), timeout=20_000)
    command(app_shell, qtbot, lambda cb: sim.remove_app("svc-counter", cb))
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: not v.apps), timeout=10_000)
    # A refusal reaches on_done as the error, on the GUI thread, not as a crash.
    with pytest.raises(KeyError):
        command(app_shell, qtbot, lambda cb: sim.kill_consumer("no-such-app", on_done=cb))
    command(app_shell, qtbot, lambda cb: sim.stop_partners(cb))
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: not v.partners.running),
                    timeout=10_000)


def test_at_most_one_view_request_is_in_flight(app_shell, qtbot):
    sim = app_shell.sim
    app_shell.ticker.stop()  # no tick asks meanwhile: the test's requests are the only ones
    qtbot.waitUntil(lambda: sim.latest() is not None, timeout=10_000)
    calls: list[int] = []
    release = threading.Event()
    blocked = threading.Event()

    def instrument(scenario):
        original = scenario.view

        def counted():
            calls.append(1)
            return original()

        scenario.view = counted

    command(app_shell, qtbot, lambda cb: sim.call(instrument, cb))
    qtbot.waitUntil(lambda: not sim._pending, timeout=5_000)  # the command's own refresh
    calls.clear()

    def hold(_scenario):
        blocked.set()
        release.wait(10)  # the broker loop is busy: requests pile up behind this

    sim.submit(hold)
    assert blocked.wait(10)
    before = sim.latest()
    for _ in range(20):
        sim.request_view()
    release.set()
    qtbot.waitUntil(lambda: sim.latest() is not before, timeout=10_000)
    qtbot.wait(200)  # any further build would have run by now; none was asked for
    assert len(calls) == 1


def test_a_restarted_broker_gets_a_new_scenario_on_its_new_address(app_shell, qtbot):
    sim, service = app_shell.sim, app_shell.service
    first = command(app_shell, qtbot, lambda cb: sim.call(lambda s: (s, s.bootstrap()), cb))
    assert first[1] == service.bootstrap
    service.stop()
    assert sim.latest() is None
    service.start(replace(service.config, port=0))
    qtbot.waitUntil(lambda: service.running, timeout=15_000)
    second = command(app_shell, qtbot, lambda cb: sim.call(lambda s: (s, s.bootstrap()), cb))
    assert second[0] is not first[0]
    assert second[1] == service.bootstrap
    command(app_shell, qtbot, lambda cb: sim.start_partners(
        topic="after-restart", partitions=2, partners=3, rate=30.0, on_done=cb))
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: v.partners is not None
                                       and v.partners.sent > 0), timeout=10_000)


def test_close_stops_the_partners_and_the_apps_leave_their_groups(app_shell, qtbot):
    sim = app_shell.sim
    command(app_shell, qtbot, lambda cb: sim.start_partners(
        topic="closing", partitions=2, partners=4, rate=30.0, on_done=cb))
    command(app_shell, qtbot, lambda cb: sim.add_app(
        "counter", "closing-app", topic="closing", consumers=2, on_done=cb))
    qtbot.waitUntil(lambda: snapshot_has(app_shell, lambda s: s.group("closing-app") is not None
                                         and len(s.group("closing-app").members) == 2),
                    timeout=20_000)
    sim.close()
    # The members left (LeaveGroup) at once: no session timeout to wait for.
    qtbot.waitUntil(lambda: snapshot_has(app_shell, lambda s: not s.group("closing-app").members),
                    timeout=3_000)
    qtbot.wait(300)  # snapshots taken from now on are all after the close
    hw = _high_watermarks(app_shell, "closing")
    qtbot.wait(500)
    assert _high_watermarks(app_shell, "closing") == hw  # nothing is produced any more
    with pytest.raises(SimClosed):
        sim.submit(lambda s: None).result(5)
    sim.close()  # idempotent


def _high_watermarks(shell, topic: str) -> tuple[int, ...]:
    shell.ticker.refresh_now()
    snap = shell.ticker.snapshot
    return tuple(p.high_watermark for p in snap.topic(topic).partitions)
