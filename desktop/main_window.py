"""The main window: navigation between views, the event log dock, menus and the status bar.

Contract: the window is given its views' collaborators (commands, ticker, theme manager,
settings, the demo workload) by the composition root (desktop/app.py) and builds only its
own widgets. It forwards each tick to the view on screen (``on_tick`` for charts,
``on_slow_tick`` for tables and text). Hidden views are not refreshed per tick: each
slow tick brings at most :attr:`MainWindow.background_views` of them (the longest
waiting first, so each hidden view every few seconds) up to date, each in an event-loop
slice of its own just after the tick, and a view is brought
up to date from the latest snapshot the moment it is shown or asked for by name
(:meth:`MainWindow.select_topic`, :meth:`MainWindow.select_group`), so none flashes
stale data. The chart history (:class:`~desktop.history.MonitorHistory`) is
recorded by the ticker on every tick whatever is shown, and the event log takes every
slow tick (it accumulates events the snapshot keeps only for a while). It keeps the status bar current (listener, msgs/s in and out, data
dir), and persists geometry, dock layout, theme and the last view in the ``QSettings`` it
was given.

Size: the window's minimum size is fixed (``MINIMUM_SIZE``), never derived from what the
views show, so a long topic name or data dir can neither raise it nor keep it raised.
Each view sits in a scroll area that scrolls only if a view cannot shrink to the space it
is given; views elide long names themselves, so at 1280x720 none has to.

Staleness: when the service says the broker is running but no new snapshot arrived for
``STALE_AFTER_S`` (:meth:`Ticker.is_stale`), the status bar says "Broker not responding:
last update N s ago" instead of presenting the last snapshot as live.

Cluster (issue 15): the menu bar's right corner holds the cluster switcher ("Embedded" and the
saved connection profiles; :class:`~desktop.cluster_switch.ClusterSwitch`, built by the app,
fills it and acts on it) and a Profiles… button (the
:class:`~desktop.dialogs.profiles_dialog.ProfilesDialog`). :meth:`MainWindow.set_cluster`
says which cluster is shown: the window title and the status bar name it; in external
mode the status bar shows the cluster's address and broker count, or its error with the
age of the last snapshot, and the actions only the embedded broker has (start or stop
in-process consumers, Listen address, Users, the demo workload) are disabled with a
tooltip saying why, while Cluster > Clone into sandbox… is enabled. The Topics page
lists the cluster's brokers.

Menus: Broker has "Listen address…" (where the broker listens at the next start, and
whether clients must log in) and "Users…" (the users clients log in as); Demo starts
and stops the demo workload; Help has "What am I looking at?" (F1,
opened at the current view's section), the keyboard shortcuts and About (the version).
The overview's first-step buttons are routed here to the topics view's create dialog, the
groups view's start-consumers dialog and the demo workload.
"""

from __future__ import annotations

from functools import partial
from typing import TypeVar

from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QFrame,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QWidget,
)
from streamscope.core.cli import version
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import EMBEDDED_ONLY, Commands
from streamscope.desktop.demo import DemoWorkload
from streamscope.desktop.dialogs.help_dialog import HelpDialog
from streamscope.desktop.dialogs.listen_dialog import ListenDialog
from streamscope.desktop.dialogs.produce_dialog import ProduceDialog
from streamscope.desktop.dialogs.profiles_dialog import ProfilesDialog
from streamscope.desktop.dialogs.users_dialog import UsersDialog
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import hbox, named, plain_label
from streamscope.desktop.lesson_service import LessonService
from streamscope.desktop.presentation import PresentationMode
from streamscope.desktop.profiles import PasswordVault, ProfileStore
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import THEME_NAMES, Theme, ThemeManager, icon
from streamscope.desktop.ticker import Ticker
from streamscope.desktop.views.browser_view import BrowserView
from streamscope.desktop.views.chart_markers import cluster_events, group_events
from streamscope.desktop.views.clients_view import ClientsView
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.event_log_view import EventLogView
from streamscope.desktop.views.groups_view import GroupsView
from streamscope.desktop.views.lesson_figures import LessonFiguresView
from streamscope.desktop.views.lesson_panel import LessonPanel
from streamscope.desktop.views.log_view import LogView
from streamscope.desktop.views.overview_view import OverviewView
from streamscope.desktop.views.sim_view import SimView
from streamscope.desktop.views.topics_view import TopicsView
from streamscope.desktop.views.widgets import Dot

