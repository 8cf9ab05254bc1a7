"""External mode (issue 15) through the real app: the cluster switcher, snapshots polled off
the GUI thread, the views on the other cluster, embedded-only actions disabled, a cluster
that goes away shown as an error, a password asked for at connect time without a keyring,
and the routed actions (create a topic, produce) against Tansu, checked with a separate
confluent-kafka client."""

from __future__ import annotations

import socket
from functools import partial
from pathlib import Path

import keyring
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from keyring.backends import fail
from streamscope.core.auth import UserStore
from streamscope.core.browse.reader import Start
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread
from streamscope.desktop.cluster_switch import EMBEDDED
from streamscope.desktop.commands import EMBEDDED_ONLY
from streamscope.desktop.dialogs.delete_records_dialog import delete_records_external
from streamscope.desktop.models.groups_model import GroupsModel
from streamscope.desktop.models.topics_model import TopicsModel
from streamscope.desktop.profiles import Profile
from streamscope.desktop.views.clients_view import WIRE_EMPTY

from tests.desktop.helpers import add_profile, closed, command, is_external, switch
from tests.interop.external_helpers import read_all

SHOTS = Path("/tmp/streamscope-gui-shots")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fast_switch(app_shell):
    app_shell.clusters.timeout_s = 5.0
    return app_shell


def test_switching_to_a_profile_shows_that_cluster_and_back(qtbot, fast_switch, tmp_path):
    shell = fast_switch
    other = BrokerThread(BrokerConfig(host="127.0.0.1", port=0,
                                      data_dir=tmp_path / "other")).start()
    try:
        admin = AdminClient({"bootstrap.servers": other.bootstrap})
        admin.create_topics([NewTopic("on-the-other-cluster", 3)])[
            "on-the-other-cluster"].result(10)
        add_profile(shell, Profile("other", other.bootstrap, interval_s=0.5))
        assert [shell.window.cluster_combo.itemText(i)
                for i in range(shell.window.cluster_combo.count())] == [EMBEDDED, "other"]
        switch(shell, qtbot, "other")
        assert shell.clusters.current == "other"
        qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot), timeout=15_000)
        qtbot.waitUntil(lambda: shell.ticker.snapshot.topic("on-the-other-cluster")
                        is not None, timeout=10_000)
        win = shell.window
        assert win.windowTitle() == f"Streamscope — other ({other.bootstrap})"
        shell.ticker.refresh_now()
        assert win.status_listener.text() == f"other at {other.bootstrap}: 1 broker"
        assert win.topics.table.select_key("on-the-other-cluster")
        # What only the embedded broker has is disabled, saying why.
        for action in win.embedded_only_actions():
            assert not action.isEnabled(), action.text()
            assert action.toolTip() == EMBEDDED_ONLY.capitalize()
        assert win.clone_action.isEnabled()
        # The simulation and the lessons target the shown cluster too.
        assert shell.sim.target == shell.clusters.external.settings
        assert shell.lessons.target == shell.clusters.external.settings
        win.show_view("topics")
        qtbot.waitUntil(lambda: win.topics.partitions_model.rowCount() == 3, timeout=5000)
        assert win.topics.partitions.isColumnHidden(4)  # size: the wire cannot know it
        # What the wire cannot know is said, never shown as a zero.
        assert win.topics.table.isColumnHidden(TopicsModel.SIZE)
        assert "size not reported over the wire" in win.topics.detail_info.text()
        assert not win.topics.detail_info.text().endswith("id ")
        cards = win.overview.cards
        assert (cards["size"].value.text(), cards["clients"].value.text()) == ("—", "—")
        assert cards["rate_out"].detail.text() == "from committed offsets"
        assert win.overview.bytes_chart.isHidden()
        assert win.clients.empty.text() == WIRE_EMPTY
        assert win.groups.table.isColumnHidden(GroupsModel.GENERATION)
        SHOTS.mkdir(exist_ok=True)
        win.grab().save(str(SHOTS / "external_topics.png"))
        win.show_view("overview")
        win.grab().save(str(SHOTS / "external_overview.png"))
        for key in ("log", "groups", "clients"):  # the other pages take it without a fault
            win.show_view(key)
            shell.ticker.refresh_now()
            win.grab().save(str(SHOTS / f"external_{key}.png"))
        # Back to the embedded broker, which kept running.
        switch(shell, qtbot, EMBEDDED)
        assert shell.service.running
        qtbot.waitUntil(lambda: shell.ticker.snapshot is not None
                        and not is_external(shell.ticker.snapshot), timeout=5000)
        assert shell.ticker.snapshot.topic("on-the-other-cluster") is None
        assert win.windowTitle() == "Streamscope"
        assert win.users_action.isEnabled() and win.listen_action.isEnabled()
        assert not win.clone_action.isEnabled()
        assert shell.commands.external is None
        assert shell.sim.target is None
    finally:
        other.stop()


