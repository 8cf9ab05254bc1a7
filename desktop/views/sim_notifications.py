"""The notifications app's view: geofence events, newest first, in plain text.

Contract: :meth:`NotificationsPanel.set_snapshot` takes a
:class:`~streamscope.core.sim.apps.NotificationsSnapshot` (its events newest first, at
most the model's bound) and updates the list by difference: events newer than the top
row are inserted at the top, rows past the bound are dropped from the bottom; the list is
never cleared and refilled per tick, so a selection and the scroll position survive.
Rows are ``HH:MM:SS  partner-17 arriving at customer 31 for order 4411`` (the update's own
timestamp): item text, never markup. The line above counts every event since the app
started (the list keeps only the newest).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QSizePolicy, QWidget
from streamscope.core.sim.apps import GeofenceEvent, NotificationsSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.theme import Theme


def event_text(event: GeofenceEvent) -> str:
    return f"{fmt.clock(event.ts / 1000)[:8]}  {event.text}"


class NotificationsPanel(QWidget):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NotificationsPanel")
        layout = vbox(self, spacing=4)
        self.caption = named(
            plain_label("Geofence events: this app watches each partner's updates and notices "
                   "when one reaches its restaurant or its customer (the message a customer "
                   "gets: \u201cyour order is arriving\u201d)."),
            "Muted",
        )
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count = plain_label("No arrivals yet")
        self.count.setWordWrap(True)
        self.count.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.list = QListWidget()
        self.list.setWordWrap(True)  # a long partner id wraps rather than scrolls sideways
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumHeight(60)
        layout.addWidget(self.caption)
        layout.addWidget(self.count)
        layout.addWidget(self.list, 1)
        self._shown: list[GeofenceEvent] = []  # what the list rows show, newest first
        self.snapshot: NotificationsSnapshot | None = None

    def apply_theme(self, theme: Theme) -> None:
        pass  # the list follows the palette

    def set_snapshot(self, snapshot: NotificationsSnapshot) -> None:
        self.snapshot = snapshot
        events = list(snapshot.events)
        head = self._shown[0] if self._shown else None
        fresh = events if head is None else events[: events.index(head)] if head in events else events
        if head is not None and head not in events:
            # Nothing in common (the app restarted): start over.
            self.list.clear()
            self._shown = []
        for event in reversed(fresh):
            item = QListWidgetItem(event_text(event))  # item text is never markup
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.list.insertItem(0, item)
        self._shown[:0] = fresh
        bound = max(len(events), 1)
        while len(self._shown) > bound:
            self._shown.pop()
            self.list.takeItem(self.list.count() - 1)
        n = snapshot.emitted
        text = (
            "No arrivals yet" if n == 0
            else f"{fmt.plural(n, 'arrival')} detected since the app started"
            + (f" (the newest {len(self._shown)} listed)" if n > len(self._shown) else "")
        )
        if self.count.text() != text:
            self.count.setText(text)

    def rows(self) -> list[str]:
        """The list's texts, top first (for tests)."""
        return [self.list.item(i).text() for i in range(self.list.count())]
