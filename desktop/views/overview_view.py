"""Overview: where to connect, what the broker holds, and how fast it is moving.

Contract: a passive view. ``on_tick(snapshot, history)`` redraws the two live charts
(messages/s and bytes/s, in and out) from the history's ring buffers when the view is
visible; ``on_slow_tick`` refreshes the bootstrap address, the ready-to-paste client
snippets (confluent-kafka, kafka-python, kcat) and the count cards.

Before the broker listens, :meth:`OverviewView.set_requested_address` makes the address
and snippets show the address the app was asked for (never a made-up default), and says
when it could not be bound.

First step: while nothing has been stored or consumed (no records, no consumer groups),
the charts make way for a panel offering "Create a topic", "Start consumers" and "Start
the demo workload". The view does none of these itself: it emits
``create_topic_requested``, ``start_consumers_requested`` and ``demo_requested`` for the
main window to route to the topics view, the groups view and the demo workload.

Listening beyond this machine (a wildcard or LAN address: ``BrokerInfo.loopback_only``
is false), a red line under the address says who can connect and whether they must log
in (issue 13); the status bar says it too (:class:`desktop.main_window.MainWindow`).

Brokers (issue 15): the connect panel's last tab, "Brokers", lists every broker of the
cluster (:class:`~desktop.models.brokers_model.BrokersModel`: node id, host:port, the
controller, partitions led, replicas hosted); the embedded broker is its one node. The
window shows that tab when it switches to an external cluster (:meth:`show_brokers`).

Layout: every part may shrink (labels elide, snippets scroll), so the view fits a
1280x720 window with the event log open, whatever the names and paths it shows.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QWidget,
)
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.brokers_model import BrokersModel
from streamscope.desktop.theme import Theme, icon
from streamscope.desktop.views.charts import LiveChart, bytes_axis_format, count_axis_format
from streamscope.desktop.views.clients_view import refusals_tooltip
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import CodeBlock, Dot, StatCard, copy_button, section_title


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


def is_first_step(snap: ClusterSnapshot) -> bool:
    """Nothing stored and nothing consumed yet: the moment a new user needs a first step."""
    return not snap.groups and snap.messages == 0


class FirstStepPanel(QFrame):
    """Three ways to get going, each with one line on what it does."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Panel")
        layout = vbox(self, (18, 14, 18, 14), spacing=8)
        layout.addWidget(section_title("Nothing is flowing yet: pick a first step"))
        self.create_topic = QPushButton("Create a topic")
        self.start_consumers = QPushButton("Start consumers")
        self.start_demo = QPushButton("Start the demo workload")
        self.create_topic.setIcon(icon("add"))
        self.start_consumers.setIcon(icon("groups"))
        self.start_demo.setIcon(icon("play"))
        rows = (
            (self.create_topic, "A topic is a named log, split into partitions, that "
             "producers append to."),
            (self.start_consumers, "Consumers in a group share a topic's partitions and "
             "commit how far they have read."),
            (self.start_demo, "Four topics, producers and consumer groups at once, lag "
             "included. Stop it from the Demo menu."),
        )
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(8)
        for row, (button, text) in enumerate(rows):
            button.setMinimumWidth(200)
            note = named(plain_label(text), "Muted")
            note.setWordWrap(True)
            note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            grid.addWidget(button, row, 0)
            grid.addWidget(note, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.hint = plain_label(
            "Or connect any Kafka client to the bootstrap address: the snippets on the "
            "left run as they are."
        )
        self.hint.setObjectName("Muted")
        self.hint.setWordWrap(True)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.hint)
        layout.addStretch(1)

    def update_for(self, snap: ClusterSnapshot, demo_running: bool) -> None:
        has_topics = bool(snap.topics)
        self.start_consumers.setEnabled(has_topics)
        self.start_consumers.setToolTip(
            "" if has_topics else "Create a topic first: consumers need one to read"
        )
        self.start_demo.setEnabled(not demo_running)
        self.start_demo.setText(
            "Demo workload starting…" if demo_running else "Start the demo workload"
        )


