"""Cluster > Clone into sandbox… (issue 15) through the app: Tansu's topics and their last
records copied into the embedded broker on a worker thread, with progress and a summary;
the copy checked with a separate confluent-kafka client."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread
from streamscope.desktop.profiles import Profile

from tests.desktop.helpers import add_profile, is_external, switch
from tests.interop.external_helpers import read_all

SHOTS = Path("/tmp/streamscope-gui-shots")


def test_clone_tansu_into_the_sandbox_from_the_gui(qtbot, app_shell, tansu):
    shell = app_shell
    shell.clusters.timeout_s = 5.0
    admin = AdminClient({"bootstrap.servers": tansu})
    for f in admin.create_topics([NewTopic("orders", 2), NewTopic("audit", 1)]).values():
        f.result(15)
    producer = Producer({"bootstrap.servers": tansu, "log_level": 0})
    for i in range(3):
        # One batch each (Tansu 0.6's memory storage hides records batched together).
        producer.produce("orders", value=b"order %d" % i, key=b"k%d" % i, partition=1,
                         headers=[("n", b"%d" % i)])
        assert producer.flush(15) == 0
    del producer
    add_profile(shell, Profile("tansu", tansu, interval_s=0.5))
    switch(shell, qtbot, "tansu")
    qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot)
                    and shell.ticker.snapshot.topic("audit") is not None, timeout=15_000)
    shell.window.clone_action.trigger()
    dialog = shell.clone_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert sorted(dialog.chosen_topics()) == ["audit", "orders"]
    dialog.last_n.setValue(2)
    SHOTS.mkdir(exist_ok=True)
    dialog.grab().save(str(SHOTS / "clone_dialog.png"))
    dialog.clone_button.click()
    assert dialog.running and dialog.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
    assert dialog.error == "", dialog.error
    report = dialog.report
    assert sorted(report.topics) == ["audit", "orders"]
    assert report.records == 2
    assert dialog.summary.text().startswith(
        "Cloned 2 topics and 2 records into the sandbox.")
    dialog.grab().save(str(SHOTS / "clone_done.png"))
    # The sandbox (the embedded broker) has them: same partitions, the last 2 records.
    sandbox = shell.service.bootstrap
    meta = AdminClient({"bootstrap.servers": sandbox}).list_topics(timeout=10)
    assert len(meta.topics["orders"].partitions) == 2
    assert len(meta.topics["audit"].partitions) == 1
    copied = read_all(sandbox, "orders", 1, 0, 2)
    assert [(m.key(), m.value(), m.headers()) for m in copied] == [
        (b"k1", b"order 1", [("n", b"1")]), (b"k2", b"order 2", [("n", b"2")])]
    dialog.reject()
    qtbot.waitUntil(lambda: shell.clone_dialog is None, timeout=2000)


def test_cancel_stops_the_clone_and_the_summary_says_so(qtbot, app_shell, tmp_path):
    shell = app_shell
    shell.clusters.timeout_s = 5.0
    source = BrokerThread(BrokerConfig(host="127.0.0.1", port=0,
                                       data_dir=tmp_path / "source")).start()
    try:
        admin = AdminClient({"bootstrap.servers": source.bootstrap})
        for f in admin.create_topics([NewTopic(f"t{i}", 2) for i in range(3)]).values():
            f.result(10)
        producer = Producer({"bootstrap.servers": source.bootstrap, "linger.ms": 5})
        for i in range(3000):
            producer.produce(f"t{i % 3}", value=b"x" * 100, partition=i % 2)
        assert producer.flush(30) == 0
        add_profile(shell, Profile("source", source.bootstrap, interval_s=0.5))
        switch(shell, qtbot, "source")
        qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot)
                        and len(shell.ticker.snapshot.topics) == 3, timeout=15_000)
        dialog = shell.open_clone_dialog()
        qtbot.waitUntil(dialog.isVisible, timeout=2000)
        dialog.last_n.setValue(1000)
        dialog.clone_button.click()
        # Cancel at once: the clone reads the source's topics first, so it has not got far.
        dialog.reject()  # Close while running means Cancel; the dialog stays
        assert dialog.isVisible() and dialog.cancel_button.text() == "Cancelling…"
        qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
        assert dialog.report.cancelled
        assert len(dialog.report.topics) < 3
        assert dialog.summary.text().startswith("Cancelled. Cloned ")
        assert dialog.cancel_button.text() == "Close"
        dialog.reject()
        qtbot.waitUntil(lambda: shell.clone_dialog is None, timeout=2000)
    finally:
        shell.clusters.show_embedded()
        source.stop()