def test_a_cluster_that_goes_away_is_a_clear_status(qtbot, fast_switch, tmp_path):
    shell = fast_switch
    other = BrokerThread(BrokerConfig(host="127.0.0.1", port=0,
                                      data_dir=tmp_path / "other")).start()
    stopped = False
    try:
        add_profile(shell, Profile("brief", other.bootstrap, interval_s=0.5))
        switch(shell, qtbot, "brief")
        qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot), timeout=15_000)
        other.stop()
        stopped = True
        ext = shell.clusters.external
        qtbot.waitUntil(lambda: bool(ext.last_error), timeout=15_000)
        assert ext.last_error.startswith("cannot reach") or "timed out" in ext.last_error, \
            ext.last_error
        shell.ticker.refresh_now()
        text = shell.window.status_listener.text()
        assert text.startswith(f"brief at {other.bootstrap}: ") and "last update" in text
        assert shell.window.cluster_state.text() == f"\u26a0 {ext.last_error}"
        shell.window.grab().save(str(SHOTS / "external_gone.png"))
    finally:
        if not stopped:
            other.stop()


def test_an_unreachable_profile_says_so_without_a_snapshot(qtbot, fast_switch):
    shell = fast_switch
    address = f"127.0.0.1:{closed_port()}"
    add_profile(shell, Profile("nowhere", address))
    switch(shell, qtbot, "nowhere")
    ext = shell.clusters.external
    qtbot.waitUntil(lambda: bool(ext.last_error), timeout=15_000)
    assert ext.last_error.startswith(f"cannot reach {address}")
    assert shell.ticker.snapshot is None  # nothing of the embedded broker passes for it
    assert shell.window.status_listener.text() == f"nowhere: {ext.last_error}"


@pytest.fixture
def no_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def test_without_a_keyring_the_password_is_asked_for_at_connect_time(
        qtbot, no_keyring, fast_switch, tmp_path):
    shell = fast_switch
    data = tmp_path / "sasl"
    UserStore(data / "users.json").add("alice", "right password")
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=data,
                                   sasl_mechanisms=("SCRAM-SHA-256",))).start()
    try:
        assert not shell.window.vault.persistent
        add_profile(shell, Profile("secure", bt.bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256",
                                   "alice", interval_s=0.5))
        switch(shell, qtbot, "secure")
        qtbot.waitUntil(lambda: shell.clusters.password_prompt is not None, timeout=5000)
        prompt = shell.clusters.password_prompt
        assert prompt.isVisible()
        SHOTS.mkdir(exist_ok=True)
        prompt.grab().save(str(SHOTS / "password_prompt.png"))
        assert shell.clusters.current == EMBEDDED  # nothing switched before the answer
        prompt.setTextValue("right password")
        prompt.accept()
        qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot), timeout=15_000)
        assert shell.clusters.current == "secure"
        assert shell.window.vault.get("secure") == "right password"  # memory, this session
        # Away and back: not asked again this session.
        switch(shell, qtbot, EMBEDDED)
        switch(shell, qtbot, "secure")
        qtbot.waitUntil(lambda: shell.clusters.current == "secure", timeout=5000)
        assert shell.clusters.password_prompt is None
    finally:
        shell.clusters.show_embedded()
        bt.stop()


