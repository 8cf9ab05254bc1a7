"""Light and dark themes: the Qt palette, the style sheet, chart colours and member colours.

Contract: :func:`apply_theme` sets the application's palette and style sheet (from
``streamscope.resources``: ``resources/themes/<name>.qss`` in the repository, loaded with
importlib.resources so an installed copy finds it) and returns the :class:`Theme` it applied; views read
colours from the returned object (never from global state), and re-read them when
:class:`ThemeManager` emits ``changed``. ``"system"`` follows the desktop's colour scheme
and keeps following it while the app runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication


def _resources() -> Path:
    """The installed package data (``streamscope.resources``): a real directory, since Qt
    reads style-sheet images and icons by path. Missing data fails loudly."""
    # Through a child: in the desktop bundle (PyInstaller) files() is a MultiplexedPath,
    # whose str() is not a path, while its children are real directories.
    root = Path(str(files("streamscope.resources").joinpath("themes"))).parent
    if not (root / "themes").is_dir() or not (root / "icons").is_dir():
        raise RuntimeError(
            f"Streamscope's resources are missing from {root} (themes/, icons/): "
            "the installation is incomplete; reinstall the streamscope package"
        )
    return root


RESOURCES = _resources()
THEME_NAMES = ("system", "light", "dark")


@dataclass(frozen=True, slots=True)
class Theme:
    name: str  # "light" or "dark" (resolved)
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    accent: str
    border: str
    chart_fg: str
    grid_alpha: float
    series: tuple[str, ...]  # in / out / bytes ... lines
    ok: str
    warn: str
    bad: str
    members: tuple[str, ...]  # one colour per consumer-group member

    @property
    def dark(self) -> bool:
        return self.name == "dark"

    @property
    def chart_bg(self) -> str:
        """Charts are drawn on the panels' own background."""
        return self.base

    def member_color(self, i: int) -> QColor:
        return QColor(self.members[i % len(self.members)])


# A qualitative palette readable on both backgrounds (Tableau 10-like hues).
_MEMBERS_LIGHT = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_MEMBERS_DARK = (
    "#6fa0d8",
    "#ffa54f",
    "#7cc46f",
    "#ff7b7d",
    "#cf9bd0",
    "#8fd3cd",
    "#f5d76e",
    "#ffb3bb",
    "#c4987a",
    "#d0c8c4",
)

# Each colour role on the light and on the dark background, side by side.
_ROLES: dict[str, tuple[str, str]] = {
    "window": ("#f4f5f7", "#16191f"),
    "base": ("#ffffff", "#1e222a"),
    "alt_base": ("#f7f8fa", "#232833"),
    "text": ("#1d2330", "#e3e6ec"),
    "muted": ("#667085", "#98a2b3"),
    "accent": ("#2f6fde", "#5b9bff"),
    "border": ("#d6dae1", "#323845"),
    "chart_fg": ("#4a5264", "#aab2c0"),
    "ok": ("#12a150", "#3ccf7c"),
    "warn": ("#d99a06", "#f1bc3a"),
    "bad": ("#d93b3b", "#ff6363"),
}


def _theme(
    name: str, grid_alpha: float, series: tuple[str, ...], members: tuple[str, ...]
) -> Theme:
    """The ``"light"`` or ``"dark"`` theme: its side of :data:`_ROLES`, and the rest."""
    side = 1 if name == "dark" else 0
    colours = {role: pair[side] for role, pair in _ROLES.items()}
    return Theme(name=name, grid_alpha=grid_alpha, series=series, members=members, **colours)


LIGHT = _theme("light", 0.18, ("#2f6fde", "#e8762b", "#12a150", "#b548c6"), _MEMBERS_LIGHT)
DARK = _theme("dark", 0.22, ("#5b9bff", "#ff9d4d", "#3ccf7c", "#d47cf0"), _MEMBERS_DARK)


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        value = scheme()
        if value == Qt.ColorScheme.Dark:
            return True
        if value == Qt.ColorScheme.Light:
            return False
    # Unknown (offscreen, or a desktop that does not say): light, like Qt's default.
    return False


def resolve(name: str) -> Theme:
    if name == "dark":
        return DARK
    if name == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    p.setColor(role.Window, QColor(t.window))
    p.setColor(role.WindowText, QColor(t.text))
    p.setColor(role.Base, QColor(t.base))
    p.setColor(role.AlternateBase, QColor(t.alt_base))
    p.setColor(role.Text, QColor(t.text))
    p.setColor(role.Button, QColor(t.base))
    p.setColor(role.ButtonText, QColor(t.text))
    p.setColor(role.Highlight, QColor(t.accent))
    p.setColor(role.HighlightedText, QColor("#ffffff"))
    p.setColor(role.ToolTipBase, QColor(t.base))
    p.setColor(role.ToolTipText, QColor(t.text))
    p.setColor(role.PlaceholderText, QColor(t.muted))
    p.setColor(role.Link, QColor(t.accent))
    p.setColor(role.Mid, QColor(t.border))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(t.muted))
    return p


def apply_theme(app: QApplication, name: str) -> Theme:
    theme = resolve(name)
    app.setStyle("Fusion")  # the same widgets everywhere; the palette does the rest
    app.setPalette(_palette(theme))
    qss = (RESOURCES / "themes" / f"{theme.name}.qss").read_text(encoding="utf-8")
    # url() in a style sheet resolves against the working directory, not the sheet.
    app.setStyleSheet(qss.replace("@ICONS@", (RESOURCES / "icons").as_posix()))
    return theme


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` (an empty icon if missing)."""
    path = RESOURCES / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


class ThemeManager(QObject):
    """Holds the chosen theme name, applies it, and follows the system when asked to."""

    changed = Signal(object)  # the resolved Theme

    def __init__(self, app: QApplication, name: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self.name = name if name in THEME_NAMES else "system"
        self.theme = apply_theme(app, self.name)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._system_changed)

    def set_name(self, name: str) -> None:
        self.name = name if name in THEME_NAMES else "system"
        self._apply()

    def _system_changed(self, *_: object) -> None:
        if self.name == "system":
            self._apply()

    def _apply(self) -> None:
        theme = apply_theme(self._app, self.name)
        changed = theme != self.theme
        self.theme = theme
        if changed:
            self.changed.emit(theme)
