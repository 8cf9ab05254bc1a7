"""The main window: navigation between views, the event log dock, menus and the status bar.

Contract: the window is given its views' collaborators (commands, ticker, theme manager,
settings) by the composition root (desktop/app.py) and builds only its own widgets. It
forwards each tick to the views (``on_tick`` for charts, ``on_slow_tick`` for tables and
text), keeps the status bar current (listener, msgs/s in and out, data dir), and persists
geometry, dock layout, theme and the last view in the ``QSettings`` it was given.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from core.config import LogConfig
from core.monitor import ClusterSnapshot
from desktop import format as fmt
from desktop.commands import Commands
from desktop.history import MonitorHistory
from desktop.theme import THEME_NAMES, Theme, ThemeManager, icon
from desktop.ticker import Ticker
from desktop.views.clients_view import ClientsView
from desktop.views.event_log_view import EventLogView
from desktop.views.groups_view import GroupsView
from desktop.views.overview_view import OverviewView
from desktop.views.topics_view import TopicsView
from desktop.views.widgets import Dot

VIEW_KEYS = ("overview", "topics", "groups", "clients")
_ICONS = {"overview": "overview", "topics": "topics", "groups": "groups", "clients": "clients"}


class MainWindow(QMainWindow):
    def __init__(
        self,
        commands: Commands,
        ticker: Ticker,
        themes: ThemeManager,
        settings: QSettings,
        *,
        log_defaults: LogConfig | None = None,
        parent: QWidget | None = None,
    ) -> None:
        existing = set(QApplication.topLevelWidgets())
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("Streamscope")
        self.setWindowIcon(icon("streamscope"))
        self.commands = commands
        self.ticker = ticker
        self.themes = themes
        self.settings = settings
        theme = themes.theme

        self.overview = OverviewView(theme)
        self.topics = TopicsView(commands, theme, defaults=log_defaults)
        self.groups = GroupsView(commands, theme)
        self.clients = ClientsView(theme)
        self.event_log = EventLogView(theme)
        self.views: dict[str, QWidget] = {
            "overview": self.overview,
            "topics": self.topics,
            "groups": self.groups,
            "clients": self.clients,
        }

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("NavList")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setFixedWidth(196)
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        for key, view in self.views.items():
            item = QListWidgetItem(icon(_ICONS[key]), view.title)  # type: ignore[attr-defined]
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(180, 40))
            self.nav.addItem(item)
            self.stack.addWidget(view)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._nav_changed)

        self.dock = QDockWidget("Event log", self)
        self.dock.setObjectName("EventLogDock")
        self.dock.setWidget(self.event_log)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)

        self._build_status_bar()
        self._build_menus()

        ticker.tick.connect(self._on_tick)
        ticker.slow_tick.connect(self._on_slow_tick)
        themes.changed.connect(self._apply_theme)
        self._restore()
        # pyqtgraph leaves parentless helpers behind (context menus and their forms):
        # give them to the window so they are deleted with it.
        for w in QApplication.topLevelWidgets():
            if w not in existing and w is not self and w.parent() is None:
                w.setParent(self, w.windowFlags())

    # -- construction ------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("StatusBar")
        self.status_dot = Dot(self.themes.theme.muted)
        self.status_listener = QLabel("Starting broker…")
        self.status_rates = QLabel("")
        self.status_rates.setObjectName("StatusRates")
        self.status_data = QLabel("")
        self.status_data.setObjectName("Muted")
        bar.addWidget(self.status_dot)
        bar.addWidget(self.status_listener)
        bar.addWidget(QLabel("   "))
        bar.addWidget(self.status_rates)
        bar.addPermanentWidget(self.status_data)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        topic_menu = menu.addMenu("&Topics")
        create = QAction(icon("add"), "&Create topic…", self)
        create.setShortcut(QKeySequence.StandardKey.New)
        create.triggered.connect(self._create_topic)
        topic_menu.addAction(create)
        topic_menu.addAction(self.topics.add_partitions_action)
        topic_menu.addAction(self.topics.retention_action)
        topic_menu.addAction(self.topics.delete_action)

        group_menu = menu.addMenu("&Groups")
        for action in (
            self.groups.start_action,
            self.groups.stop_action,
            self.groups.reset_action,
            self.groups.delete_action,
        ):
            group_menu.addAction(action)

        view_menu = menu.addMenu("&View")
        for i, (key, view) in enumerate(self.views.items()):
            action = QAction(view.title, self)  # type: ignore[attr-defined]
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _c=False, k=key: self.show_view(k))
            view_menu.addAction(action)
        view_menu.addSeparator()
        toggle = self.dock.toggleViewAction()
        toggle.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(toggle)
        theme_menu = view_menu.addMenu("Theme")
        self.theme_actions = QActionGroup(self)
        for name in THEME_NAMES:
            action = QAction(name.capitalize() if name != "system" else "Follow system", self)
            action.setCheckable(True)
            action.setChecked(name == self.themes.name)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_actions.addAction(action)
            theme_menu.addAction(action)

        help_menu = menu.addMenu("&Help")
        about = QAction("&About Streamscope", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    # -- navigation --------------------------------------------------------------------

    def current_view(self) -> str:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "overview"

    def show_view(self, key: str) -> None:
        if key in VIEW_KEYS:
            self.nav.setCurrentRow(VIEW_KEYS.index(key))

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        # Draw the newly shown view now rather than at the next tick.
        snap, history = self.ticker.snapshot, self.ticker.history
        if snap is not None:
            view = self.stack.currentWidget()
            view.on_slow_tick(snap, history)  # type: ignore[attr-defined]
            view.on_tick(snap, history)  # type: ignore[attr-defined]

    def _create_topic(self) -> None:
        self.show_view("topics")
        self.topics.open_create_dialog()

    # -- ticks -------------------------------------------------------------------------

    def _on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        # Only the visible view draws; hidden ones catch up when shown.
        view = self.stack.currentWidget()
        view.on_tick(snap, history)  # type: ignore[attr-defined]

    def _on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        for view in self.views.values():
            view.on_slow_tick(snap, history)  # type: ignore[attr-defined]
        self.event_log.on_slow_tick(snap, history)
        b = snap.broker
        t = self.themes.theme
        if b.listening:
            self.status_dot.set_color(t.ok)
            self.status_listener.setText(f"Listening on {b.bootstrap}")
        else:
            self.status_dot.set_color(t.bad)
            self.status_listener.setText("Not listening")
        r = history.total_rates
        self.status_rates.setText(
            f"In {fmt.rate(r[0])} ({fmt.byte_rate(r[2])})   ·   "
            f"Out {fmt.rate(r[1])} ({fmt.byte_rate(r[3])})"
        )
        self.status_data.setText(f"Data: {b.data_dir}")

    def set_listener_text(self, text: str, color: str | None = None) -> None:
        """For states the snapshots cannot show (starting, failed, stopped)."""
        self.status_listener.setText(text)
        self.status_dot.set_color(color or self.themes.theme.muted)

    # -- theme and settings --------------------------------------------------------------

    def set_theme(self, name: str) -> None:
        self.themes.set_name(name)
        for action in self.theme_actions.actions():
            action.setChecked(
                action.text() == (name.capitalize() if name != "system" else "Follow system")
            )
        self.settings.setValue("theme", self.themes.name)

    def _apply_theme(self, theme: Theme) -> None:
        for view in (*self.views.values(), self.event_log):
            view.apply_theme(theme)  # type: ignore[attr-defined]

    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1320, 860)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:
            self.resizeDocks([self.dock], [170], Qt.Orientation.Vertical)
        last = s.value("view/current", "overview")
        self.show_view(str(last) if str(last) in VIEW_KEYS else "overview")

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/current", self.current_view())
        s.setValue("theme", self.themes.name)
        s.sync()

    def dispose(self) -> None:
        """Delete the window (and with it every view, chart and menu) once control returns."""
        self.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.save_settings()
        super().closeEvent(event)

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About Streamscope")
        box.setText(
            "<b>Streamscope</b><br>A Kafka-compatible broker you can watch work.<br><br>"
            "Any Kafka client can connect to the bootstrap address shown in Overview."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
