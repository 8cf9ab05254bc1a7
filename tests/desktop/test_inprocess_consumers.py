"""In-process consumers in the real app, under real Kafka clients: issue 9, items 1, 1b, 8, 12.

Each test runs the whole app (``app_shell``: a real broker on 127.0.0.1 port 0, Qt
offscreen) and drives it as a user would: the start-consumers dialog, the Stop consumers
action, the members table's context menu, the Clients view. Real confluent-kafka clients
produce at full speed, consume in the same groups, and check that the broker answers.
"""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from PySide6.QtCore import Qt
from streamscope.core.monitor import GroupSnapshot
from streamscope.desktop.app import Streamscope
from streamscope.desktop.models.clients_model import ClientsModel
from streamscope.desktop.views.groups_view import GroupsView

from tests.desktop.helpers import command, create_topic
from tests.kafka_clients import ConsumerThread, ProducerThread, produce

pytestmark = pytest.mark.timeout(180)


class FullSpeedProducer(ProducerThread):
    """A real producer with no pacing: it sends as fast as librdkafka and the broker allow."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic, name="full-speed-producer", join_s=20)
        self.acked = 0  # delivery reports without an error
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5,
                          "client.id": "full-speed"})
            def delivered(err, _msg) -> None:
                if err is None:
                    self.acked += 1

            while not self._stop_event.is_set():
                try:
                    p.produce(self.topic, value=b"x" * 100, key=b"%d" % (self.sent % 97),
                              on_delivery=delivered)
                    self.sent += 1
                except BufferError:
                    p.poll(0.01)  # the queue is full: the broker is the limit now
                if self.sent % 1000 == 0:
                    p.poll(0)
            p.flush(10)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def group(shell: Streamscope, gid: str) -> GroupSnapshot | None:
    snap = shell.service.latest()
    return snap.group(gid) if snap is not None else None


def coordinator_members(shell: Streamscope, gid: str) -> set[str]:
    """Member ids straight from the coordinator, on the broker loop (no snapshot lag)."""

    def members(broker) -> set[str]:
        for g in broker.groups.snapshot():
            if g.group_id == gid:
                return {m.member_id for m in g.members}
        return set()

    return shell.service.submit(members).result(10)


def groups_view_with_topic(shell: Streamscope, qtbot, topic: str) -> GroupsView:
    shell.window.show_view("groups")
    view = shell.window.groups
    qtbot.waitUntil(
        lambda: view.snapshot is not None and view.snapshot.topic(topic) is not None,
        timeout=5000,
    )
    return view


def start_from_dialog(
    shell: Streamscope, qtbot, view: GroupsView, gid: str, topics: list[str], count: int,
    *, delay_ms: int = 0,
) -> None:
    dialog = view.open_start_dialog()
    dialog.group.setCurrentText(gid)
    dialog.set_selected_topics(topics)
    dialog.count.setValue(count)
    dialog.assignor.setCurrentText("range")
    dialog.delay.setValue(delay_ms)
    assert dialog.ok_button.isEnabled(), dialog.hint.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.dialog is not dialog, timeout=10_000)
    qtbot.waitUntil(lambda: shell.commands.consumer_count(gid) == count, timeout=10_000)


def stable_with(shell: Streamscope, gid: str, members: int, partitions: int) -> bool:
    g = group(shell, gid)
    return (
        g is not None
        and g.state == "Stable"
        and len(g.members) == members
        and sum(len(m.assignment) for m in g.members) == partitions
    )


# --- item 1 -----------------------------------------------------------------------------


def test_stop_consumers_empties_the_group_while_a_producer_runs_at_full_speed(app_shell, qtbot):
    shell = app_shell
    create_topic(shell, qtbot, "rides", 6)
    view = groups_view_with_topic(shell, qtbot, "rides")
    producer = FullSpeedProducer(shell.service.bootstrap, "rides")
    producer.start()
    try:
        qtbot.waitUntil(lambda: producer.acked > 20_000, timeout=20_000)
        # Set-up through the service (the dialog has its own test); the stop is the GUI's.
        command(shell, qtbot,
                lambda cb: shell.commands.start_consumers("crew", "rides", 3, "range", cb))
        qtbot.waitUntil(lambda: stable_with(shell, "crew", 3, 6), timeout=20_000)
        # Consuming under load: every partition has commits, and they keep moving.
        qtbot.waitUntil(
            lambda: len([o for o in group(shell, "crew").offsets if o.committed_offset > 0])
            == 6,
            timeout=20_000,
        )
        shell.ticker.refresh_now()
        assert view.select_group("crew")
        qtbot.waitUntil(view.stop_action.isEnabled, timeout=5000)
        view.stop_action.trigger()
        qtbot.waitUntil(lambda: shell.commands.consumer_count("crew") == 0, timeout=20_000)
        assert coordinator_members(shell, "crew") == set()
        qtbot.waitUntil(
            lambda: group(shell, "crew") is not None
            and not group(shell, "crew").members
            and group(shell, "crew").state == "Empty",
            timeout=10_000,
        )
        assert not view.status.isVisible(), view.status.text()
        # The producer ran at full speed throughout, and still does.
        acked = producer.acked
        qtbot.waitUntil(lambda: producer.acked > acked + 10_000, timeout=20_000)
        assert producer.is_alive() and producer.error is None
    finally:
        producer.stop()
    command(shell, qtbot, lambda cb: shell.commands.delete_group("crew", cb))
    qtbot.waitUntil(lambda: group(shell, "crew") is None, timeout=10_000)


def test_stop_consumers_kills_a_consumer_that_will_not_close_and_says_so(
    app_shell, qtbot, monkeypatch
):
    import streamscope.desktop.broker_service as broker_service
    shell = app_shell
    monkeypatch.setattr(broker_service, "CLOSE_TIMEOUT_S", 0.5, raising=False)
    create_topic(shell, qtbot, "stuck", 2)
    view = groups_view_with_topic(shell, qtbot, "stuck")
    command(shell, qtbot,
            lambda cb: shell.commands.start_consumers("jammed", "stuck", 2, "range", cb))
    qtbot.waitUntil(lambda: stable_with(shell, "jammed", 2, 2), timeout=20_000)

    def jam(_broker) -> str:  # fault injection: one consumer's close never returns
        app = shell.service._consumers["jammed"][0]

        async def never() -> None:
            await asyncio.Event().wait()

        app.consumer.close = never
        return app.consumer.membership.member_id

    jammed = shell.service.submit(jam).result(10)
    shell.ticker.refresh_now()
    assert view.select_group("jammed")
    qtbot.waitUntil(view.stop_action.isEnabled, timeout=5000)
    view.stop_action.trigger()
    qtbot.waitUntil(view.status.isVisible, timeout=10_000)
    assert "jammed-1" in view.status.text() and "killed" in view.status.text()
    assert shell.commands.consumer_count("jammed") == 0
    # Killed: no LeaveGroup, so the group drops it only when its session times out; the
    # other one left gracefully.
    assert coordinator_members(shell, "jammed") == {jammed}
    qtbot.waitUntil(
        lambda: any(e.kind == "error" and "jammed-1" in e.message
                    for e in shell.service.latest().events),
        timeout=5000,
    )
    qtbot.waitUntil(lambda: coordinator_members(shell, "jammed") == set(), timeout=30_000)


# --- item 1b ----------------------------------------------------------------------------


def test_deleting_a_topic_under_in_process_and_real_consumers_keeps_the_broker_answering(
    app_shell, qtbot
):
    shell = app_shell
    bootstrap = shell.service.bootstrap
    create_topic(shell, qtbot, "doomed", 6)
    produce(bootstrap, "doomed", 600)
    command(shell, qtbot,
            lambda cb: shell.commands.start_consumers("readers", "doomed", 3, "range", cb))
    real = ConsumerThread(bootstrap, "readers", "doomed", "real-reader")
    real.start()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        qtbot.waitUntil(lambda: stable_with(shell, "readers", 4, 6), timeout=30_000)
        assert "doomed" in admin.list_topics(timeout=10).topics  # connected beforehand
        command(shell, qtbot, lambda cb: shell.commands.delete_topic("doomed", cb))
        # The GUI's snapshots move on (they are built on the broker's loop)...
        qtbot.waitUntil(
            lambda: shell.service.latest() is not None
            and shell.service.latest().topic("doomed") is None,
            timeout=5000,
        )
        # ...and a real client is answered, each time within a second, while the
        # consumers are still reading what was the topic.
        for _ in range(3):
            metadata = admin.list_topics(timeout=1.0)
            assert "doomed" not in metadata.topics
        assert all(c.status != "dead" for c in shell.service.local_consumers("readers"))
        assert shell.service.running
    finally:
        real.stop()
    stopped = command(shell, qtbot, lambda cb: shell.commands.stop_consumers("readers", cb))
    assert stopped == 0
    assert not {m for m in coordinator_members(shell, "readers")
                if m.startswith("readers-")}


# --- item 8 -----------------------------------------------------------------------------


def test_in_process_consumers_are_listed_in_the_clients_view_marked_in_process(
    app_shell, qtbot
):
    shell = app_shell
    create_topic(shell, qtbot, "seen", 2)
    command(shell, qtbot,
            lambda cb: shell.commands.start_consumers("viewers", "seen", 2, "range", cb))
    clients = shell.window.clients
    shell.window.show_view("clients")
    model = clients.model

    def rows() -> dict[str, str]:
        return {
            model.index(r, ClientsModel.CLIENT_ID).data(): model.index(r, ClientsModel.ADDRESS).data()
            for r in range(model.rowCount())
        }

    qtbot.waitUntil(
        lambda: rows() == {"viewers-1": "in-process", "viewers-2": "in-process"}, timeout=10_000
    )
    assert clients.table.isVisible() and not clients.empty.isVisible()
    assert "2 in-process consumers" in clients.summary.text()
    # The overview's card counts them too, and says which kind each count is (its "since
    # start" figure counts sockets only, so it must not sit beside this total).
    card = shell.window.overview.cards["clients"]
    shell.window.overview.on_slow_tick(shell.service.latest(), shell.ticker.history)
    assert card.value.text() == "2"
    assert card.detail.text() == "0 over TCP · 2 in-process"
    row = next(r for r in range(model.rowCount()) if model.is_in_process(r))
    assert model.index(row, ClientsModel.ADDRESS).data(Qt.ItemDataRole.FontRole).italic()
    assert "In-process" in model.index(row, ClientsModel.ADDRESS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(row, ClientsModel.SOFTWARE).data() == "Streamscope consumer"
    # Its calls are counted as the Kafka requests they stand for.
    qtbot.waitUntil(
        lambda: all(int(model.index(r, ClientsModel.REQUESTS).data().replace(",", "")) > 2
                    for r in range(model.rowCount())),
        timeout=10_000,
    )
    assert clients.table.select_key(model.key_at(row))
    clients.on_slow_tick(shell.service.latest(), shell.ticker.history)
    apis = {clients.api_model.index(r, 0).data() for r in range(clients.api_model.rowCount())}
    assert {"Fetch", "Heartbeat", "JoinGroup", "SyncGroup"} <= apis
    command(shell, qtbot, lambda cb: shell.commands.stop_consumers("viewers", cb))
    qtbot.waitUntil(lambda: rows() == {}, timeout=10_000)
    assert clients.empty.isVisible()


# --- item 12 ----------------------------------------------------------------------------


def test_the_start_dialog_sets_a_processing_delay_and_several_topics(app_shell, qtbot):
    shell = app_shell
    create_topic(shell, qtbot, "alpha", 2)
    create_topic(shell, qtbot, "beta", 3)
    view = groups_view_with_topic(shell, qtbot, "beta")
    dialog = view.open_start_dialog()
    dialog.set_selected_topics([])
    assert not dialog.ok_button.isEnabled()
    assert "Tick at least one topic" in dialog.hint.text()
    dialog.reject()
    produce(shell.service.bootstrap, "alpha", 400)
    start_from_dialog(shell, qtbot, view, "multi", ["alpha", "beta"], 2, delay_ms=25)
    qtbot.waitUntil(lambda: stable_with(shell, "multi", 2, 5), timeout=20_000)
    owned = {tp for m in group(shell, "multi").members for tp in m.assignment}
    assert owned == {("alpha", 0), ("alpha", 1), ("beta", 0), ("beta", 1), ("beta", 2)}
    qtbot.waitUntil(lambda: len(shell.service.local_consumers("multi")) == 2, timeout=5000)
    for c in shell.service.local_consumers("multi"):
        assert c.topics == ("alpha", "beta")
        assert c.processing_delay_s == pytest.approx(0.025)
    # 25 ms per record: 400 records take the group several seconds, so lag shows.
    qtbot.waitUntil(
        lambda: any(o.committed_offset > 0 for o in group(shell, "multi").offsets),
        timeout=20_000,
    )
    assert group(shell, "multi").total_lag > 0


def test_the_start_dialog_says_what_rate_a_delay_allows(app_shell, qtbot):
    shell = app_shell
    create_topic(shell, qtbot, "slow", 1)
    view = groups_view_with_topic(shell, qtbot, "slow")
    dialog = view.open_start_dialog()
    assert dialog.selected_topics() == ["slow"]
    dialog.delay.setValue(5)
    assert "at most 200 records a second" in dialog.delay_note.text()
    assert dialog.processing_delay_s() == pytest.approx(0.005)
    dialog.reject()


def member_row_menu(view: GroupsView, qtbot, member_id: str):
    """Right-click the member's row as a user would; the menu that pops up."""
    index = view.members.index_for_key(member_id)
    assert index.isValid()
    pos = view.members.visualRect(index).center()
    view.members.customContextMenuRequested.emit(pos)
    menu = view.member_menu.menu
    assert menu is not None
    assert view.members.selected_key() == member_id
    menu.close()
    return view.member_menu


