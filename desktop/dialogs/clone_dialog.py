"""Cluster > Clone into sandbox…: copy an external cluster's topics into the embedded broker.

Contract: the dialog lists the shown cluster's topics (from its latest snapshot, all
ticked) and asks for "the last N records per partition" to copy (0: topics only). Clone
runs :func:`core.monitor.clone.clone_to_sandbox` from the source cluster to the embedded
broker's bootstrap on a thread of its own (``streamscope-clone``), never the GUI thread;
its progress lands in a plain attribute the dialog reads on a timer (no signal per
record) and drives the progress bar. Cancel (while running) sets the clone's cancel
event; the run stops after the record in hand. The summary is plain text: topics
created, records copied, configs the sandbox did not take and topics skipped, with why.
Topic names are the cluster's data: never rich text. :meth:`CloneDialog.stop` cancels
and (``wait=True``) joins the thread (the app's quit).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)
from streamscope.core.monitor import ClusterSnapshot
from streamscope.core.monitor.external import ExternalSettings
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import named, plain_label, vbox

MAX_LAST_N = 100_000


def clone_summary(report: Any) -> str:
    """The summary of a :class:`~core.monitor.clone.CloneReport`, plain text."""
    lines = [
        f"Cloned {fmt.plural(len(report.topics), 'topic')} "
        f"and {fmt.plural(report.records, 'record')} into the sandbox."
    ]
    if report.topics:
        lines.append("Topics: " + ", ".join(report.topics))
    if report.skipped_topics:
        lines.append("Skipped topics:")
        lines += [f"  {topic}: {why}" for topic, why in report.skipped_topics]
    if report.skipped_configs:
        lines.append("Configs the sandbox did not take:")
        lines += [f"  {topic} {name}: {why}" for topic, name, why in report.skipped_configs]
    return "\n".join(lines)


class CloneDialog(QDialog):
    _done = Signal(object, object)  # (CloneReport or None, error or None), from the thread

    def __init__(self, source: ExternalSettings, source_name: str,
                 snapshot: ClusterSnapshot | None, target_bootstrap: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Clone {source_name} into the sandbox")
        self.setModal(True)
        self.setMinimumWidth(560)
        self.source = source
        self.target_bootstrap = target_bootstrap
        self.report: Any = None
        self.error = ""
        self.running = False
        self.progress_seen: Any = None  # the newest CloneProgress, written by the thread
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

        layout = vbox(self, (18, 16, 18, 14), spacing=10)
        intro = plain_label(
            f"Copy topics of {source_name} ({source.bootstrap}) into the embedded broker "
            f"({target_bootstrap or 'not listening'}): same names, partition counts and the "
            "configs it supports. The source cluster is only read."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.topics = named(QListWidget(), "CloneTopics")
        for t in (snapshot.topics if snapshot is not None else ()):
            item = QListWidgetItem(f"{t.name}  ({fmt.plural(t.partition_count, 'partition')})")
            item.setData(Qt.ItemDataRole.UserRole, t.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.topics.addItem(item)
        layout.addWidget(self.topics, 1)
        form = QFormLayout()
        self.last_n = QSpinBox()
        self.last_n.setRange(0, MAX_LAST_N)
        self.last_n.setValue(100)
        self.last_n.setSpecialValueText("none (topics only)")
        self.last_n.setToolTip("Copy the last N records of each partition (same partition, "
                               "key, value, headers and timestamp)")
        form.addRow("Copy the last N records per partition", self.last_n)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.hide()
        layout.addWidget(self.progress)
        self.summary = named(plain_label(""), "CloneSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.hide()
        layout.addWidget(self.summary)
        self.buttons = QDialogButtonBox()
        self.clone_button = QPushButton("Clone")
        self.clone_button.setDefault(True)
        self.cancel_button = QPushButton("Close")
        self.buttons.addButton(self.clone_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.clone_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._show_progress)
        self._done.connect(self._finished)
        self.topics.itemChanged.connect(lambda _i: self._update_button())
        self._update_button()

    def chosen_topics(self) -> list[str]:
        out = []
        for i in range(self.topics.count()):
            item = self.topics.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _update_button(self) -> None:
        self.clone_button.setEnabled(not self.running and bool(self.chosen_topics())
                                     and bool(self.target_bootstrap))

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        topics = self.chosen_topics()
        if self.running or not topics:
            return
        from streamscope.core.monitor.clone import clone_to_sandbox

        self.running = True
        self.report = None
        self.error = ""
        self._cancel.clear()
        self.progress.setRange(0, len(topics))
        self.progress.setValue(0)
        self.progress.setFormat(f"0 of {len(topics)} topics")
        self.progress.show()
        self.summary.hide()
        self.cancel_button.setText("Cancel")
        self.topics.setEnabled(False)
        self.last_n.setEnabled(False)
        self._update_button()
        source, target, last_n = self.source, self.target_bootstrap, self.last_n.value()
        cancel, done = self._cancel, self._done

        def progress(p: Any) -> None:
            self.progress_seen = p  # one reference assignment: the GUI reads it whole

        def run() -> None:
            try:
                report = clone_to_sandbox(source, target, topics=topics, last_n=last_n,
                                          progress=progress, cancel=cancel)
            except BaseException as exc:  # noqa: BLE001 - shown in the dialog
                result: tuple[Any, Any] = (None, exc)
            else:
                result = (report, None)
            try:
                done.emit(*result)
            except RuntimeError:  # the dialog is gone
                pass

        self._thread = threading.Thread(target=run, name="streamscope-clone", daemon=True)
        self._thread.start()
        self._timer.start()

    def _show_progress(self) -> None:
        p = self.progress_seen
        if p is None:
            return
        self.progress.setRange(0, max(1, p.total_topics))
        self.progress.setValue(p.done_topics)
        self.progress.setFormat(
            f"{p.done_topics} of {p.total_topics} topics · "
            f"{fmt.plural(p.records_copied, 'record')} · {p.topic}"
        )

    @Slot(object, object)
    def _finished(self, report: Any, error: Any) -> None:
        self._timer.stop()
        self._show_progress()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.running = False
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)
        self.topics.setEnabled(True)
        self.last_n.setEnabled(True)
        self._update_button()
        if error is not None:
            self.error = getattr(error, "reason", None) or error_text(error)
            self.summary.setText(f"Clone failed: {self.error}")
        else:
            self.report = report
            text = clone_summary(report)
            if getattr(report, "cancelled", False):
                text = "Cancelled. " + text
            self.summary.setText(text)
        self.summary.show()

    def cancel(self) -> None:
        if self.running:
            self._cancel.set()
            self.cancel_button.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def reject(self) -> None:
        if self.running:
            self.cancel()  # the dialog stays until the clone stops
            return
        super().reject()

    def stop(self, wait: bool = False, timeout: float = 30.0) -> None:
        self._cancel.set()
        thread = self._thread
        if wait and thread is not None:
            thread.join(timeout)


__all__ = ["CloneDialog", "clone_summary"]
