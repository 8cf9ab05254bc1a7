"""The Simulation page, driven as a user drives it: the real app on a real broker (offscreen).

Partners started from the panel create their topic with the chosen partitions and the
sent figure rises; a customer-map app draws the partners it consumed; the crash buttons
make duplicates (crash before commit) and lost updates (crash after commit) appear, and
kill leaves a dead member whose partitions go to the survivor; the forms say what is
wrong before anything is submitted; group ids are never rendered as markup; the real
client toggle sends through a real Kafka client, seen in the Clients view.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from streamscope.core.sim.apps import PartnerView
from streamscope.core.sim.scenario import PartnersView
from streamscope.desktop import format as fmt
from streamscope.desktop.views.sim_apps import AppPanel, SimMembersModel
from streamscope.desktop.views.sim_map import CityMap, _trails
from streamscope.desktop.views.sim_partners import rate_text
from streamscope.desktop.views.sim_view import SimView

CLICK = Qt.MouseButton.LeftButton


def sim_page(shell) -> SimView:
    shell.window.show_view("simulation")
    page = shell.window.simulation
    assert shell.window.current_view() == "simulation"
    return page


def count_of(text: str) -> int:
    """A count as a card or label writes it ("1,234", or "12.3 k" from 10,000 up)."""
    text = text.replace(",", "")
    if text.endswith(" k"):
        return round(float(text[:-2]) * 1000)
    return int(text) if text.isdigit() else -1


def start_partners(qtbot, page: SimView, topic: str, partitions: int, partners: int = 5,
                   rate: int = 40) -> None:
    panel = page.partners
    panel.topic.setText(topic)
    panel.partitions.setValue(partitions)
    panel.partners.setValue(partners)
    panel.rate.setValue(rate)
    qtbot.mouseClick(panel.start_button, CLICK)
    qtbot.waitUntil(lambda: panel.running, timeout=15_000)


def add_app(qtbot, page: SimView, kind: str, group: str, consumers: int = 1,
            commit: str = "after") -> AppPanel:
    form = page.apps.form
    form.kind.setCurrentIndex(form.kind.findData(kind))
    form.group.setText(group)
    form.consumers.setValue(consumers)
    form.commit.setCurrentIndex(form.commit.findData(commit))
    assert form.add_button.isEnabled(), form.hint.text()
    qtbot.mouseClick(form.add_button, CLICK)
    qtbot.waitUntil(lambda: group in page.apps.panels, timeout=15_000)
    return page.apps.panels[group]


def card(panel: AppPanel, key: str) -> int:
    return count_of(panel.cards[key].value.text())


def test_partners_started_from_the_panel_create_the_topic_and_sent_rises(app_shell, qtbot):
    page = sim_page(app_shell)
    start_partners(qtbot, page, "panel-deliveries", 4)
    qtbot.waitUntil(lambda: count_of(page.partners.sent.text()) > 0, timeout=10_000)
    first = count_of(page.partners.sent.text())
    qtbot.waitUntil(lambda: count_of(page.partners.sent.text()) > first, timeout=10_000)
    app_shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: app_shell.ticker.snapshot.topic("panel-deliveries") is not None,
                    timeout=5_000)
    assert len(app_shell.ticker.snapshot.topic("panel-deliveries").partitions) == 4
    assert len(page.partners.bars.counts) == 4
    # Running: the topic and partitions are fixed, Stop and the lunch rush are offered.
    assert not page.partners.topic.isEnabled() and not page.partners.start_button.isEnabled()
    assert page.partners.stop_button.isEnabled() and page.partners.rush_button.isEnabled()
    assert "target" in page.partners.achieved.text()
    qtbot.mouseClick(page.partners.stop_button, CLICK)
    qtbot.waitUntil(lambda: not page.partners.running, timeout=10_000)
    assert page.partners.start_button.isEnabled()


def test_a_map_app_draws_the_partners_it_consumed(app_shell, qtbot):
    page = sim_page(app_shell)
    start_partners(qtbot, page, "map-deliveries", 3, partners=6, rate=30)
    panel = add_app(qtbot, page, "map", "the-map")
    assert page.apps.current() is panel
    picture = panel.picture
    assert isinstance(picture, CityMap)
    qtbot.waitUntil(lambda: picture.partner_count() == 6, timeout=20_000)
    assert picture.city is not None and len(picture.restaurants.data) > 0
    qtbot.waitUntil(lambda: "p99" in picture.delay.text(), timeout=10_000)
    qtbot.waitUntil(lambda: card(panel, "processed") > 0, timeout=10_000)


def test_crash_buttons_make_duplicates_and_lost_updates_appear(app_shell, qtbot):
    page = sim_page(app_shell)
    start_partners(qtbot, page, "crash-deliveries", 4, partners=8, rate=40)
    after = add_app(qtbot, page, "notifications", "commit-after", consumers=2, commit="after")
    before = add_app(qtbot, page, "notifications", "commit-before", consumers=2,
                     commit="before")
    for panel in (after, before):
        page.apps.show_app(panel.group)
        qtbot.waitUntil(lambda p=panel: card(p, "processed") > 0, timeout=20_000)
    assert card(after, "duplicates") == 0 and card(before, "lost") == 0

    page.apps.show_app("commit-after")
    qtbot.mouseClick(after.crash_before_button, CLICK)
    qtbot.waitUntil(lambda: "duplicates rise" in after.note.text(), timeout=5_000)
    page.apps.show_app("commit-before")
    qtbot.mouseClick(before.crash_after_button, CLICK)
    qtbot.waitUntil(lambda: "lost" in before.note.text(), timeout=5_000)
    # The dead member's partitions move after its session timeout; then the batch it
    # processed without committing is read again, and the one it committed is never read.
    qtbot.waitUntil(lambda: card(after, "duplicates") > 0, timeout=40_000)
    qtbot.waitUntil(lambda: card(before, "lost") > 0, timeout=40_000)
    assert card(after, "lost") == 0
    assert card(before, "duplicates") == 0


def test_kill_leaves_a_dead_member_and_the_survivor_takes_its_partitions(app_shell, qtbot):
    page = sim_page(app_shell)
    start_partners(qtbot, page, "kill-deliveries", 4, partners=6, rate=20)
    panel = add_app(qtbot, page, "analytics", "kill-me", consumers=2)
    model = panel.members_model

    def statuses() -> list[str]:
        return [model.values_at(r)[SimMembersModel.STATUS] for r in range(model.rowCount())]

    def partitions(row: int) -> str:
        return model.values_at(row)[SimMembersModel.PARTITIONS]

    qtbot.waitUntil(lambda: statuses() == ["stable", "stable"], timeout=20_000)
    qtbot.mouseClick(panel.kill_button, CLICK)
    qtbot.waitUntil(lambda: "Killed kill-me-" in panel.note.text(), timeout=5_000)
    qtbot.waitUntil(lambda: any(s.startswith("dead") for s in statuses()), timeout=5_000)
    survivor = next(r for r, s in enumerate(statuses()) if not s.startswith("dead"))
    qtbot.waitUntil(lambda: partitions(survivor) == "0-3", timeout=30_000)
    processed = card(panel, "processed")
    qtbot.waitUntil(lambda: card(panel, "processed") > processed, timeout=10_000)


def test_the_forms_say_what_is_wrong_before_anything_is_submitted(app_shell, qtbot):
    page = sim_page(app_shell)
    partners = page.partners
    partners.topic.setText("no spaces allowed")
    assert partners.error.isVisible() and "letters, digits" in partners.error.text()
    assert not partners.start_button.isEnabled()
    partners.topic.setText("")
    assert "Enter a topic name" in partners.error.text()
    partners.topic.setText("form-deliveries")
    assert not partners.error.isVisible() and partners.start_button.isEnabled()

    form = page.apps.form
    form.group.setText("   ")
    assert form.hint.isVisible() and "Enter a group id" in form.hint.text()
    assert not form.add_button.isEnabled()
    form.group.setText("x" * 256)
    assert "at most 255" in form.hint.text() and not form.add_button.isEnabled()
    start_partners(qtbot, page, "form-deliveries", 2)
    add_app(qtbot, page, "notifications", "taken-group")
    form.group.setText("taken-group")
    assert form.hint.isVisible() and "running" in form.hint.text()
    assert not form.add_button.isEnabled()
    form.group.returnPressed.emit()  # pressing Enter does not submit it either
    qtbot.wait(300)
    assert list(page.apps.panels) == ["taken-group"]


def test_group_ids_are_shown_as_plain_text_never_as_markup(app_shell, qtbot):
    page = sim_page(app_shell)
    start_partners(qtbot, page, "markup-deliveries", 2)
    group = "<b>bold</b>&amp;<i>x</i>"
    panel = add_app(qtbot, page, "analytics", group)
    qtbot.waitUntil(lambda: panel.members_model.rowCount() == 1, timeout=15_000)
    tabs = page.apps.tabs
    index = tabs.indexOf(panel)
    assert tabs.tabText(index) == group
    assert tabs.tabToolTip(index) == fmt.plain_tooltip(f"Analytics: group {group}")
    assert panel.members_model.values_at(0)[SimMembersModel.CLIENT] == f"{group}-1"
    qtbot.mouseClick(panel.kill_button, CLICK)
    qtbot.waitUntil(lambda: group in panel.note.text(), timeout=5_000)
    showing = [label for label in page.findChildren(QLabel) if "<b>" in label.text()]
    assert showing, "the group id is shown somewhere"
    for label in showing:
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def test_real_client_partners_send_over_tcp_and_show_in_the_clients_view(app_shell, qtbot):
    pytest.importorskip("confluent_kafka")
    page = sim_page(app_shell)
    page.partners.real_client.setChecked(True)
    start_partners(qtbot, page, "tcp-deliveries", 2, partners=4, rate=20)
    assert page.partners.view.real_client
    qtbot.waitUntil(lambda: count_of(page.partners.sent.text()) > 0, timeout=20_000)

    def connected() -> bool:
        app_shell.ticker.refresh_now()
        snap = app_shell.ticker.snapshot
        return any(c.client_id == "streamscope-sim-partners" and not c.in_process
                   for c in snap.connections)

    qtbot.waitUntil(connected, timeout=20_000)
    app_shell.window.show_view("clients")
    clients = app_shell.window.clients.model
    ids = [clients.values_at(r)[clients.CLIENT_ID] for r in range(clients.rowCount())]
    assert "streamscope-sim-partners" in ids
    app_shell.window.show_view("simulation")
    qtbot.mouseClick(page.partners.stop_button, CLICK)
    qtbot.waitUntil(lambda: not page.partners.running, timeout=20_000)


# -- issue 12, second round (F1): stopped-at-limit text, narrow layout, map trails -------


def partners_view(**over) -> PartnersView:
    base = dict(running=True, topic="deliveries", partitions=6, partners=20, rate=100.0,
                burst=1.0, sent=450, errors=0, achieved_rate=76.0, real_client=False,
                per_partition=(75,) * 6, limit=900)
    base.update(over)
    return PartnersView(**base)


def test_the_rate_line_says_the_partners_stopped_at_their_limit():
    assert rate_text(partners_view()) == "76/s of 100/s target"
    assert rate_text(partners_view(running=False, sent=900)) == (
        "stopped after 900 updates (limit)")
    assert rate_text(partners_view(running=False, sent=300)) == "stopped"
    assert rate_text(partners_view(running=False, limit=None)) == "stopped"


def trail_partner(pid: str, trail) -> PartnerView:
    x, y = trail[-1]
    return PartnerView(pid, 1, x, y, 10.0, 0.0, "to_restaurant", 0, tuple(trail))


def test_map_trails_keep_the_corners_and_drop_points_along_a_straight_road():
    # East along y=0 for 3 points, a corner at (300, 0), then north: 2 segments drawn.
    a = trail_partner("a", [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0), (300.0, 0.0),
                            (300.0, 100.0), (300.0, 200.0)])
    # Out and back on one road: the turn is kept.
    b = trail_partner("b", [(0.0, 500.0), (0.0, 600.0), (0.0, 550.0)])
    x, y, connect, owner = _trails([a, b])
    assert list(zip(x, y, strict=True)) == [(0.0, 0.0), (300.0, 0.0), (300.0, 200.0),
                                            (0.0, 500.0), (0.0, 600.0), (0.0, 550.0)]
    assert list(connect) == [True, True, False, True, True, False]  # trails not joined
    assert list(owner) == [0, 0, 0, 1, 1, 1]


def test_many_partners_keep_their_newest_trail_points_within_the_budget():
    trail = [(float(i), float(i % 2)) for i in range(150)]  # zigzag: nothing dropped
    partners = [trail_partner(f"p{i}", trail) for i in range(100)]
    x, _y, _c, owner = _trails(partners, budget=1000)
    assert len(x) == 1000 and x[9] == 149.0  # each keeps its 10 newest points
    assert int(owner[-1]) == 99


def test_on_a_narrow_page_the_map_stays_on_screen(app_shell, qtbot):
    window = app_shell.window
    window.resize(1280, 720)
    window.show()
    page = sim_page(app_shell)
    start_partners(qtbot, page, "narrow-deliveries", 2, partners=4, rate=20)
    panel = add_app(qtbot, page, "map", "narrow-map")
    assert not page.compact
    window.show_lesson_panel()  # the lesson dock takes about 320 px on the right
    qtbot.waitUntil(lambda: page.compact, timeout=5_000)
    assert panel.compact and page.apps.form.compact
    viewport = page.parentWidget()

    def map_on_screen() -> bool:
        picture = panel.picture
        top_left = picture.mapTo(viewport, picture.rect().topLeft())
        right = top_left.x() + picture.width()
        return picture.isVisible() and picture.width() >= 150 and right <= viewport.width()

    qtbot.waitUntil(map_on_screen, timeout=5_000)
    text = page.apps.form.kind.currentText()
    box = page.apps.form.kind
    assert box.width() >= box.fontMetrics().horizontalAdvance(text)  # "Customer map" whole
