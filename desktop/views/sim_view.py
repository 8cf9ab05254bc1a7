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

Layout: fits the window's view area at 1280x720 with the event log open; the panels'
texts wrap or elide, the tables scroll.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QWidget
from streamscope.core.monitor import ClusterSnapshot
from streamscope.core.sim.scenario import ScenarioView
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, vbox
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.sim_apps import AppsPanel
from streamscope.desktop.views.sim_partners import PartnersPanel

PARTNERS_CHARS = (35, 44)  # the partners panel's width, least and most, in characters


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
        self.intro = named(QLabel(
            "A food-delivery service on this broker: delivery partners' phones produce "
            "location updates (key = partner id) to a topic; each app on the right reads all "
            "of them, as its own consumer group. Hover over anything for what it means."
        ), "Muted")
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

    def _fit_to_font(self) -> None:
        # In characters, so presentation mode's larger font widens the panel with it.
        ch = self.fontMetrics().averageCharWidth()
        self.partners.setMinimumWidth(PARTNERS_CHARS[0] * ch)
        self.partners.setMaximumWidth(PARTNERS_CHARS[1] * ch)
        # The apps' pictures want the room: the partners start at their least width.
        self.split.setSizes([PARTNERS_CHARS[0] * ch, 4000])

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_to_font()
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
