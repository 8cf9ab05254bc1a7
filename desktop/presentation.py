"""Presentation mode: the app as a projector at 1280x720 needs it, on and off with one key.

Contract: :class:`PresentationMode` belongs to the main window, which puts its
:attr:`~PresentationMode.action` (checkable, F5) in the View menu. :meth:`enter`:

* high contrast: the light palette with black text on white and darker borders and
  series (:data:`CONTRAST`, a :class:`~desktop.theme.Theme` handed to every view through
  the theme manager's ``changed`` signal, as a theme change is), and the light style sheet
  with ``resources/themes/presentation.qss`` laid over it;
* large fonts: every point size in that sheet is multiplied by :data:`FONT_SCALE` (the
  sheet sets every widget's size, so the whole app grows, painted canvases included, as
  they draw with their widget's font); table rows and columns and chart tick labels grow
  with it; the Log page's lanes follow their font too (they scale as a whole);
* chrome hidden: the menu bar, the status bar, the navigation list and every dock (the
  event log, the lesson panel); the menus' shortcuts keep working (their actions are
  added to the window while the menu bar is hidden, since Qt ignores the shortcuts of a
  hidden menu bar), so Ctrl+1..n still change pages and the lesson keys still step;
* the caption banner (:class:`CaptionBanner`, a title-less dock at the bottom) shows the
  open lesson's title, step, caption and check results large; it is hidden while no
  lesson is open (:meth:`set_caption` with an empty heading);
* full screen when :attr:`fullscreen` is true (the default; screenshots and tests size the
  window themselves).

:meth:`leave` (F5 again, or Esc) restores exactly what :meth:`enter` found: the window
state (docks, their sizes and visibility), the chrome's visibility, the geometry or
full-screen state, the palette, the style sheet, the theme, table row heights. The page
being shown stays as the presenter left it.

While presenting, a theme change from the system (``ThemeManager`` following the desktop)
is undone at once: the projector keeps its contrast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QWidget,
)
from streamscope.desktop.layout import named, plain_label
from streamscope.desktop.theme import LIGHT, RESOURCES, Theme, ThemeManager, apply_theme

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

# How much larger every font is: 10 pt becomes 14 pt, legible from the back of a room on a
# 1280x720 projector, while the pages still fit (chrome hidden gives them the room).
FONT_SCALE = 1.4
CHART_TICK_PT = 8.5  # desktop.views.charts' tick font, scaled like the rest
PRESENTATION_KEY = "F5"
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size

# Black on white, darker borders and grid, saturated series: what survives a projector's
# washed-out blacks and a lit room. The light theme's roles, made harder.
CONTRAST: Theme = replace(
    LIGHT,
    window="#ffffff",
    base="#ffffff",
    alt_base="#eef0f4",
    text="#000000",
    muted="#1f2430",
    accent="#0043ce",
    border="#4b5263",
    chart_fg="#000000",
    grid_alpha=0.35,
    series=("#0043ce", "#c24e00", "#0a7d32", "#8a1fb0"),
    ok="#0a7d32",
    warn="#8a5a00",
    bad="#c41e1e",
)

_PT = re.compile(r"(\d+(?:\.\d+)?)pt\b")


def scaled_sheet(sheet: str, factor: float) -> str:
    """``sheet`` with every ``font-size: N pt`` (any ``Npt``) multiplied by ``factor``."""

    def scale(m: re.Match[str]) -> str:
        return f"{float(m.group(1)) * factor:.1f}pt"

    return _PT.sub(scale, sheet)


def contrast_palette(base: QPalette) -> QPalette:
    """``base`` (the light palette) with :data:`CONTRAST`'s colours."""
    p = QPalette(base)
    role = QPalette.ColorRole
    t = CONTRAST
    for r, colour in (
        (role.Window, t.window), (role.WindowText, t.text), (role.Base, t.base),
        (role.AlternateBase, t.alt_base), (role.Text, t.text), (role.Button, t.base),
        (role.ButtonText, t.text), (role.Highlight, t.accent), (role.Mid, t.border),
        (role.PlaceholderText, t.muted), (role.Link, t.accent),
    ):
        p.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor("#4b5263"))
    return p


