"""A real multi-broker cluster in the window (issue 15): librdkafka's mock cluster of 3
brokers (tests/multibroker.py) chosen in the cluster switcher. The Overview's Brokers tab
lists the three brokers with the partitions each leads and the replicas each hosts, and
the Topics page's Leader / Replicas / ISR columns agree with a separate confluent-kafka
client's Metadata; a broker that stops leaves the list and the partitions it led show as
unavailable (no leader), with the reason and their last watermarks, until leadership
moves."""

from __future__ import annotations

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from streamscope.desktop.models.brokers_model import BrokersModel
from streamscope.desktop.models.partitions_model import PartitionsModel
from streamscope.desktop.profiles import Profile

from tests.desktop.helpers import add_profile, is_external, switch


def _ids(ids) -> str:
    return ",".join(str(i) for i in ids)


def _cells(model, row: int, cols) -> list[str]:
    return [str(model.index(row, c).data()) for c in cols]


def test_three_brokers_drawn_as_metadata_says(app_shell, qtbot, rdkafka_cluster):
    cluster = rdkafka_cluster
    cluster.create_topic("orders", 6, 3)
    producer = Producer({"bootstrap.servers": cluster.bootstrap})
    for i in range(60):
        producer.produce("orders", value=b"x", partition=i % 6)
    assert producer.flush(10) == 0
    shell = app_shell
    shell.clusters.timeout_s = 5.0
    add_profile(shell, Profile("three", cluster.bootstrap, interval_s=0.5))
    switch(shell, qtbot, "three")
    qtbot.waitUntil(lambda: is_external(shell.ticker.snapshot)
                    and shell.ticker.snapshot.topic("orders") is not None
                    and shell.ticker.snapshot.topic("orders").messages == 60, timeout=20_000)
    win = shell.window
    shell.ticker.refresh_now()

    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)
    parts = md.topics["orders"].partitions
    brokers = win.overview.brokers_model
    rows = {_cells(brokers, r, [0])[0]: _cells(brokers, r, range(5))
            for r in range(brokers.rowCount())}
    assert sorted(rows) == ["1", "2", "3"]
    for node, row in rows.items():
        n = int(node)
        assert row[1] == cluster.addresses[n]
        assert row[BrokersModel.ROLE] == ("controller" if n == md.controller_id else "")
        assert int(row[3]) == sum(1 for p in parts.values() if p.leader == n)
        assert int(row[4]) == sum(1 for p in parts.values() if n in p.replicas)

    win.show_view("topics")
    assert win.topics.table.select_key("orders")
    model = win.topics.partitions_model
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=5000)
    for row in range(6):
        index = int(model.index(row, 0).data())
        p = parts[index]
        leader, replicas, isr = _cells(model, row, PartitionsModel.PLACEMENT)
        assert (leader, replicas) == (str(p.leader), _ids(p.replicas))
        assert isr.startswith(_ids(p.isrs)) and "URP" not in isr
        for col in PartitionsModel.PLACEMENT:
            assert not win.topics.partitions.isColumnHidden(col)

    # Broker 3 stops: it leaves the Brokers tab, and what it led is drawn offline.
    cluster.broker_down(3)
    led_by_3 = sorted(i for i, p in parts.items() if p.leader == 3)
    assert led_by_3

    def offline_now() -> bool:
        snap = shell.ticker.snapshot
        t = snap.topic("orders") if snap is not None else None
        return (t is not None and [b.node_id for b in snap.all_brokers] == [1, 2]
                and sorted(p.index for p in t.partitions if p.unavailable) == led_by_3)

    qtbot.waitUntil(offline_now, timeout=30_000)
    win.show_view("overview")
    qtbot.waitUntil(lambda: sorted(_cells(brokers, r, [0])[0]
                                   for r in range(brokers.rowCount())) == ["1", "2"],
                    timeout=10_000)
    t = shell.ticker.snapshot.topic("orders")
    assert all("broker 3" in p.unavailable for p in t.partitions if p.unavailable)
    # What it led keeps the watermarks last seen and counts nothing new; the page says
    # no leader, not a disk failure.
    assert [p.high_watermark for p in t.partitions] == [10] * 6 and t.messages == 60
    assert t.records_in == 0
    win.show_view("topics")
    qtbot.waitUntil(lambda: win.topics.storage_banner.isVisible(), timeout=10_000)
    assert win.topics.storage_banner.text().startswith("\u26a0 No leader: orders-")
    assert "KAFKA_STORAGE_ERROR" not in win.topics.storage_banner.text()
