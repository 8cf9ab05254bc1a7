"""Help: what each view shows, the keyboard shortcuts, and the version.

Contract: :class:`HelpDialog` is a non-modal window (opened with ``open()``/``show()``,
never ``exec()``) holding one page, "What am I looking at", with a section per main view
(anchors ``overview``, ``topics``, ``groups``, ``clients``, ``event_log``), a section
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
        "the last two minutes; the right edge is now.",
    ),
    (
        "topics",
        "Topics",
        "A topic is a named log split into partitions. For each partition: the <i>log "
        "start offset</i> (the oldest record kept), the <i>high watermark</i> (the next "
        "offset to be written), the records between them and their size. Retention "
        "removes whole old segments, which moves the log start forward.",
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
        "event_log",
        "Event log",
        "What happened, newest at the bottom: topics created and deleted, members joining "
        "and leaving, rebalances, offset resets. Filter by kind or by text.",
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
