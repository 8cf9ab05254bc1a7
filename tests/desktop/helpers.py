"""Set-up steps the desktop tests share: broker commands run through the real app.

Contract: each helper waits for the command's answer on the GUI thread (``qtbot``, no
sleeps) and fails the test if the broker refused; the behaviour under test comes after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtWidgets import QDialog
from streamscope.desktop.app import Streamscope
from streamscope.desktop.views.topics_view import TopicsView

D = TypeVar("D", bound=QDialog)


def command(shell: Streamscope, qtbot, start: Callable[[Callable], None], timeout=15_000) -> Any:
    """Run one command (``start(on_done)``), wait for its answer, return it or raise."""
    done: list[tuple[Any, BaseException | None]] = []
    start(lambda result, error: done.append((result, error)))
    qtbot.waitUntil(lambda: bool(done), timeout=timeout)
    result, error = done[0]
    if error is not None:
        raise error
    return result


def create_topic(
    shell: Streamscope,
    qtbot,
    name: str,
    partitions: int = 1,
    configs: dict[str, str] | None = None,
) -> None:
    """Create a topic through the broker service (set-up, not the behaviour under test)."""
    command(shell, qtbot, lambda cb: shell.commands.create_topic(name, partitions, configs, cb))


def wait_logged(shell: Streamscope, qtbot, kind: str, text: str, timeout=5000) -> None:
    """Take a snapshot now and wait until the event log shows the row ``(kind, text)``."""
    log = shell.window.event_log
    shell.ticker.refresh_now()
    qtbot.waitUntil(lambda: (kind, text) in log.row_texts(), timeout=timeout)


def open_topic_dialog(
    shell: Streamscope, qtbot, topic: str, opener: Callable[[TopicsView], D | None]
) -> D:
    """Select ``topic`` on the Topics page, open a dialog there with ``opener`` (e.g.
    ``TopicsView.open_produce_dialog``) and wait until it shows."""
    view = shell.window.topics
    shell.window.show_view("topics")
    assert view.table.select_key(topic)
    dialog = opener(view)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    return dialog


# -- external clusters (issue 15) -----------------------------------------------------------


def is_external(snap) -> bool:
    """A snapshot of an external cluster (the wire cannot know the data dir)."""
    return snap is not None and snap.broker.data_dir == ""


def add_profile(shell: Streamscope, profile) -> None:
    """Save a connection profile and list it in the cluster switcher."""
    shell.window.profile_store.save(profile)
    shell.clusters.reload()


def switch(shell: Streamscope, qtbot, name: str) -> None:
    """Choose ``name`` in the cluster switcher, as a user does."""
    combo = shell.window.cluster_combo
    combo.setCurrentText(name)
    assert combo.currentText() == name
    combo.activated.emit(combo.currentIndex())


def closed(widget) -> bool:
    """The widget is hidden, or already deleted (a dialog that deletes itself on close)."""
    import shiboken6

    return not shiboken6.isValid(widget) or not widget.isVisible()