def test_create_a_topic_and_produce_from_the_gui_on_tansu(qtbot, fast_switch, tansu):
    shell = fast_switch
    add_profile(shell, Profile("tansu", tansu, interval_s=0.5))
    switch(shell, qtbot, "tansu")
    qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot), timeout=15_000)
    win = shell.window
    # Create, through the Topics page's dialog.
    win.show_view("topics")
    dialog = win.topics.open_create_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.name.setText("made-in-the-gui")
    dialog.partitions.setValue(2)
    dialog.accept()
    qtbot.waitUntil(lambda: closed(dialog), timeout=15_000)
    qtbot.waitUntil(lambda: shell.ticker.snapshot.topic("made-in-the-gui") is not None,
                    timeout=15_000)
    meta = AdminClient({"bootstrap.servers": tansu}).list_topics(timeout=10)
    assert len(meta.topics["made-in-the-gui"].partitions) == 2
    # Produce, through the produce dialog.
    qtbot.waitUntil(lambda: win.select_topic("made-in-the-gui"), timeout=5000)
    produce = win.topics.open_produce_dialog(partition=1)
    qtbot.waitUntil(produce.isVisible, timeout=2000)
    produce.key.setText("k1")
    produce.value.setPlainText("hello tansu")
    produce.accept()
    qtbot.waitUntil(lambda: produce.result_value is not None or produce.error.isVisible(),
                    timeout=15_000)
    assert not produce.error.isVisible(), produce.error.text()
    last = produce.result_value.last
    assert last.partition == 1
    [message] = read_all(tansu, "made-in-the-gui", last.partition, last.offset, 1)
    assert message.key() == b"k1" and message.value() == b"hello tansu"
    produce.reject()


def test_browse_add_partitions_and_delete_on_tansu_from_the_gui(qtbot, fast_switch, tansu):
    shell = fast_switch
    admin = AdminClient({"bootstrap.servers": tansu})
    admin.create_topics([NewTopic("browsed", 2)])["browsed"].result(15)
    producer = Producer({"bootstrap.servers": tansu, "log_level": 0})
    for i in range(3):
        # One batch each: Tansu 0.6's memory storage sets the high watermark to the last
        # batch's base offset + 1, so records batched together would hide behind it.
        producer.produce("browsed", value=b"value %d" % i, key=b"k%d" % i, partition=0)
        assert producer.flush(15) == 0
    del producer
    add_profile(shell, Profile("tansu", tansu, interval_s=0.5))
    switch(shell, qtbot, "tansu")
    qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot)
                    and shell.ticker.snapshot.topic("browsed") is not None, timeout=15_000)
    win = shell.window
    # Messages: read through the cluster (assign and seek, never a group).
    browser = win.browser
    before = browser.reads
    win.browse_messages("browsed", 0)
    browser.set_start(Start.earliest())
    browser.load()
    qtbot.waitUntil(lambda: browser.reads > before and not browser.busy, timeout=20_000)
    assert browser.error == ""
    assert [r.value for r in browser.model.records()] == [b"value %d" % i for i in range(3)]
    win.grab().save(str(SHOTS / "external_messages.png"))
    # The live tail follows the cluster (read_next_external from the page's positions).
    browser.tail_button.click()
    late = Producer({"bootstrap.servers": tansu, "log_level": 0})
    late.produce("browsed", value=b"late", partition=0)
    assert late.flush(15) == 0
    del late
    qtbot.waitUntil(lambda: browser.model.rowCount() == 4, timeout=15_000)
    assert browser.model.records()[-1].value == b"late"
    browser.tail_button.click()
    qtbot.waitUntil(lambda: not browser.tail_busy, timeout=15_000)
    # Add partitions: Tansu 0.6 does not serve CreatePartitions; the dialog says so
    # inline (the cluster's word) and stays open.
    win.show_view("topics")
    assert win.topics.table.select_key("browsed")
    dialog = win.topics.open_add_partitions_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.total.setValue(4)
    dialog.accept()
    qtbot.waitUntil(dialog.error.isVisible, timeout=15_000)
    assert dialog.error.text().startswith("the cluster does not serve CreatePartitions"), \
        dialog.error.text()
    assert dialog.isVisible()
    win.grab().save(str(SHOTS / "external_refused.png"))
    dialog.reject()
    # Delete the topic, and a refusal as text.
    command(shell, qtbot, lambda cb: shell.commands.delete_topic("browsed", cb))
    qtbot.waitUntil(lambda: "browsed" not in admin.list_topics(timeout=10).topics,
                    timeout=15_000)
    # A refusal is the cluster's error as text, not a crash.
    with pytest.raises(Exception) as info:
        command(shell, qtbot, lambda cb: shell.commands.delete_topic("never-was", cb))
    assert "UNKNOWN_TOPIC_OR_PART" in str(info.value), str(info.value)
    # Back on the embedded broker, no row read from Tansu stays on the Messages page.
    switch(shell, qtbot, EMBEDDED)
    assert browser.model.rowCount() == 0 and browser.page is None and not browser.busy