@dataclass(frozen=True, slots=True)
class BannerCheck:
    """One check result as the banner shows it: ``outcome`` is pass, fail or wait."""

    text: str
    outcome: str


class CaptionBanner(QFrame):
    """The lesson's words across the bottom of the screen: heading (title and step), the
    caption, the step's check results and a one-line key hint. Plain text only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CaptionBanner")
        # One grid (no nested row widget): its height for a width is exact, which the
        # banner's height is set from (:meth:`_fit`).
        layout = QGridLayout(self)
        layout.setContentsMargins(28, 10, 28, 16)
        layout.setHorizontalSpacing(16)
        layout.setVerticalSpacing(6)
        self.heading = self._label("BannerHeading")
        self.heading.setWordWrap(True)
        self.hint = self._label("BannerHint")
        self.hint.setText("\u2190 \u2192  step      F5  leave")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.hint.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.caption = self._label("BannerCaption")
        self.caption.setWordWrap(True)
        self.checks = self._label("BannerCheck")
        self.checks.setWordWrap(True)
        layout.addWidget(self.heading, 0, 0)
        layout.addWidget(self.hint, 0, 1)
        layout.addWidget(self.caption, 1, 0, 1, 2)
        layout.addWidget(self.checks, 2, 0, 1, 2)
        layout.setColumnStretch(0, 1)
        self.checks.hide()

    @staticmethod
    def _label(name: str) -> QLabel:
        label = named(plain_label(), name)
        label.setTextFormat(Qt.TextFormat.PlainText)  # lesson text may quote client data
        # As wide as the banner gives, never wider: long text wraps instead.
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        return label

    def _fit(self) -> None:
        # Every label exactly as tall as its wrapped text at this width, and the banner
        # the sum: a dock would give it its minimum (a caption line cut off) or keep an
        # old, taller size, and a layout's height-for-width is not exact with wrapping
        # labels side by side.
        if self.width() <= 0:
            return
        m = self.layout().contentsMargins()
        inner = self.width() - m.left() - m.right()
        for label in (self.heading, self.caption, self.checks):
            # A label bounds its height for a width by its own limits: lift the last ones.
            label.setMinimumHeight(0)
            label.setMaximumHeight(QWIDGETSIZE_MAX)
        hint = self.hint.sizeHint()
        heading = max(hint.height(), _text_height(self.heading, inner - hint.width() - 16))
        parts = [heading, _text_height(self.caption, inner)]
        self.heading.setFixedHeight(heading)
        self.caption.setFixedHeight(parts[1])
        if self.checks.isVisibleTo(self):
            parts.append(_text_height(self.checks, inner))
            self.checks.setFixedHeight(parts[-1])
        height = m.top() + m.bottom() + sum(parts) + 6 * (len(parts) - 1)
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def set_caption(self, heading: str, caption: str, checks: Sequence[BannerCheck] = ()) -> None:
        self.heading.setText(heading)
        self.caption.setText(caption)
        if checks:
            # One line, coloured by the worst outcome: a failed check is what to see.
            worst = next(
                (o for o in ("fail", "wait", "pass") if any(c.outcome == o for c in checks)),
                "pass",
            )
            self.checks.setText("    ".join(c.text for c in checks))
            if self.checks.property("outcome") != worst:
                self.checks.setProperty("outcome", worst)
                self.checks.style().unpolish(self.checks)
                self.checks.style().polish(self.checks)
            self.checks.show()
        else:
            self.checks.hide()
        self._fit()


@dataclass(slots=True)
class _Saved:
    """What :meth:`PresentationMode.enter` found, for :meth:`~PresentationMode.leave`."""

    state: QByteArray
    geometry: QByteArray
    window_state: Qt.WindowState
    menu_bar: bool
    status_bar: bool
    nav: bool
    sheet: str
    palette: QPalette
    theme_name: str
    rows: dict[QTableView, tuple[int, tuple[int, ...]]]  # row height, column widths


class PresentationMode(QObject):
    """Presentation mode on a main window (see the module docstring)."""

    toggled = Signal(bool)

    def __init__(
        self, window: QMainWindow, themes: ThemeManager, nav: QWidget, parent: QObject | None = None
    ) -> None:
        super().__init__(parent or window)
        self.window = window
        self.themes = themes
        self.nav = nav
        self.fullscreen = True
        self.font_scale = FONT_SCALE
        self._saved: _Saved | None = None
        self._added: list[QAction] = []
        self._heading = ""
        self.action = QAction("&Presentation mode", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence(PRESENTATION_KEY))
        self.action.setToolTip("Large fonts, high contrast, chrome hidden, the lesson caption large")
        self.action.toggled.connect(self._toggled)
        # Esc leaves too (only while presenting: elsewhere Esc is the widgets').
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.setEnabled(False)
        self.escape.activated.connect(self.leave)

        self.banner = CaptionBanner()
        self.banner_dock = named(QDockWidget("Lesson caption", window), "CaptionBannerDock")
        self.banner_dock.setWidget(self.banner)
        self.banner_dock.setTitleBarWidget(QWidget())  # no title bar: a banner, not a pane
        self.banner_dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.banner_dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.banner_dock)
        self.banner_dock.hide()
        themes.changed.connect(self._theme_changed)

    @property
    def active(self) -> bool:
        return self._saved is not None

    def toggle(self) -> None:
        self.action.toggle()

    def enter(self) -> None:
        self.action.setChecked(True)

    def leave(self) -> None:
        self.action.setChecked(False)

    def set_caption(self, heading: str, caption: str, checks: Sequence[BannerCheck] = ()) -> None:
        """What the banner says; an empty ``heading`` means no lesson (banner hidden)."""
        self._heading = heading
        self.banner.set_caption(heading, caption, checks)
        if self.active:
            self.banner_dock.setVisible(bool(heading))

    # -- on and off -----------------------------------------------------------------------

    def _toggled(self, on: bool) -> None:
        if on and self._saved is None:
            self._enter()
        elif not on and self._saved is not None:
            self._leave()
        else:
            return
        self.toggled.emit(on)

    def _enter(self) -> None:
        w = self.window
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        tables = w.findChildren(QTableView)
        self._saved = _Saved(
            state=w.saveState(),
            geometry=w.saveGeometry(),
            window_state=w.windowState(),
            menu_bar=w.menuBar().isVisibleTo(w),
            status_bar=w.statusBar().isVisibleTo(w),
            nav=self.nav.isVisibleTo(w),
            sheet=app.styleSheet(),
            palette=QPalette(app.palette()),
            theme_name=self.themes.name,
            rows={t: (t.verticalHeader().defaultSectionSize(), _widths(t)) for t in tables},
        )
        # Shortcuts of a hidden menu bar's actions are dead: the window carries them.
        self._added = [a for a in self._menu_actions() if a not in w.actions()]
        w.addActions(self._added)
        self.escape.setEnabled(True)

        self._apply_contrast(app)

        w.menuBar().hide()
        w.statusBar().hide()
        self.nav.hide()
        for dock in w.findChildren(QDockWidget):
            if dock is not self.banner_dock:
                dock.hide()
        self.banner_dock.setVisible(bool(self._heading))
        if self.fullscreen:
            w.showFullScreen()

    def _leave(self) -> None:
        saved = self._saved
        assert saved is not None
        self._saved = None
        w = self.window
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.escape.setEnabled(False)
        for action in self._added:
            w.removeAction(action)
        self._added = []
        self.banner_dock.hide()
        w.menuBar().setVisible(saved.menu_bar)
        w.statusBar().setVisible(saved.status_bar)
        self.nav.setVisible(saved.nav)
        # The theme the user had (re-applied and announced by the manager), then the exact
        # sheet and palette found, in case they differed from a fresh application of it.
        self.themes.set_name(saved.theme_name)
        app.setStyleSheet(saved.sheet)
        app.setPalette(saved.palette)
        # The status bar's height is a strut it set from its labels while they were large
        # (QStatusBar sets it when laid out anew, not when a font changes): set it again.
        w.statusBar().reformat()
        w.statusBar().updateGeometry()
        for table, (height, widths) in saved.rows.items():
            table.verticalHeader().setDefaultSectionSize(height)
            _set_widths(table, widths)
        if self.fullscreen and not saved.window_state & Qt.WindowState.WindowFullScreen:
            w.setWindowState(saved.window_state)
            w.restoreGeometry(saved.geometry)
        w.restoreState(saved.state)

    def _apply_contrast(self, app: QApplication) -> None:
        """High contrast and large fonts, for the whole application (dialogs included)."""
        apply_theme(app, "light")
        overlay = (RESOURCES / "themes" / "presentation.qss").read_text(encoding="utf-8")
        app.setPalette(contrast_palette(app.palette()))
        app.setStyleSheet(scaled_sheet(app.styleSheet() + "\n" + overlay, self.font_scale))
        self.themes.theme = CONTRAST
        self.themes.changed.emit(CONTRAST)  # every view re-reads its colours
        self._scale_widgets()

    def _theme_changed(self, theme: Theme) -> None:
        if self.active and theme is not CONTRAST:
            # The system's colour scheme changed under us: keep the projector's contrast.
            app = QApplication.instance()
            assert isinstance(app, QApplication)
            self._apply_contrast(app)

    # -- helpers ------------------------------------------------------------------------

    def _menu_actions(self) -> list[QAction]:
        out: list[QAction] = []
        stack = [a for m in self.window.menuBar().actions() for a in ([m] if m.menu() else [])]
        while stack:
            action = stack.pop()
            menu = action.menu()
            if menu is not None:
                stack.extend(menu.actions())
            elif not action.shortcut().isEmpty():
                out.append(action)
        return out

    def _scale_widgets(self) -> None:
        """What the style sheet cannot reach: fixed table row heights, chart tick fonts
        (set in code by the charts; re-set by them on the next theme change)."""
        assert self._saved is not None
        for table, (height, widths) in self._saved.rows.items():
            table.verticalHeader().setDefaultSectionSize(round(height * self.font_scale))
            _set_widths(table, tuple(round(w * self.font_scale) for w in widths))
        font = QFont()
        font.setPointSizeF(CHART_TICK_PT * self.font_scale)
        for plot in self.window.findChildren(pg.PlotWidget):
            for axis in plot.getPlotItem().axes.values():
                axis["item"].setTickFont(font)


def _text_height(label: QLabel, width: int) -> int:
    """The height of ``label``'s wrapped text at ``width``; Qt answers -1 for a width too
    small to lay out (a banner not yet laid out), which no size may be set to."""
    height = label.heightForWidth(width) if width > 0 else -1
    return height if height >= 0 else max(0, label.sizeHint().height())


def _widths(table: QTableView) -> tuple[int, ...]:
    header = table.horizontalHeader()
    return tuple(header.sectionSize(i) for i in range(header.count()))


def _set_widths(table: QTableView, widths: tuple[int, ...]) -> None:
    """Column widths set by hand or by the view (stretched and self-sizing columns keep
    their own); columns added meanwhile are left alone."""
    header = table.horizontalHeader()
    for i, width in enumerate(widths[: header.count()]):
        if header.sectionResizeMode(i) in (QHeaderView.ResizeMode.Interactive,
                                           QHeaderView.ResizeMode.Fixed):
            header.resizeSection(i, width)
