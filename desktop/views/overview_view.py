"""Overview: where to connect, what the broker holds, and how fast it is moving.

Contract: a passive view. ``on_tick(snapshot, history)`` redraws the two live charts
(messages/s and bytes/s, in and out) from the history's ring buffers when the view is
visible; ``on_slow_tick`` refreshes the bootstrap address, the ready-to-paste client
snippets (confluent-kafka, kafka-python, kcat) and the count cards.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.monitor import ClusterSnapshot
from desktop import format as fmt
from desktop.history import MonitorHistory
from desktop.theme import Theme
from desktop.views.charts import LiveChart, bytes_axis_format, count_axis_format
from desktop.views.widgets import CodeBlock, Dot, StatCard, copy_button, section_title


def snippets(bootstrap: str, topic: str) -> dict[str, str]:
    """Minimal, working produce+consume examples for the listener."""
    return {
        "confluent-kafka": (
            "from confluent_kafka import Consumer, Producer\n\n"
            f'producer = Producer({{"bootstrap.servers": "{bootstrap}"}})\n'
            f'producer.produce("{topic}", key=b"42", value=b"hello")\n'
            "producer.flush()\n\n"
            "consumer = Consumer({\n"
            f'    "bootstrap.servers": "{bootstrap}",\n'
            '    "group.id": "demo",\n'
            '    "auto.offset.reset": "earliest",\n'
            "})\n"
            f'consumer.subscribe(["{topic}"])\n'
            "msg = consumer.poll(5.0)\n"
            "print(msg.key(), msg.value())\n"
        ),
        "kafka-python": (
            "from kafka import KafkaConsumer, KafkaProducer\n\n"
            f'producer = KafkaProducer(bootstrap_servers="{bootstrap}")\n'
            f'producer.send("{topic}", key=b"42", value=b"hello")\n'
            "producer.flush()\n\n"
            "consumer = KafkaConsumer(\n"
            f'    "{topic}",\n'
            f'    bootstrap_servers="{bootstrap}",\n'
            '    group_id="demo",\n'
            '    auto_offset_reset="earliest",\n'
            ")\n"
            "for msg in consumer:\n"
            "    print(msg.partition, msg.offset, msg.value)\n"
        ),
        "kcat": (
            "# list topics, partitions and the broker\n"
            f"kcat -b {bootstrap} -L\n\n"
            "# produce key:value lines from stdin\n"
            f'echo "42:hello" | kcat -b {bootstrap} -t {topic} -P -K:\n\n'
            "# consume as a member of group 'demo'\n"
            f"kcat -b {bootstrap} -G demo {topic}\n"
        ),
    }


class OverviewView(QWidget):
    title = "Overview"

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OverviewView")
        self._theme = theme
        self._bootstrap = ""
        self._topic = ""

        root = QVBoxLayout(self)
        root.setContentsMargins(18, 16, 18, 16)
        root.setSpacing(14)

        top = QHBoxLayout()
        top.setSpacing(14)
        root.addLayout(top, 0)

        # Connect panel: the address, a copy button, and snippets.
        connect = QFrame()
        connect.setObjectName("Panel")
        cl = QVBoxLayout(connect)
        cl.setContentsMargins(16, 14, 16, 12)
        cl.setSpacing(8)
        cl.addWidget(section_title("Bootstrap server"))
        row = QHBoxLayout()
        self.dot = Dot(theme.muted)
        self.address = QLabel("starting…")
        self.address.setObjectName("BootstrapAddress")
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_address = copy_button(lambda: self._bootstrap, "Copy the bootstrap address")
        row.addWidget(self.dot)
        row.addWidget(self.address)
        row.addStretch(1)
        row.addWidget(self.copy_address)
        cl.addLayout(row)
        self.broker_detail = QLabel("")
        self.broker_detail.setObjectName("Muted")
        self.broker_detail.setWordWrap(True)
        cl.addWidget(self.broker_detail)
        self.snippet_tabs = QTabWidget()
        self.snippet_tabs.setObjectName("SnippetTabs")
        self.snippet_blocks: dict[str, CodeBlock] = {}
        for name, text in snippets("127.0.0.1:9092", "demo").items():
            block = CodeBlock(text)
            self.snippet_blocks[name] = block
            self.snippet_tabs.addTab(block, name)
        cl.addWidget(self.snippet_tabs, 1)
        top.addWidget(connect, 5)

        # Count cards.
        cards = QGridLayout()
        cards.setSpacing(10)
        self.cards = {
            "topics": StatCard("Topics"),
            "partitions": StatCard("Partitions"),
            "groups": StatCard("Consumer groups"),
            "clients": StatCard("Clients"),
            "messages": StatCard("Messages stored"),
            "size": StatCard("On disk"),
            "rate_in": StatCard("In"),
            "rate_out": StatCard("Out"),
        }
        for i, card in enumerate(self.cards.values()):
            cards.addWidget(card, i // 2, i % 2)
        cards_box = QWidget()
        cards_box.setLayout(cards)
        top.addWidget(cards_box, 4)

        charts = QHBoxLayout()
        charts.setSpacing(14)
        self.msg_chart = LiveChart(
            "Messages per second", ("in", "out"), theme=theme, value_format=count_axis_format
        )
        self.bytes_chart = LiveChart(
            "Bytes per second", ("in", "out"), theme=theme, value_format=bytes_axis_format
        )
        charts.addWidget(self.msg_chart)
        charts.addWidget(self.bytes_chart)
        root.addLayout(charts, 1)

    # -- updates -----------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.msg_chart.apply_theme(theme)
        self.bytes_chart.apply_theme(theme)

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible():
            return
        data = history.totals.view()
        now = history.now
        self.msg_chart.set_series(data[0], (data[1], data[2]), now)
        self.bytes_chart.set_series(data[0], (data[3], data[4]), now)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        b = snap.broker
        bootstrap = b.bootstrap
        topic = snap.topics[0].name if snap.topics else "demo"
        if bootstrap and (bootstrap != self._bootstrap or topic != self._topic):
            self._bootstrap, self._topic = bootstrap, topic
            self.address.setText(bootstrap)
            for name, text in snippets(bootstrap, topic).items():
                self.snippet_blocks[name].set_text(text)
        self.dot.set_color(self._theme.ok if b.listening else self._theme.bad)
        if not b.listening:
            self.address.setText("not listening")
        self.broker_detail.setText(
            f"Node {b.node_id} · cluster {b.cluster_id or '-'} · up {fmt.duration(b.uptime_s)}"
            f"\nData dir {b.data_dir}"
        )
        r = history.total_rates
        c = self.cards
        c["topics"].set(fmt.count(len(snap.topics)))
        c["partitions"].set(fmt.count(snap.partition_count))
        active = sum(1 for g in snap.groups if g.members)
        c["groups"].set(fmt.count(len(snap.groups)), f"{active} active")
        c["clients"].set(
            fmt.count(len(snap.connections)),
            f"{fmt.count(snap.counters.connections_total)} since start",
        )
        c["messages"].set(fmt.short_count(snap.messages), f"{fmt.count(snap.messages)} offsets")
        c["size"].set(fmt.size(snap.size_bytes))
        c["rate_in"].set(fmt.rate(r[0]), fmt.byte_rate(r[2]))
        c["rate_out"].set(fmt.rate(r[1]), fmt.byte_rate(r[3]))