def test_admin_commands_route_to_the_external_cluster(qtbot, fast_switch, tmp_path):
    """Alter configs, reset offsets, delete records and delete a group, as the dialogs send
    them, on a second broker reached over the wire (it serves every one of these APIs)."""
    shell = fast_switch
    other = BrokerThread(BrokerConfig(host="127.0.0.1", port=0,
                                      data_dir=tmp_path / "other")).start()
    try:
        bootstrap = other.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("t", 2)])["t"].result(10)
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(5):
            producer.produce("t", value=b"v%d" % i, partition=0)
        assert producer.flush(10) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g",
                             "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition("t", 0, 5)], asynchronous=False)
        consumer.close()
        add_profile(shell, Profile("other", bootstrap, interval_s=0.5))
        switch(shell, qtbot, "other")
        qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot)
                        and any(g.group_id == "g" for g in shell.ticker.snapshot.groups),
                        timeout=15_000)
        c = shell.commands
        # Alter configs (the retention dialog's command): incremental, and back to default.
        command(shell, qtbot, lambda cb: c.alter_topic_configs("t", {"retention.ms": "60000"},
                                                                 cb))
        resource = ConfigResource("TOPIC", "t")
        configs = admin.describe_configs([resource])[resource].result(10)
        assert configs["retention.ms"].value == "60000"
        # Reset offsets (the group is empty) to the earliest.
        moved = command(shell, qtbot, lambda cb: c.reset_offsets("g", "t", "earliest", 0, cb))
        assert moved == {("t", 0): 0}
        # Shift is not an external cluster's: a clear refusal.
        with pytest.raises(RuntimeError, match="resetting by shift is not available"):
            command(shell, qtbot, lambda cb: c.reset_offsets("g", "t", "shift", -1, cb))
        # Delete records (the delete-records dialog's route).
        snap_topic = shell.ticker.snapshot.topic("t")
        result = command(shell, qtbot, lambda cb: c.route(
            lambda _b: None, partial(delete_records_external, topic=snap_topic,
                                     offsets={0: 2}), cb))
        assert result.moved == ((0, 0, 2),) and result.deleted == 2
        probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
        assert probe.get_watermark_offsets(TopicPartition("t", 0), timeout=10) == (2, 5)
        probe.close()
        # Delete the group.
        command(shell, qtbot, lambda cb: c.delete_group("g", cb))
        groups = admin.list_consumer_groups().result(10)
        assert "g" not in [g.group_id for g in groups.valid]
    finally:
        shell.clusters.show_embedded()
        other.stop()