def lag_of(shell: Streamscope, gid: str, member_id: str) -> int:
    g = group(shell, gid)
    mine = {tp for m in g.members if m.member_id == member_id for tp in m.assignment}
    return sum(o.lag or 0 for o in g.offsets if (o.topic, o.partition) in mine)


def test_member_menu_pauses_resumes_stops_and_kills_in_process_members(app_shell, qtbot):
    shell = app_shell
    bootstrap = shell.service.bootstrap
    create_topic(shell, qtbot, "work", 3)
    view = groups_view_with_topic(shell, qtbot, "work")
    start_from_dialog(shell, qtbot, view, "crew", ["work"], 3)
    qtbot.waitUntil(lambda: stable_with(shell, "crew", 3, 3), timeout=20_000)
    shell.ticker.refresh_now()
    assert view.select_group("crew")
    qtbot.waitUntil(lambda: view.members.model().rowCount() == 3, timeout=5000)
    qtbot.waitUntil(lambda: len({c.member_id for c in shell.service.local_consumers("crew")
                                 if c.member_id}) == 3, timeout=5000)
    paused, stopped, killed = sorted(m.member_id for m in group(shell, "crew").members)

    # Pause: it keeps its partition (no rebalance) but reads nothing, so lag builds up.
    menu = member_row_menu(view, qtbot, paused)
    assert menu.pause_action.isEnabled() and not menu.resume_action.isEnabled()
    generation = group(shell, "crew").generation
    menu.pause_action.trigger()
    qtbot.waitUntil(lambda: shell.commands.local_member("crew", paused) is not None
                    and shell.commands.local_member("crew", paused).paused, timeout=5000)
    produce(bootstrap, "work", 300)
    others = {stopped, killed}
    qtbot.waitUntil(lambda: all(lag_of(shell, "crew", m) == 0 for m in others)
                    and sum(o.committed_offset for o in group(shell, "crew").offsets) > 0,
                    timeout=20_000)
    assert lag_of(shell, "crew", paused) > 0
    assert group(shell, "crew").generation == generation
    menu = member_row_menu(view, qtbot, paused)
    assert menu.resume_action.isEnabled() and not menu.pause_action.isEnabled()
    menu.resume_action.trigger()
    qtbot.waitUntil(lambda: lag_of(shell, "crew", paused) == 0, timeout=20_000)

    # Stop gracefully: LeaveGroup, so it is out of the group when the command answers.
    menu = member_row_menu(view, qtbot, stopped)
    menu.stop_action.trigger()
    qtbot.waitUntil(lambda: shell.commands.consumer_count("crew") == 2, timeout=10_000)
    assert stopped not in coordinator_members(shell, "crew")

    # Kill abruptly: no LeaveGroup, so the coordinator still lists it until its session
    # times out, then evicts it.
    qtbot.waitUntil(lambda: shell.commands.local_member("crew", killed) is not None,
                    timeout=10_000)
    qtbot.waitUntil(lambda: view.members.index_for_key(killed).isValid(), timeout=10_000)
    menu = member_row_menu(view, qtbot, killed)
    menu.kill_action.trigger()
    qtbot.waitUntil(lambda: shell.commands.consumer_count("crew") == 1, timeout=10_000)
    assert killed in coordinator_members(shell, "crew")
    qtbot.waitUntil(lambda: killed not in coordinator_members(shell, "crew"), timeout=30_000)
    assert not view.status.isVisible(), view.status.text()


def test_member_menu_offers_nothing_for_a_member_started_elsewhere(app_shell, qtbot):
    shell = app_shell
    create_topic(shell, qtbot, "ext", 1)
    real = ConsumerThread(shell.service.bootstrap, "outsiders", "ext", "outsider")
    real.start()
    try:
        view = groups_view_with_topic(shell, qtbot, "ext")
        qtbot.waitUntil(lambda: stable_with(shell, "outsiders", 1, 1), timeout=30_000)
        shell.ticker.refresh_now()
        assert view.select_group("outsiders")
        qtbot.waitUntil(lambda: view.members.model().rowCount() == 1, timeout=5000)
        member = group(shell, "outsiders").members[0].member_id
        menu = member_row_menu(view, qtbot, member)
        for action in (menu.stop_action, menu.kill_action, menu.pause_action,
                       menu.resume_action):
            assert not action.isEnabled()
    finally:
        real.stop()
