"""Help: what each view shows, the keyboard shortcuts, and the version.

Contract: :class:`HelpDialog` is a non-modal window (opened with ``open()``/``show()``,
never ``exec()``) holding one page, "What am I looking at", with a section per main view
(anchors ``overview``, ``topics``, ``log``, ``messages``, ``groups``, ``clients``,
``simulation``, ``figures``, ``event_log``: the main window's view keys), a section
listing the keyboard shortcuts it is given, and the version. :meth:`show_section` scrolls
to a view's section, so F1 explains the view the user is on. The text is ours (no data a
client chose), so it is rich text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QWidget
from streamscope.desktop.layout import vbox

SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "overview",
        "Overview",
        "The bootstrap address is where Kafka clients connect; the snippets beside it run "
        "as they are. The cards count topics, partitions, consumer groups, connected "
        "clients, the records stored and their size on disk. The charts show messages and "
        "bytes per second coming <i>in</i> (produced) and going <i>out</i> (fetched) over "
        "the last two minutes; the right edge is now. A red line across the top means the "
        "broker listens beyond this computer: it says who can connect and whether they "
        "must log in. <i>Broker &gt; Listen address…</i> chooses where it listens and "
        "whether clients need a user; <i>Broker &gt; Users…</i> adds and removes users.",
    ),
    (
        "topics",
        "Topics",
        "A topic is a named log split into partitions. For each partition: the <i>log "
        "start offset</i> (the oldest record kept), the <i>high watermark</i> (the next "
        "offset to be written), the records between them and their size. Retention "
        "removes whole old segments, which moves the log start forward. A partition whose "
        "disk writes fail, or that could not be opened at start-up, is marked red with the "
        "reason: its clients get KAFKA_STORAGE_ERROR until the disk recovers.",
    ),
    (
        "log",
        "Log",
        "One topic's partitions, each drawn as a <i>lane</i>: an append-only log of "
        "offsets, oldest on the left, newest on the right, to the same scale on every "
        "lane. The solid line on the left is the <i>log start offset</i> (the oldest record "
        "kept; retention and Delete records move it), dotted lines are <i>segment</i> "
        "boundaries (retention deletes whole segments), and the blue line on the right is "
        "the <i>high watermark</i>, the offset the next record will get. New records "
        "appear at the end as <i>tokens</i> coloured by their key (records with the same "
        "key go to the same partition and keep their order; records with no key, or whose "
        "key was not sampled, are one neutral colour); at high rates the tokens are a "
        "sample, and the number beside the lane is its messages per second."
        "<br><br>Every consumer group reading the topic has a row under each lane, in "
        "its own colour. The square <i>cursor</i> is the group's <i>committed offset</i>, "
        "where it resumes after a restart or a rebalance; the shaded gap to the high "
        "watermark is its <i>lag</i>, the records still to process. The ring is the "
        "group's <i>read position</i>: the offset of its members' latest Fetch, which the "
        "broker sees because it is the broker. The hatched span between the committed "
        "offset and the read position is <i>read, not committed</i>: records the group "
        "has been handed but not committed, which a crash or a rebalance would deliver "
        "again (at-least-once). Three groups on one lane is fan-out: one log, each group "
        "at its own position, nothing copied."
        "<br><br><i>Follow tail</i> keeps each lane's end in view as records arrive; "
        "<i>Whole log</i> fits every lane from its first segment to its end, so segments "
        "and retention show at a glance; <b>−</b> and <b>+</b> zoom, and dragging pans "
        "(which stops following). Hover a cursor, a marker or a gap for its meaning with "
        "the live numbers; click a record or a position to open it in Messages.",
    ),
    (
        "messages",
        "Messages",
        "The records stored in a topic, read as a consumer would but without joining a "
        "group or committing anything. Pick a topic and a partition (or all, merged by "
        "timestamp) and where to <i>seek</i>: the latest records, the earliest, an offset, "
        "or a time (the broker's ListOffsets finds the first record at or after it). A "
        "page holds a bounded number of records; <i>Next page</i> reads on."
        "<br><br>Select a record to see it whole: its timestamp, its batch (codec, "
        "transactional or control), the value <i>decoded</i>, its key and its headers. "
        "<i>Show as</i> picks the decoder: Auto looks at the bytes and picks msgpack, JSON, "
        "UTF-8 text or hex; choose one to override it for the whole view (bytes it cannot "
        "read are shown as hex, with a note why). Large values "
        "are cut in the table and shown whole (up to a limit) in the detail pane; "
        "<i>Save value…</i> writes the exact bytes."
        "<br><br><i>Live tail</i> appends new records as they arrive. The <i>filter</i> "
        "matches by key, by header (<tt>name</tt> or <tt>name=value</tt>) or by text in "
        "the key or value; Enter scans the topic page by page, with progress and Cancel. "
        "<i>Export</i> writes the shown or the selected records to JSON Lines or CSV, "
        "exactly: bytes that are not text are written as base64, marked as such. Produce… "
        "and Delete records… are in the Topics menu: Delete records removes every record "
        "before an offset (Kafka's DeleteRecords) by moving the log start.",
    ),
    (
        "groups",
        "Consumer groups",
        "A consumer group shares a topic's partitions among its members: each partition is "
        "read by exactly one member, drawn in that member's colour. A <i>generation</i> "
        "counts rebalances. The group <i>commits</i> how far it has read; <i>lag</i> is "
        "the high watermark minus the committed offset, the records still to process. "
        "Consumers started here run inside the app and behave like real ones.",
    ),
    (
        "clients",
        "Clients",
        "Every connection to the broker: the client's id and library, its address, and "
        "which requests it sends. In-process consumers started from the app are listed "
        "too.",
    ),
    (
        "simulation",
        "Simulation",
        "A food-delivery service running on this broker. On the left, the <i>delivery "
        "partners</i> are the producers: each partner's phone sends its location as a record "
        "whose <i>key</i> is the partner id, so Kafka's default partitioner puts all of one "
        "partner's updates in one partition, in order. Start creates the topic with the "
        "partitions chosen if it is missing; the rate is updates per second for all partners "
        "together; <i>Lunch rush</i> multiplies it for a while. <i>Real Kafka client</i> "
        "sends through confluent-kafka over TCP, so the producer shows in Clients. The bars "
        "count the updates sent to each partition: one much taller bar is a hot key."
        "<br><br>On the right, each <i>app</i> is its own <i>consumer group</i> and reads "
        "every update at its own pace (fan-out): the <i>customer map</i> (each partner's last "
        "known position and trail, and the end-to-end delay from produce to processing, p50 "
        "and p99), <i>analytics</i> (updates per second and average speed per zone of the "
        "city, busiest partners) and <i>notifications</i> (a partner arriving at its "
        "restaurant or customer). Per app: <i>processed</i> counts records handled, "
        "redeliveries included; <i>duplicates</i> counts updates handled twice; <i>lost</i> "
        "updates never handled; <i>lag</i> is the updates still to process (log end offset "
        "minus the group's committed offset, summed over partitions; before the first "
        "commit, from where the app starts reading). + and − add or remove a consumer (a "
        "rebalance); Pause stops fetching without leaving the group; <i>Kill one</i> stops a consumer "
        "without LeaveGroup, so the group waits for its session timeout; <i>Crash before "
        "commit</i> processes a batch and dies before committing it (the batch is read "
        "again: duplicates, at-least-once), <i>crash after commit</i> commits and dies "
        "before processing (lost, at-most-once). The delay slider slows every consumer of "
        "the app per record: lag grows, then recovers when set back to 0.",
    ),
    (
        "figures",
        "Lesson figures",
        "The figures of two lessons, drawn as they run. <i>Lesson 6, why not write straight "
        "to the database</i>: the same location updates go into a real SQLite database two "
        "ways, <i>directly</i> (one transaction per update, as an app writing each update "
        "would) and <i>through the broker</i> (a consumer group writes them in batches, one "
        "transaction per batch). The offered load rises step by step (the dotted vertical "
        "lines, labelled with the updates per second offered; <i>drain</i> is the time after "
        "the load stops). Three charts, seconds since the race started on the x axis: "
        "<i>writes per second</i> (rows committed, per half second, with the offered load as a "
        "dashed line), "
        "<i>p99 update-to-visible</i> in ms (from an update's timestamp to its commit, for "
        "99% of the recent rows) and the <i>backlog</i> in updates (offered, not yet written; "
        "for the broker path, the group's lag). When the direct path cannot keep up its "
        "backlog and latency climb; the broker path absorbs the burst as lag and catches up. "
        "The table gives each step's figures and which path kept up (fewer updates waiting "
        "at the step's end than a quarter of a second of the offered load)."
        "<br><br><i>Lesson 8, the idempotent producer</i>: a real producer sends records "
        "while the broker drops a few acknowledgements after writing the batch, so the "
        "producer retries. Per run, without and with <tt>enable.idempotence</tt>: the records "
        "sent, the records in the log and the <i>duplicates</i> (records in the log twice). "
        "Other lessons are drawn on the other pages.",
    ),
    (
        "event_log",
        "Event log",
        "What happened, newest at the bottom: topics created and deleted, members joining "
        "and leaving, rebalances, offset resets. Filter by kind or by text.",
    ),
    (
        "clusters",
        "Clusters",
        "The <i>Cluster</i> switcher (top right) shows the embedded broker or another "
        "Kafka-compatible cluster from a saved connection profile (<i>Cluster &gt; "
        "Connection profiles…</i>; <i>Test connection</i> says whether it can be reached "
        "and logged into). The same pages then show that cluster, polled every few "
        "seconds; the Overview's <i>Brokers</i> tab lists its brokers (the "
        "<i>controller</i> manages its metadata) and the Topics page shows each "
        "partition's <i>leader</i>, <i>replicas</i> and <i>ISR</i> (in-sync replicas). "
        "<i>URP</i> marks an under-replicated partition: fewer copies in sync than "
        "replicas, so a broker is down or behind. Topic and group actions go to that "
        "cluster; what only the embedded broker has is disabled. <i>Cluster &gt; Clone "
        "into sandbox…</i> copies its topics and last records into the embedded broker "
        "to experiment on. The embedded broker keeps running meanwhile.",
    ),
    (
        "status",
        "Status bar",
        "Where the broker listens and the total rates in and out. If the broker stops "
        "answering, it says so and how old the picture is: the views then show the last "
        "state received, not a live one.",
    ),
)


def help_html(shortcuts: Sequence[tuple[str, str]], version: str) -> str:
    parts = [f"<h2>What am I looking at?</h2><p>Streamscope {html.escape(version)}: a "
             "Kafka-compatible broker running inside this window, drawn live. Any Kafka "
             "client can connect to it.</p>"]
    for anchor, title, text in SECTIONS:
        parts.append(f'<h3><a name="{anchor}"></a>{title}</h3><p>{text}</p>')
    rows = "".join(
        f"<tr><td style='padding-right:18px'><b>{html.escape(keys)}</b></td>"
        f"<td>{html.escape(what)}</td></tr>"
        for what, keys in shortcuts
    )
    parts.append(f'<h3><a name="shortcuts"></a>Keyboard shortcuts</h3><table>{rows}</table>')
    return "".join(parts)


class HelpDialog(QDialog):
    def __init__(
        self,
        shortcuts: Sequence[tuple[str, str]],
        version: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Streamscope help")
        self.setModal(False)
        self.resize(640, 560)
        layout = vbox(self, (14, 12, 14, 10))
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setHtml(help_html(shortcuts, version))
        layout.addWidget(self.browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def show_section(self, anchor: str) -> None:
        self.browser.scrollToAnchor(anchor)

    def text(self) -> str:
        return self.browser.toPlainText()