class OverviewView(QWidget):
    title = "Overview"
    create_topic_requested = Signal()
    start_consumers_requested = Signal()
    demo_requested = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OverviewView")
        self._theme = theme
        self._bootstrap = ""
        self._topic = ""
        self._requested = ""
        self.demo_running = False
        self.external = False  # showing an external cluster (issue 15): see set_external

        root = vbox(self, (16, 10, 16, 10), spacing=10)
        # Listening beyond this machine (issue 13): who can connect, whether they must log
        # in, and where to change it; across the top. Hidden while only this machine can.
        self.exposure = named(plain_label(""), "ErrorLabel")
        self.exposure.setWordWrap(True)
        self.exposure.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.exposure.hide()
        root.addWidget(self.exposure)

        # Count cards: two rows of four, so the charts and snippets keep the height.
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
            cards.addWidget(card, i // 4, i % 4)
        for col in range(4):
            cards.setColumnStretch(col, 1)
        root.addLayout(cards, 0)

        bottom = QHBoxLayout()
        bottom.setSpacing(10)
        root.addLayout(bottom, 1)

        # Connect panel: the address, a copy button, and snippets.
        connect = named(QFrame(), "Panel")
        cl = vbox(connect, (14, 10, 14, 8), spacing=6)
        row = QHBoxLayout()
        self.dot = Dot(theme.muted)
        self.address = ElidedLabel("starting…", mode=Qt.TextElideMode.ElideRight)
        self.address.setObjectName("BootstrapAddress")
        self.copy_address = copy_button(lambda: self._bootstrap, "Copy the bootstrap address")
        row.addWidget(section_title("Bootstrap server"))
        row.addSpacing(6)
        row.addWidget(self.dot)
        row.addWidget(self.address, 1)
        row.addWidget(self.copy_address)
        cl.addLayout(row)
        self.broker_detail = named(ElidedLabel(""), "Muted")
        self.data_dir = named(ElidedLabel(""), "Muted")
        cl.addWidget(self.broker_detail)
        cl.addWidget(self.data_dir)
        self.snippet_tabs = named(QTabWidget(), "SnippetTabs")
        self.snippet_blocks: dict[str, CodeBlock] = {}
        for name, text in snippets("HOST:PORT", "demo").items():
            block = CodeBlock(text)
            block.edit.setMinimumHeight(60)
            self.snippet_blocks[name] = block
            self.snippet_tabs.addTab(block, name)
        self.brokers_model = BrokersModel(self)
        self.brokers = KeyedTableView(self.brokers_model, sort_column=0, stretch_column=1)
        self.brokers.setObjectName("BrokersTable")
        for col in (BrokersModel.ROLE,):  # whole; the address elides if it must
            self.brokers.horizontalHeader().setSectionResizeMode(
                col, QHeaderView.ResizeMode.ResizeToContents)
        self.snippet_tabs.addTab(self.brokers, "Brokers")
        cl.addWidget(self.snippet_tabs, 1)
        bottom.addWidget(connect, 5)

        # Charts, or the first step while there is nothing to chart.
        self.msg_chart = LiveChart(
            "Messages per second", ("in", "out"), theme=theme, value_format=count_axis_format
        )
        self.bytes_chart = LiveChart(
            "Bytes per second", ("in", "out"), theme=theme, value_format=bytes_axis_format
        )
        for chart in (self.msg_chart, self.bytes_chart):
            chart.setMinimumHeight(96)
        charts = QWidget()
        chl = vbox(charts, spacing=10)
        chl.addWidget(self.msg_chart)
        chl.addWidget(self.bytes_chart)
        self.first_step = FirstStepPanel()
        self.first_step.create_topic.clicked.connect(self.create_topic_requested)
        self.first_step.start_consumers.clicked.connect(self.start_consumers_requested)
        self.first_step.start_demo.clicked.connect(self.demo_requested)
        self.right = QStackedWidget()
        self.right.addWidget(charts)
        self.right.addWidget(self.first_step)
        self._charts_page = charts
        bottom.addWidget(self.right, 6)

    # -- updates -----------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.msg_chart.apply_theme(theme)
        self.bytes_chart.apply_theme(theme)

    def showing_first_step(self) -> bool:
        return self.right.currentWidget() is self.first_step

    def set_requested_address(self, address: str, problem: str = "") -> None:
        """Before (or instead of) listening: show the address the app was asked to use.

        ``problem`` ("in use", ...) is shown beside it while that address is not bound.
        """
        self._requested = address
        if self._bootstrap:
            return  # listening: the snapshot's real address wins
        self.address.setText(f"{address} ({problem})" if problem else address)
        self.dot.set_color(self._theme.bad if problem else self._theme.muted)
        self._set_snippets(address, self._topic or "demo")

    def _show_exposure(self, snap: ClusterSnapshot) -> None:
        b = snap.broker
        host = b.exposed_host
        exposed = host is not None
        if host is not None:
            advice = (
                "Clients log in as the broker's users (Broker > Users…)."
                if b.authenticated else
                "They can produce, consume and delete topics. Require users or listen on "
                "this computer only: Broker > Listen address…"
            )
            text = f"\u26a0 {fmt.listener_exposure(host, b.sasl_mechanisms, b.tls)}. {advice}"
            if text != self.exposure.text():
                self.exposure.setText(text)
        self.exposure.setVisible(exposed)

    def _set_snippets(self, bootstrap: str, topic: str) -> None:
        for name, text in snippets(bootstrap, topic).items():
            self.snippet_blocks[name].set_text(text)

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        if not self.isVisible() or self.showing_first_step():
            return
        self._draw_charts(history)

    def _draw_charts(self, history: MonitorHistory) -> None:
        data = history.totals.view()
        now = history.now
        self.msg_chart.set_series(data[0], (data[1], data[2]), now)
        self.bytes_chart.set_series(data[0], (data[3], data[4]), now)

    def set_external(self, external: bool) -> None:
        """An external cluster is shown: no data dir, no listener warning (its exposure
        is not this app's doing) and no first step (consumers and the demo need the
        embedded broker); the Brokers tab comes forward; the bytes chart hides."""
        self.external = external
        self.data_dir.setVisible(not external)
        # The wire says how many records, never how many bytes: no empty bytes chart.
        self.bytes_chart.setVisible(not external)
        if external:
            self.exposure.hide()
            self.right.setCurrentWidget(self._charts_page)
            self.show_brokers()
        self._bootstrap = ""  # the next snapshot's address wins

    def show_brokers(self) -> None:
        """The Brokers tab of the connect panel."""
        self.snippet_tabs.setCurrentWidget(self.brokers)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.brokers_model.update(snap)
        n = len(snap.all_brokers)
        self.snippet_tabs.setTabText(self.snippet_tabs.indexOf(self.brokers),
                                     f"Brokers ({n})" if n > 1 else "Brokers")
        b = snap.broker
        bootstrap = b.bootstrap
        topic = snap.topics[0].name if snap.topics else "demo"
        if bootstrap and (bootstrap != self._bootstrap or topic != self._topic):
            self._bootstrap, self._topic = bootstrap, topic
            self.address.setText(bootstrap)
            self._set_snippets(bootstrap, topic)
        exposed_color = self._theme.warn if b.authenticated else self._theme.bad
        self.dot.set_color(
            (self._theme.ok if b.loopback_only or self.external else exposed_color)
            if b.listening else self._theme.bad
        )
        if not b.listening:
            self.address.setText("not listening")
        if self.external:
            controller = (f"controller node {snap.controller_id}"
                          if snap.controller_id is not None else "no controller reported")
            self.broker_detail.setText(
                f"External cluster {b.cluster_id or '-'} · "
                f"{fmt.plural(len(snap.all_brokers), 'broker')} · {controller}")
        else:
            self._show_exposure(snap)
            auth = (f"SASL {', '.join(b.sasl_mechanisms)}" if b.sasl_mechanisms
                    else "no authentication")
            self.broker_detail.setText(
                f"Node {b.node_id} · cluster {b.cluster_id or '-'} · "
                f"up {fmt.duration(b.uptime_s)} · {auth}"
            )
            self.data_dir.setText(f"Data dir {b.data_dir}")
        first = is_first_step(snap) and not self.external
        self.first_step.update_for(snap, self.demo_running)
        was_first = self.showing_first_step()
        self.right.setCurrentWidget(self.first_step if first else self._charts_page)
        if was_first and not first:
            self._draw_charts(history)  # now, not at the next tick
        r = history.total_rates
        c = self.cards
        c["topics"].set(fmt.count(len(snap.topics)))
        c["partitions"].set(fmt.count(snap.partition_count))
        active = sum(1 for g in snap.groups if g.members)
        c["groups"].set(fmt.count(len(snap.groups)), f"{active} active")
        # Sockets and in-process consumers apart ("since start" counts sockets only, so
        # it is not shown beside a total that includes in-process ones).
        local = sum(1 for conn in snap.connections if conn.in_process)
        sockets = len(snap.connections) - local
        if local:
            detail = f"{fmt.count(sockets)} over TCP · {fmt.count(local)} in-process"
        else:
            detail = f"{fmt.count(snap.counters.connections_total)} since start"
        refused = snap.counters.connections_refused
        if refused:
            detail = f"{detail} · refused {fmt.count(refused)}"
        if snap.external:
            c["clients"].set("—", "not visible over the wire")
        else:
            c["clients"].set(fmt.count(sockets + local), detail)
        c["clients"].setToolTip(refusals_tooltip(snap))
        c["messages"].set(fmt.short_count(snap.messages), f"{fmt.count(snap.messages)} offsets")
        if snap.external:
            c["size"].set("—", "not reported over the wire")
        else:
            c["size"].set(fmt.size(snap.size_bytes))
        if snap.external:
            # From high watermarks and committed offsets: records, not bytes.
            c["rate_in"].set(fmt.rate(r[0]), "from high watermarks")
            c["rate_out"].set(fmt.rate(r[1]), "from committed offsets")
        else:
            c["rate_in"].set(fmt.rate(r[0]), fmt.byte_rate(r[2]))
            c["rate_out"].set(fmt.rate(r[1]), fmt.byte_rate(r[3]))
