"""The simulation and the lessons switched to an external cluster (Tansu) and back, on the
real app (Qt offscreen, its own embedded broker on port 0).

``SimService.set_target(settings)``: the partners and a consumer app run through real
clients against Tansu (their topic and group exist there, not on the embedded broker), the
Sim page's view still counts them; back to None, the clients on Tansu stop first, then the
embedded broker's simulation answers again. ``LessonService.set_target``: lessons that
need the embedded broker are greyed out with the reason and cannot be opened; one that
can run is played against Tansu.
"""

from __future__ import annotations

import threading

import pytest
from confluent_kafka.admin import AdminClient
from PySide6.QtCore import Qt
from streamscope.core.monitor.external import ExternalSettings
from streamscope.desktop.lesson_service import LessonUnavailable

from tests.desktop.helpers import command


def sim_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith(("sim-ext", "sim-external", "sim-remote", "sim-switch"))]


def latest_has(shell, check) -> bool:
    view = shell.sim.latest()
    return view is not None and bool(check(view))


def test_the_simulation_runs_on_an_external_cluster_and_comes_back(app_shell, qtbot, tansu):
    sim = app_shell.sim
    changed: list[object] = []
    sim.target_changed.connect(changed.append)
    settings = ExternalSettings(tansu)
    command(app_shell, qtbot, lambda cb: sim.set_target(settings, cb))
    assert sim.target == settings and changed == [settings]
    assert "the cluster at " + tansu in app_shell.window.simulation.intro.text()

    command(app_shell, qtbot, lambda cb: sim.start_partners(
        topic="gui-ext", partitions=3, partners=5, rate=200.0, limit=200, on_done=cb))
    command(app_shell, qtbot, lambda cb: sim.add_app(
        "counter", "gui-ext-counter", topic="gui-ext", consumers=1, on_done=cb))
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: v.apps and v.partners.sent == 200
                                       and v.apps[0].delivery.updates == 200), timeout=20_000)
    view = sim.latest()
    assert view.partners.real_client and view.partners.partitions == 3
    assert sum(view.partners.per_partition) == 200  # acknowledged by Tansu

    # On Tansu, seen by a client of our own: the topic and the app's group ...
    admin = AdminClient({"bootstrap.servers": tansu})
    assert len(admin.list_topics(timeout=10).topics["gui-ext"].partitions) == 3
    groups = admin.list_consumer_groups(request_timeout=10).result(15)
    assert "gui-ext-counter" in {g.group_id for g in groups.valid}
    # ... and not on the embedded broker.
    app_shell.ticker.refresh_now()
    assert app_shell.ticker.snapshot.topic("gui-ext") is None
    # Killing a consumer needs in-process consumers: refused with the reason, no crash.
    with pytest.raises(RuntimeError, match="embedded broker"):
        command(app_shell, qtbot, lambda cb: sim.kill_consumer("gui-ext-counter", on_done=cb))

    # Back to the embedded broker: what ran on Tansu stops first (its threads end).
    command(app_shell, qtbot, lambda cb: sim.set_target(None, cb), timeout=40_000)
    assert sim.target is None and changed == [settings, None]
    qtbot.waitUntil(lambda: not sim_threads(), timeout=10_000)
    command(app_shell, qtbot, lambda cb: sim.start_partners(
        topic="gui-local", partitions=2, partners=3, rate=50.0, limit=20, on_done=cb))
    qtbot.waitUntil(lambda: latest_has(app_shell, lambda v: v.partners is not None
                                       and v.partners.topic == "gui-local"
                                       and v.partners.sent == 20), timeout=10_000)
    assert not sim.latest().partners.real_client and sim.latest().apps == ()


def test_lessons_on_an_external_cluster(app_shell, qtbot, tansu):
    lessons = app_shell.lessons
    panel = app_shell.window.lesson_panel
    assert panel.target_note.isHidden()
    app_shell.window.open_lesson("crash-rebalance")
    qtbot.waitUntil(lambda: lessons.latest() is not None, timeout=15_000)

    command(app_shell, qtbot, lambda cb: lessons.set_target(ExternalSettings(tansu), cb),
            timeout=40_000)
    assert app_shell.sim.target == ExternalSettings(tansu)
    # The open lesson kills a consumer: it cannot run there, so it is closed.
    assert lessons.lesson is None
    assert panel.step.text() == "No lesson open"
    assert not panel.target_note.isHidden() and tansu in panel.target_note.text()
    assert "5 lessons need the embedded broker" in panel.target_note.text()
    model = panel.chooser.model()
    index = panel.chooser.findData("crash-rebalance")
    assert panel.chooser.itemText(index).endswith("(embedded broker only)")
    assert not model.item(index).isEnabled()
    assert "LeaveGroup" in panel.chooser.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert model.item(panel.chooser.findData("ordering")).isEnabled()
    # The Lesson menu says the same.
    menu = app_shell.window.lesson_actions
    assert not menu["crash-rebalance"].isEnabled()
    assert "only on the embedded broker" in menu["crash-rebalance"].toolTip()
    assert menu["ordering"].isEnabled()
    with pytest.raises(LessonUnavailable, match="only on the embedded broker"):
        lessons.open("idempotence")

    # A lesson that runs there: its first step's partners write to Tansu.
    lessons.open("ordering")
    qtbot.waitUntil(lambda: lessons.latest() is not None
                    and lessons.latest().name == "ordering", timeout=15_000)
    command(app_shell, qtbot, lambda cb: lessons.next(cb), timeout=60_000)
    view = lessons.latest()
    assert view.step == 0 and view.status == "done", view.error
    admin = AdminClient({"bootstrap.servers": tansu})
    assert "deliveries" in admin.list_topics(timeout=10).topics

    command(app_shell, qtbot, lambda cb: lessons.set_target(None, cb), timeout=40_000)
    # Back on the embedded broker: the same lesson is open again, at its intro.
    qtbot.waitUntil(lambda: lessons.latest() is not None and lessons.latest().step == -1
                    and not lessons.busy(), timeout=15_000)
    assert lessons.lesson.name == "ordering"
    assert panel.target_note.isHidden()
    assert model.item(index).isEnabled()
    assert menu["crash-rebalance"].isEnabled()
    qtbot.waitUntil(lambda: not sim_threads(), timeout=10_000)