VIEW_KEYS = (
    "overview", "topics", "log", "messages", "groups", "clients", "simulation", "figures"
)
_ICONS = {
    "overview": "overview",
    "topics": "topics",
    "log": "partitions",
    "messages": "copy",
    "groups": "groups",
    "clients": "clients",
    "simulation": "simulation",
    "figures": "lesson-figures",
}
# Fixed, content-independent, and below a 1280x720 projector (window decorations included).
MINIMUM_SIZE = (960, 600)
DEFAULT_SIZE = (1280, 720)
# Below this window width the cluster's address or error beside the switcher is left out,
# so the menus keep their room (the status bar says the same).
CLUSTER_STATE_MIN_WIDTH = 1180
EVENT_LOG_HEIGHT = 170  # the event log dock's height until the user drags it
# Hidden views refreshed per slow tick (2 Hz), in turn: with five hidden, each is at
# most a few seconds behind, at the cost of one view's refresh rather than five.
BACKGROUND_VIEWS = 1
D = TypeVar("D", bound=QDialog)


class ViewPage(QScrollArea):
    """Holds one view: fills the page, and scrolls only below the view's minimum size.

    Not ``widgetResizable``: for a view whose layout has a height-for-width (any wrapped
    label), QScrollArea would size it to its *preferred* height and scroll needlessly. Here
    the view gets the whole viewport, never less than its minimum size hint.
    """

    def __init__(self, view: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(False)
        self.setWidget(view)
        view.installEventFilter(self)

    def fit(self) -> None:
        view = self.widget()
        if view is None:
            return
        need = view.minimumSizeHint().expandedTo(view.minimumSize())
        avail = self.maximumViewportSize()  # the viewport without scroll bars
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width, height = avail.width(), avail.height()
        for _ in range(2):  # a scroll bar in one direction can require the other
            if need.height() > height:
                width = avail.width() - bar
            if need.width() > width:
                height = avail.height() - bar
        view.resize(max(width, need.width()), max(height, need.height()))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.fit()
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # A hidden page misses its view's layout requests: catch up when shown.
        self.fit()
        super().showEvent(event)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit()
        return super().eventFilter(watched, event)


class MainWindow(QMainWindow):
    profiles_changed = Signal()  # the profiles dialog saved or deleted one
    clone_requested = Signal()  # Cluster > Clone into sandbox…

    def __init__(
        self,
        commands: Commands,
        ticker: Ticker,
        themes: ThemeManager,
        settings: QSettings,
        *,
        demo: DemoWorkload | None = None,
        sim: SimService,
        lessons: LessonService | None = None,
        vault: PasswordVault | None = None,
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
        self.demo = demo
        self.profile_store = ProfileStore(settings)
        self.vault = vault if vault is not None else PasswordVault()
        self.external = None  # the ExternalService shown, in external mode
        self.cluster_name: str | None = None
        self.help_dialog: HelpDialog | None = None
        self.broker_dialog: QDialog | None = None  # Listen address or Users, while open
        # Views refreshed from the latest slow tick's snapshot; the others are stale.
        # The snapshot each view was last drawn from: a view asked for by name is brought
        # up to date when it has not seen the latest one (a fast tick may be newer than
        # the last slow tick, so "refreshed this slow tick" is not enough).
        self._given: dict[str, ClusterSnapshot] = {}
        # Hidden views refreshed per slow tick, round robin (0: only when shown).
        self.background_views = BACKGROUND_VIEWS
        self.background_pending = 0  # hidden views' turns scheduled and not yet run
        self._background: list[str] = []  # hidden views, the longest waiting first
        self._seen: set[str] = set()  # views that took at least one snapshot
        theme = themes.theme
        # Explicit, so the layout never raises it to fit content (QLayout leaves an
        # explicitly set minimum alone).
        self.setMinimumSize(*MINIMUM_SIZE)

        self.overview = OverviewView(theme)
        self.topics = TopicsView(commands, theme)
        self.groups = GroupsView(commands, theme)
        self.clients = ClientsView(theme)
        self.log = LogView(theme)
        self.browser = BrowserView(commands, theme)
        self.event_log = EventLogView(theme)
        self.simulation = SimView(sim, theme)  # the delivery simulation (issue 12)
        # Lessons 6 and 8 draw their figures here, from the lesson service's newest view.
        self.figures = LessonFiguresView(
            theme,
            latest=lessons.latest if lessons is not None else lambda: None,
            find=lessons.find if lessons is not None else lambda _name: None,
        )
        self.views: dict[str, QWidget] = {
            "overview": self.overview,
            "topics": self.topics,
            "log": self.log,
            "messages": self.browser,
            "groups": self.groups,
            "clients": self.clients,
            "simulation": self.simulation,
            "figures": self.figures,
        }

        central = QWidget()
        layout = hbox(central, spacing=0)
        self.nav = named(QListWidget(), "NavList")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setFixedWidth(196)
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.pages: dict[str, ViewPage] = {}
        for key, view in self.views.items():
            item = QListWidgetItem(icon(_ICONS[key]), view.title)  # type: ignore[attr-defined]
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(180, 40))
            self.nav.addItem(item)
            page = ViewPage(view)
            page.setObjectName(f"{key}Page")
            self.pages[key] = page
            self.stack.addWidget(page)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._nav_changed)

        self.dock = named(QDockWidget("Event log", self), "EventLogDock")
        self.dock.setWidget(self.event_log)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self._build_lessons(lessons)

        self._build_status_bar()
        self._build_menus()
        self._build_cluster_bar()  # sized to the menu bar's items
        self.overview.create_topic_requested.connect(self._create_topic)
        self.overview.start_consumers_requested.connect(self.start_consumers)
        self.overview.demo_requested.connect(self.start_demo)
        self.topics.show_log_requested.connect(self.show_log)
        self.topics.browse_requested.connect(self.browse_messages)
        self.log.record_requested.connect(self.show_record)
        self.topics.produced.connect(self.log.highlight_record)
        if demo is not None:
            demo.running_changed.connect(self._demo_changed)

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

    def _build_lessons(self, lessons: LessonService | None) -> None:
        """The Lesson dock and presentation mode (issue 12): the dock takes the right edge
        top to bottom, beside the event log, and shows itself when a lesson opens."""
        self.lessons = lessons
        self.lesson_panel: LessonPanel | None = None
        self.lesson_dock = named(QDockWidget("Lesson", self), "LessonDock")
        self.lesson_dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()
        self.presentation = PresentationMode(self, self.themes, self.nav)
        if lessons is None:
            return
        panel = LessonPanel(lessons, self.themes.theme)
        self.lesson_panel = panel
        self.lesson_dock.setWidget(panel)
        panel.show_page_requested.connect(self._show_lesson_page)
        self._lesson_group: str | None = None  # a lesson's group to select once listed
        self.ticker.tick.connect(lambda *_: self._select_lesson_group())
        panel.banner_changed.connect(
            lambda b: self.presentation.set_caption(b.heading, b.caption, b.checks)
        )
        lessons.opened.connect(lambda _lesson: self.show_lesson_panel())
        self.ticker.slow_tick.connect(panel.on_slow_tick)

    def show_lesson_panel(self) -> None:
        """Show the Lesson dock (not while presenting: the caption banner speaks then)."""
        if not self.presentation.active:
            self.lesson_dock.show()
            self.lesson_dock.raise_()

    def hide_lesson_panel(self) -> None:
        """Hide the Lesson dock (the Lesson menu and View bring it back)."""
        self.lesson_dock.hide()

    def set_presentation(self, on: bool, *, fullscreen: bool = True) -> None:
        """Presentation mode on or off, as F5 does; ``fullscreen=False`` keeps the window's
        size (a screenshot at 1280x720)."""
        if on:
            self.presentation.fullscreen = fullscreen
            self.presentation.enter()
        else:
            self.presentation.leave()
            self.presentation.fullscreen = True  # F5 fills the screen again

    def show_sim_app(self, group: str) -> bool:
        """The Simulation page on app ``group``'s tab; False if there is no such app."""
        self.show_view("simulation")
        return self.simulation.apps.show_app(group)

    def open_lesson(self, name: str) -> None:
        """Open lesson ``name`` in the Lesson dock (it shows the pages that matter for it)."""
        if self.lesson_panel is not None:
            self.lesson_panel.open_lesson(name)

    def _show_lesson_page(self, key: str, name: str) -> None:
        """The page a lesson (or its step) is watched on (its file's ``page``/``focus``)."""
        if key not in self.views:
            return  # a page this build does not have: stay where we are
        if key == "log" and name:
            self.show_log(name)
        elif key == "groups" and name:
            self.show_view("groups")
            # A lesson names its group before its step makes it: selected once listed.
            self._lesson_group = None if self.select_group(name) else name
        elif key == "simulation" and name:
            self.show_sim_app(name)  # the app's tab once it runs; the page either way
        elif key == "messages" and name:
            self.browse_messages(name)
        else:
            self.show_view(key)

    def _select_lesson_group(self) -> None:
        """Select the group a lesson asked for, once a snapshot lists it (and while the
        Groups page is still the one shown: a presenter who moved on keeps their page)."""
        name = self._lesson_group
        if name is None:
            return
        if self.current_view() != "groups" or self.select_group(name):
            self._lesson_group = None

    def _build_status_bar(self) -> None:
        bar = named(self.statusBar(), "StatusBar")
        self.status_dot = Dot(self.themes.theme.muted)
        # Elided labels: a long data dir or address must not widen the window.
        self.status_listener = ElidedLabel("Starting broker…", mode=Qt.TextElideMode.ElideRight)
        self.status_rates = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "StatusRates")
        self.status_data = named(ElidedLabel(""), "Muted")
        for label in (self.status_listener, self.status_rates, self.status_data):
            label.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.status_dot)
        bar.addWidget(self.status_listener, 2)
        bar.addWidget(self.status_rates, 3)
        # Hidden while the listener warns that others can connect (_show_listener): the
        # warning takes its room.
        bar.addPermanentWidget(self.status_data, 2)

    def _build_cluster_bar(self) -> None:
        """The cluster switcher, in the menu bar's right corner: it costs the views no
        height (the Simulation page needs all of it at 1280x720 with the event log)."""
        bar = named(QWidget(), "ClusterBar")
        row = hbox(bar, (0, 0, 6, 0), spacing=6)
        # Elided (the whole text is its tooltip): a long error must not push the bar wider.
        self.cluster_state = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        # A fixed width: the menu bar places its corner once, so the corner never resizes.
        self.cluster_state.setFixedWidth(320)
        row.addWidget(self.cluster_state, 1)
        row.addWidget(plain_label("Cluster:"))
        self.cluster_combo = named(QComboBox(), "ClusterCombo")
        self.cluster_combo.setMinimumContentsLength(18)
        self.cluster_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.cluster_combo.setToolTip("The cluster the views show: the embedded broker, or "
                                      "a saved connection profile")
        row.addWidget(self.cluster_combo)
        self.profiles_button = QPushButton("Profiles…")
        self.profiles_button.setToolTip("Add, edit or delete connection profiles")
        self.profiles_button.clicked.connect(lambda: self.open_profiles_dialog())
        row.addWidget(self.profiles_button)
        # No taller than the menu bar's own items, so the bar keeps its height.
        height = max(18, self.menuBar().sizeHint().height())
        for w in (self.cluster_combo, self.profiles_button):
            w.setFixedHeight(height)
        self.profiles_button.setFlat(True)
        self.cluster_bar = bar
        self.menuBar().setCornerWidget(bar, Qt.Corner.TopRightCorner)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        if quit_action.shortcut().isEmpty():  # some platforms define none
            quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        topic_menu = menu.addMenu("&Topics")
        create = QAction(icon("add"), "&Create topic…", self)
        create.setShortcut(QKeySequence.StandardKey.New)
        create.triggered.connect(self._create_topic)
        topic_menu.addAction(create)
        topic_menu.addAction(self.topics.produce_action)
        topic_menu.addSeparator()
        topic_menu.addAction(self.topics.add_partitions_action)
        topic_menu.addAction(self.topics.retention_action)
        topic_menu.addAction(self.topics.delete_records_action)
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
        view_menu.addAction(self.presentation.action)
        theme_menu = view_menu.addMenu("Theme")
        self.theme_actions = QActionGroup(self)
        for name in THEME_NAMES:
            action = QAction(name.capitalize() if name != "system" else "Follow system", self)
            action.setCheckable(True)
            action.setChecked(name == self.themes.name)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_actions.addAction(action)
            theme_menu.addAction(action)

        if self.lesson_panel is not None:
            self._build_lesson_menu(self.lesson_panel)

        broker_menu = menu.addMenu("&Broker")
        self.listen_action = QAction("&Listen address…", self)
        self.listen_action.setToolTip("Where the broker accepts connections, and whether "
                                      "clients must log in (used at the next start)")
        self.listen_action.triggered.connect(lambda: self.open_listen_dialog())
        self.users_action = QAction("&Users…", self)
        self.users_action.setToolTip("The users clients log in as (SASL)")
        self.users_action.triggered.connect(lambda: self.open_users_dialog())
        broker_menu.addAction(self.listen_action)
        broker_menu.addAction(self.users_action)

        cluster_menu = menu.addMenu("&Cluster")
        self.profiles_action = QAction("Connection &profiles…", self)
        self.profiles_action.triggered.connect(lambda: self.open_profiles_dialog())
        self.clone_action = QAction("&Clone into sandbox…", self)
        self.clone_action.setToolTip("Copy the shown cluster's topics (and their last "
                                     "records) into the embedded broker")
        self.clone_action.triggered.connect(self.clone_requested.emit)
        self.clone_action.setEnabled(False)
        cluster_menu.addAction(self.profiles_action)
        cluster_menu.addAction(self.clone_action)

        demo_menu = menu.addMenu("&Demo")
        self.demo_start_action = QAction("&Start the demo workload", self)
        self.demo_start_action.setToolTip(
            "Topics, producers and consumer groups at work, lag included"
        )
        self.demo_start_action.triggered.connect(self.start_demo)
        self.demo_stop_action = QAction("S&top the demo workload", self)
        self.demo_stop_action.triggered.connect(self.stop_demo)
        demo_menu.addAction(self.demo_start_action)
        demo_menu.addAction(self.demo_stop_action)
        self._demo_changed(False)

        help_menu = menu.addMenu("&Help")
        self.help_action = QAction("&What am I looking at?", self)
        self.help_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        if self.help_action.shortcut().isEmpty():
            self.help_action.setShortcut(QKeySequence("F1"))
        self.help_action.triggered.connect(lambda: self.open_help())
        help_menu.addAction(self.help_action)
        shortcuts = QAction("&Keyboard shortcuts", self)
        shortcuts.triggered.connect(lambda: self.open_help("shortcuts"))
        help_menu.addAction(shortcuts)
        help_menu.addSeparator()
        about = QAction("&About Streamscope", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_lesson_menu(self, panel: LessonPanel) -> None:
        lesson_menu = self.menuBar().addMenu("&Lesson")
        open_menu = lesson_menu.addMenu("&Open lesson")
        open_menu.setToolTipsVisible(True)
        self.lesson_actions: dict[str, QAction] = {}
        for i, lesson in enumerate(panel.lessons.lessons(), 1):
            action = QAction(f"{i}. {lesson.title}", self)
            action.triggered.connect(lambda _c=False, n=lesson.name: self.open_lesson(n))
            open_menu.addAction(action)
            self.lesson_actions[lesson.name] = action

        def follow_target(_settings: object = None) -> None:
            # On an external cluster, the lessons that need the embedded broker are greyed
            # out with the reason, as in the lesson panel's list.
            for lesson in panel.lessons.lessons():
                reason = panel.lessons.unavailable_reason(lesson)
                self.lesson_actions[lesson.name].setEnabled(reason is None)
                self.lesson_actions[lesson.name].setToolTip(reason or lesson.title)

        panel.lessons.target_changed.connect(follow_target)
        follow_target()
        lesson_menu.addSeparator()
        for action in (panel.previous_action, panel.next_action, panel.play_action,
                       panel.restart_action):
            lesson_menu.addAction(action)
        lesson_menu.addSeparator()
        lesson_menu.addAction(self.lesson_dock.toggleViewAction())

    # -- navigation --------------------------------------------------------------------

    def current_view(self) -> str:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "overview"

    def show_view(self, key: str) -> None:
        if key in VIEW_KEYS:
            self.nav.setCurrentRow(VIEW_KEYS.index(key))

    def show_log(self, topic: str) -> None:
        """Show the Log page on ``topic`` (selected as soon as a snapshot lists it)."""
        self.show_view("log")
        self.log.show_topic(topic)

    def browse_messages(self, topic: str, partition: int = -1) -> None:
        """Show the Messages page on ``topic`` (one partition, or all for -1), newest first."""
        self.show_view("messages")
        self.browser.browse(topic, None if partition < 0 else partition)

    def show_record(self, topic: str, partition: int, offset: int) -> None:
        """Show the Messages page with the record at ``offset`` selected."""
        self.show_view("messages")
        self.browser.show_record(topic, partition, offset)

    def message_browser(self) -> BrowserView:
        """The Messages page (its reads, selection and decoded detail)."""
        return self.browser

    def open_produce_dialog(self, topic: str) -> ProduceDialog | None:
        """The Topics page with ``topic`` selected, and its produce dialog open."""
        self.show_view("topics")
        if not self.select_topic(topic):
            return None
        return self.topics.open_produce_dialog()

    def select_topic(self, name: str) -> bool:
        """Select a topic in the topics view (shown or not); False if it is not listed."""
        self._catch_up("topics")
        return self.topics.table.select_key(name)

    def select_group(self, group_id: str) -> bool:
        """Select a group in the groups view (shown or not); False if it is not listed."""
        self._catch_up("groups")
        return self.groups.select_group(group_id)

    def show_event_log(self, height: int | None = None) -> None:
        """Show the event log dock, ``height`` pixels tall if given (else as it was)."""
        self.dock.show()
        if height is not None:
            self.resizeDocks([self.dock], [height], Qt.Orientation.Vertical)

    def hide_event_log(self) -> None:
        """Hide the event log dock (View menu and F-keys bring it back)."""
        self.dock.hide()

    def event_log_fit_height(self, limit: int) -> int:
        """How tall the event log can be, at most ``limit``, with the current view still
        fitting above it unscrolled (laid out as shown now)."""
        page = self.pages[self.current_view()]
        view = page.widget()
        spare = page.height() - view.minimumSizeHint().height() if view is not None else 0
        return min(limit, self.dock.height() + max(0, spare))

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        # Draw the newly shown view now, from the latest snapshot, rather than at the
        # next tick: hidden views were not refreshed, so it would show stale data.
        snap, history = self.ticker.snapshot, self.ticker.history
        if snap is not None:
            key = VIEW_KEYS[row]
            view = self.views[key]
            view.on_slow_tick(snap, history)  # type: ignore[attr-defined]
            view.on_tick(snap, history)  # type: ignore[attr-defined]
            self._given[key] = snap
            self._seen.add(key)

    def _refresh_hidden(self, key: str) -> None:
        """A hidden view's turn (see _on_slow_tick): refreshed from the latest snapshot,
        unless it was shown (and so refreshed) meanwhile."""
        self.background_pending -= 1
        snap = self.ticker.snapshot
        if snap is None or key == self.current_view():
            return
        self.views[key].on_slow_tick(snap, self.ticker.history)  # type: ignore[attr-defined]
        self._given[key] = snap

    def _catch_up(self, key: str) -> None:
        """Refresh view ``key`` from the latest snapshot if it missed slow ticks (hidden)."""
        snap = self.ticker.snapshot
        if snap is None or self._given.get(key) is snap:
            return
        self.views[key].on_slow_tick(snap, self.ticker.history)  # type: ignore[attr-defined]
        self._given[key] = snap
        self._seen.add(key)

    def _create_topic(self) -> None:
        self.show_view("topics")
        self.topics.open_create_dialog()

    def start_consumers(self) -> None:
        self.show_view("groups")
        if self.external is not None:
            return  # in-process consumers join the embedded broker only
        self.groups.open_start_dialog()

    # -- demo workload -----------------------------------------------------------------

    def start_demo(self) -> None:
        if self.demo is not None:
            self.demo.start()

    def stop_demo(self) -> None:
        if self.demo is not None:
            self.demo.stop()

    def _demo_changed(self, running: bool) -> None:
        available = self.demo is not None and self.external is None
        self.demo_start_action.setEnabled(available and not running)
        self.demo_stop_action.setEnabled(available and running)
        self.overview.demo_running = running
        if self.ticker.snapshot is not None:
            self.overview.first_step.update_for(self.ticker.snapshot, running)

    # -- cluster (issue 15) -------------------------------------------------------------

    def embedded_only_actions(self) -> list[QAction]:
        return [self.groups.start_action, self.groups.stop_action, self.listen_action,
                self.users_action, self.demo_start_action, self.demo_stop_action]

    def set_cluster(self, name: str | None, service: object) -> None:
        """Show cluster ``name`` (its ExternalService), or the embedded broker (None)."""
        if self.external is not None:
            try:
                self.external.changed.disconnect(self._cluster_changed)  # type: ignore[attr-defined]
            except (RuntimeError, TypeError):
                pass
        self.external = service
        self.cluster_name = name
        external = service is not None
        self._given.clear()  # every view redraws from the new cluster's first snapshot
        self._seen.clear()
        self.topics.set_external(external)
        self.overview.set_external(external)
        self.browser.source_changed()
        for action in self.embedded_only_actions():
            if external:
                action.setEnabled(False)
                action.setToolTip(EMBEDDED_ONLY.capitalize())
        if not external:
            self.listen_action.setToolTip("Where the broker accepts connections, and whether "
                                          "clients must log in (used at the next start)")
            self.users_action.setToolTip("The users clients log in as (SASL)")
            self.listen_action.setEnabled(True)
            self.users_action.setEnabled(True)
            self.groups.start_action.setEnabled(True)
            self.groups.start_action.setToolTip("Start in-process consumers in a group")
            self._demo_changed(self.demo.running if self.demo is not None else False)
        self.clone_action.setEnabled(external)
        if external:
            self.setWindowTitle(f"Streamscope — {name} ({service.bootstrap})")  # type: ignore[attr-defined]
            service.changed.connect(self._cluster_changed)  # type: ignore[attr-defined]
            self.set_listener_text(f"Connecting to {name} at {service.bootstrap}…")  # type: ignore[attr-defined]
            self.status_rates.setText("")
            self.status_data.setText("")
        else:
            self.setWindowTitle("Streamscope")
            self.status_rates.setVisible(True)
            self.status_data.setVisible(True)
            self.status_listener.setMinimumWidth(0)
        self._cluster_changed()

    def _cluster_changed(self) -> None:
        ext = self.external
        t = self.themes.theme
        if ext is None:
            self.cluster_state.setText("")
            return
        error = ext.last_error  # type: ignore[attr-defined]
        if error:
            self.cluster_state.setText(f"⚠ {error}")
            self.cluster_state.setStyleSheet(f"color: {t.bad};")
            if self.ticker.snapshot is None:
                self.set_listener_text(f"{self.cluster_name}: {error}", t.bad)
        else:
            self.cluster_state.setStyleSheet("")
            self.cluster_state.setText(f"{ext.bootstrap} · every "  # type: ignore[attr-defined]
                                       f"{ext.interval_s:g} s")  # type: ignore[attr-defined]

    def _show_external(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        """The status bar in external mode: which cluster, live or how stale, and why."""
        ext = self.external
        t = self.themes.theme
        age = self.ticker.snapshot_age()
        error = ext.last_error  # type: ignore[attr-defined]
        n = len(snap.all_brokers)
        where = f"{self.cluster_name} at {ext.bootstrap}"  # type: ignore[attr-defined]
        self._style_listener("")
        self.status_data.setVisible(not error)  # an error takes the room it needs
        self.status_rates.setVisible(not error)
        if error or self.ticker.is_stale():
            self.status_dot.set_color(t.bad if error else t.warn)
            ago = f"last update {age:.0f} s ago" if age is not None else "no update"
            label = self.status_listener
            label.setText(f"{where}: {error or 'not responding'} ({ago})")
            need = label.fontMetrics().horizontalAdvance(label.text()) + 16
            label.setMinimumWidth(min(need, int(self.statusBar().width() * 0.9)))
            self.status_rates.setText("")
        else:
            self.status_dot.set_color(t.ok)
            self.status_listener.setMinimumWidth(0)
            self.status_listener.setText(
                f"{where}: {n} broker{'s' if n != 1 else ''}")
            r = history.total_rates
            self.status_rates.setText(f"In {fmt.rate(r[0])}   ·   Out {fmt.rate(r[1])}")
        self.status_data.setText("Embedded broker still running")

    def open_profiles_dialog(self, select: str | None = None) -> ProfilesDialog:
        """Cluster > Connection profiles…"""
        if select is None and self.cluster_name is not None:
            select = self.cluster_name
        dialog = ProfilesDialog(self.profile_store, self.vault, self, select=select)
        dialog.profiles_changed.connect(self.profiles_changed.emit)
        return self._open_dialog(dialog)

    # -- help --------------------------------------------------------------------------

    def shortcuts(self) -> list[tuple[str, str]]:
        """(what, keys) for every menu action with a shortcut, as the menus say them."""
        out = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            if menu is None:
                continue
            stack = list(menu.actions())
            while stack:
                action = stack.pop(0)
                if action.menu() is not None:
                    stack[:0] = action.menu().actions()
                    continue
                keys = ", ".join(  # every key of it (the lesson steps have two each)
                    k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
                )
                if keys:
                    out.append((action.text().replace("&", ""), keys))
        out.append(("Leave presentation mode", "Esc"))  # a shortcut of its own, not a menu's
        return out

    def open_help(self, section: str | None = None) -> HelpDialog:
        """The help page, at ``section`` (default: the view being looked at)."""
        if self.help_dialog is None:
            dialog = HelpDialog(self.shortcuts(), version(), self)
            self.help_dialog = dialog
        dialog = self.help_dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.show_section(section or self.current_view())
        return dialog

    # -- ticks -------------------------------------------------------------------------

    def _on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        # Only the visible view draws; hidden ones catch up when shown.
        self.views[self.current_view()].on_tick(snap, history)  # type: ignore[attr-defined]
        self._mark_charts(snap)

    def _mark_charts(self, snap: ClusterSnapshot) -> None:
        """Rebalances and admin events on the overview's throughput charts (the whole
        cluster) and on the groups view's lag chart (the selected group), for the visible
        view. The topics view marks its own chart."""
        key = self.current_view()
        if key == "overview":
            events = cluster_events(snap)
            for chart in (self.overview.msg_chart, self.overview.bytes_chart):
                chart.markers.set_events(events, snap.taken_at)
        elif key == "groups":
            group = self.groups.selected_group()
            self.groups.lag_chart.markers.set_events(
                group_events(snap, group.group_id) if group is not None else (), snap.taken_at
            )

    def _on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        # The view on screen, and a bounded few hidden ones in turn: refreshing every
        # hidden table and text each tick cost the GUI thread milliseconds nobody saw.
        # A hidden view is made current when shown (_nav_changed) or asked for by name
        # (_catch_up); the turns only keep it from drifting far behind meanwhile.
        key = self.current_view()
        # Every view takes the first snapshot, so none is ever without one.
        first = [k for k in self.views if k not in self._seen and k != key]
        for k in (key, *first):
            self.views[k].on_slow_tick(snap, history)  # type: ignore[attr-defined]
            self._given[k] = snap
        self._seen.update((key, *first))
        queue = [k for k in self._background if k != key and k in self.views]
        queue += [k for k in self.views if k != key and k not in queue]
        for hidden in [k for k in queue if k not in first][: max(0, self.background_views)]:
            # In a slice of the event loop of its own, after this one: a hidden view's
            # refresh added to the shown one's made one long stall of two short ones.
            self.background_pending += 1
            QTimer.singleShot(0, self, partial(self._refresh_hidden, hidden))
            queue.remove(hidden)
            queue.append(hidden)
        self._background = queue
        # Every tick, shown or not: the event log keeps what the snapshot drops later.
        self.event_log.on_slow_tick(snap, history)
        if self.external is not None:
            self._show_external(snap, history)
            self._focus_external()
            return
        b = snap.broker
        t = self.themes.theme
        age = self.ticker.snapshot_age()
        r = history.total_rates
        rates = (
            f"In {fmt.rate(r[0])} ({fmt.byte_rate(r[2])})   ·   "
            f"Out {fmt.rate(r[1])} ({fmt.byte_rate(r[3])})"
        )
        if age is not None and self.ticker.is_stale():
            # The broker loop is not answering: say how old the picture is, and do not
            # pass the last rates off as current ones.
            self.status_dot.set_color(t.warn)
            self.status_listener.setText(f"Broker not responding: last update {age:.0f} s ago")
            rates = ""
        elif b.listening:
            self._show_listener(snap, t)
        else:
            self.status_dot.set_color(t.bad)
            self._style_listener("")
            self.status_data.setVisible(True)
            self.status_listener.setText("Not listening")
        self.status_rates.setText(rates)
        self.status_data.setText(f"Data: {b.data_dir}")

    def _focus_external(self) -> None:
        """Tell the poller what is on screen: refreshed every poll, the rest less often."""
        topic = self.topics.table.selected_key()
        group = self.groups.selected_group()
        self.external.set_focus(  # type: ignore[attr-defined]
            [topic] if isinstance(topic, str) else [],
            [group.group_id] if group is not None else [],
        )

    def _show_listener(self, snap: ClusterSnapshot, theme: Theme) -> None:
        """Where the broker listens; while others can reach it (issue 13), a warning in
        red (no authentication) or amber (users must log in) saying who can connect."""
        b = snap.broker
        host = b.exposed_host
        label = self.status_listener
        self.status_data.setVisible(host is None)
        if host is None:
            self.status_dot.set_color(theme.ok)
            self._style_listener("")
            label.setMinimumWidth(0)
            label.setText(f"Listening on {b.bootstrap}")
            return
        color = theme.warn if b.authenticated else theme.bad
        self.status_dot.set_color(color)
        self._style_listener(f"color: {color}; font-weight: 600;")
        exposure = fmt.listener_exposure(host, b.sasl_mechanisms, b.tls)
        label.setText(f"\u26a0 {exposure}")
        # The warning reads whole: it takes the data dir's room and what it needs beside
        # the rates, up to 60% of the bar (the full text is the tooltip past that).
        font = label.font()
        font.setBold(True)
        need = QFontMetrics(font).horizontalAdvance(label.text()) + 16
        label.setMinimumWidth(min(need, int(self.statusBar().width() * 0.6)))

    def _style_listener(self, style: str) -> None:
        if style != self.status_listener.styleSheet():  # a restyle costs a repolish
            self.status_listener.setStyleSheet(style)

    def set_listener_text(self, text: str, color: str | None = None) -> None:
        """For states the snapshots cannot show (starting, failed, stopped)."""
        self._style_listener("")
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
            self.resize(*DEFAULT_SIZE)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:
            self.resizeDocks([self.dock], [EVENT_LOG_HEIGHT], Qt.Orientation.Vertical)
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

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        # The cluster's address or error beside the switcher only where the menus keep
        # their room (the status bar says it too); the menu bar places its corner anew.
        wide = self.width() >= CLUSTER_STATE_MIN_WIDTH
        if self.cluster_state.isVisibleTo(self.cluster_bar) != wide:
            self.cluster_state.setVisible(wide)
            self.menuBar().setCornerWidget(self.cluster_bar, Qt.Corner.TopRightCorner)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.save_settings()
        super().closeEvent(event)

    # -- broker settings (issue 13) -----------------------------------------------------

    def _open_dialog(self, dialog: D) -> D:
        """Show ``dialog`` (``open()``, never ``exec()``), deleted once closed."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "broker_dialog", None))
        self.broker_dialog = dialog
        dialog.open()
        return dialog

    def open_listen_dialog(self) -> ListenDialog:
        """Broker > Listen address…: saved in the settings, used at the next start."""
        snap = self.ticker.snapshot
        current = None
        if snap is not None and snap.broker.listening and snap.broker.port is not None:
            current = (snap.broker.bind_host or snap.broker.host or "127.0.0.1",
                       snap.broker.port)
        return self._open_dialog(ListenDialog(self.settings, current, self))

    def open_users_dialog(self) -> UsersDialog:
        """Broker > Users…: the user store, read and written on a worker thread."""
        snap = self.ticker.snapshot
        mechanisms = snap.broker.sasl_mechanisms if snap is not None else ()
        return self._open_dialog(
            UsersDialog(self.commands.data_dir, self.commands.in_worker, mechanisms, self)
        )

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About Streamscope")
        box.setText(
            f"<b>Streamscope {version()}</b><br>A Kafka-compatible broker you can watch "
            "work.<br><br>Any Kafka client can connect to the bootstrap address shown in "
            "Overview. Press F1 to learn what each view shows."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
