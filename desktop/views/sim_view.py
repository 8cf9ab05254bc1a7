"""The Simulation page: a food-delivery service running on this broker.

Contract: the page holds the partners panel (:class:`~.sim_partners.PartnersPanel`, the
producers) on the left and the apps panel (:class:`~.sim_apps.AppsPanel`, the consumer
groups) on the right, under one line saying what the page is. It draws from
:meth:`SimService.latest <desktop.sim_service.SimService.latest>`, the newest
:class:`~streamscope.core.sim.scenario.ScenarioView`, which the service refreshes on
every tick: ``on_tick`` (the main window's fast tick, page visible) redraws the visible
app's picture when a new view arrived; ``on_slow_tick`` the figures, tables and tabs.
Like every page it takes ``(snapshot, history)`` from the main window and follows theme
changes through :meth:`apply_theme`.

The first line says where the simulation runs: this broker, or the external cluster
:meth:`SimService.set_target <desktop.sim_service.SimService.set_target>` chose (it
follows ``target_changed``).

Layout: fits the window's view area at 1280x720 with the event log open; the panels'
texts wrap or elide, the tables scroll. Narrower than :data:`COMPACT_BELOW_CHARS`
characters (the lesson dock open beside it, or presentation mode's larger font) the page
reflows (:meth:`SimView.set_compact`) so the app's picture stays on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QAbstractScrollArea, QSizePolicy, QSplitter, QWidget
from streamscope.core.monitor import ClusterSnapshot
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.sim.scenario import ScenarioView
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.sim_apps import AppsPanel
from streamscope.desktop.views.sim_partners import PartnersPanel

PARTNERS_CHARS = (35, 44)  # the partners panel's width, least and most, in characters
PARTNERS_COMPACT_CHARS = 32  # its least width on a narrow page
# Narrower than this many characters (the lesson dock open at 1280x720, or presentation
# mode's larger font), the page reflows: the partners panel at its least, the apps' form
# on two rows, their controls in a narrow column, so the map keeps its room on screen.
COMPACT_BELOW_CHARS = 135


def intro_text(target: ExternalSettings | None) -> str:
    """The page's first line: where the simulation runs (plain text: the address is the
    user's)."""
    where = ("this broker" if target is None else
             f"the cluster at {target.bootstrap} (real Kafka clients; killing or crashing a "
             "consumer needs the embedded broker)")
    return (f"A food-delivery service on {where}: delivery partners' phones produce "
            "location updates (key = partner id) to a topic; each app on the right reads all "
            "of them, as its own consumer group. Hover over anything for what it means.")


class SimView(QWidget):
    title = "Simulation"

    def __init__(self, sim: SimService, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SimView")
        self.sim = sim
        self.theme = theme
        self.view: ScenarioView | None = None
        self._drawn: ScenarioView | None = None  # the view the fast tick last drew
        root = vbox(self, (18, 10, 18, 12), spacing=6)
        self.intro = named(plain_label(intro_text(sim.target)), "Muted")
        self.intro.setWordWrap(True)
        self.intro.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        root.addWidget(self.intro)
        self.partners = PartnersPanel(sim, theme)
        self.apps = AppsPanel(sim, theme, self.partners.topic_name)
        self.split = split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self.partners)
        split.addWidget(self.apps)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        root.addWidget(split, 1)
        self._fit_to_font()
        sim.target_changed.connect(self._target_changed)

    def _target_changed(self, settings: ExternalSettings | None) -> None:
        self.intro.setText(intro_text(settings))
        self._drawn = None

    compact = False
    _watched: QWidget | None = None

    def _fit_to_font(self) -> None:
        # In characters, so presentation mode's larger font widens the panel with it.
        ch = self.fontMetrics().averageCharWidth()
        least = PARTNERS_COMPACT_CHARS if self.compact else PARTNERS_CHARS[0]
        self.partners.setMinimumWidth(least * ch)
        self.partners.setMaximumWidth(PARTNERS_CHARS[1] * ch)
        # The apps' pictures want the room: the partners start at their least width.
        self.split.setSizes([least * ch, 4000])

    def set_compact(self, compact: bool) -> None:
        """Reflow for a narrow page (see :data:`COMPACT_BELOW_CHARS`)."""
        if compact == self.compact:
            return
        self.compact = compact
        self.apps.set_compact(compact)
        self._fit_to_font()

    def available_width(self) -> int:
        """The width the page may have: in a scroll area (the window's pages), its
        viewport's, not the page's own (which never goes below its minimum)."""
        parent = self.parentWidget()
        area = parent.parentWidget() if parent is not None else None
        if isinstance(area, QAbstractScrollArea) and area.viewport() is parent:
            return area.maximumViewportSize().width()
        return self.width()

    def _reflow(self, _width: int | None = None) -> None:
        ch = self.fontMetrics().averageCharWidth()
        self.set_compact(self.available_width() < COMPACT_BELOW_CHARS * ch)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        self._reflow()
        super().resizeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        parent = self.parentWidget()
        if parent is not None and parent is not self._watched:
            # The viewport can shrink while the page stays at its minimum width (no
            # resize of the page): follow the viewport's size too.
            parent.installEventFilter(self)
            self._watched = parent
        self._reflow()
        super().showEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._watched and event.type() == QEvent.Type.Resize:
            self._reflow()
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_to_font()
            self._reflow()
        super().changeEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.partners.apply_theme(theme)
        self.apps.apply_theme(theme)

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        view = self.sim.latest()
        if view is None or view is self._drawn:
            return
        self._drawn = view
        self.view = view
        self.apps.on_view(view)

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        view = self.sim.latest()
        self.view = view
        self.partners.set_view(view.partners if view is not None else None)
        if view is not None:
            self.apps.on_slow_view(view)
