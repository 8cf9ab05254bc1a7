"""Form fields for Kafka settings: a duration (retention.ms) and a size (retention.bytes...).

Contract: each field shows a value in friendly units and reports it in Kafka's units
(milliseconds, bytes) through ``value()``; ``-1`` means "forever" / "unlimited" where the
field allows it. ``changed`` fires on any edit. Unit names agree with the amount
("1 minute", "2 minutes").
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox, QWidget
from streamscope.desktop.layout import hbox

# (singular, plural, factor)
_TIME_UNITS = (
    ("minute", "minutes", 60_000),
    ("hour", "hours", 3_600_000),
    ("day", "days", 86_400_000),
)
_SIZE_UNITS = (("MiB", "MiB", 1 << 20), ("GiB", "GiB", 1 << 30))
# The widest a name field grows to show a name whole (px); longer names scroll inside it.
NAME_FIELD_MAX = 640


def name_field(name: str) -> QLineEdit:
    """A read-only field showing a topic or group name whole, as plain text.

    It grows to fit the name (an 80-character name shows whole) up to
    :data:`NAME_FIELD_MAX`; past that the name scrolls in the field instead of widening
    the dialog. Selectable, so the name can be copied.
    """
    field = QLineEdit(name)
    field.setReadOnly(True)
    field.setObjectName("ReadOnlyName")
    field.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    field.setCursorPosition(0)
    field.ensurePolished()  # the theme's font, not the default one, decides the width
    wanted = field.fontMetrics().horizontalAdvance(name) + 24
    field.setMinimumWidth(min(wanted, NAME_FIELD_MAX))
    return field


class _AmountField(QWidget):
    """An amount, a unit and an optional "no limit" box; ``value()`` in the base unit."""

    changed = Signal()

    def __init__(
        self,
        value: int,
        units: tuple[tuple[str, str, int], ...],
        *,
        none_text: str,
        allow_none: bool,
        none_placeholder: tuple[int, int] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._units = units
        # (unit index, amount) shown greyed while "no limit" is ticked, if any.
        self._none_placeholder = none_placeholder
        layout = hbox(self)
        self.amount = QSpinBox()
        self.amount.setRange(1, 1_000_000)
        self.unit = QComboBox()
        for _one, many, _factor in units:
            self.unit.addItem(many)
        self.none_box = QCheckBox(none_text)
        self.none_box.setVisible(allow_none)
        layout.addWidget(self.amount, 1)
        layout.addWidget(self.unit)
        layout.addWidget(self.none_box)
        self.set_value(value)
        self._name_units()
        self.amount.valueChanged.connect(self._name_units)
        self.amount.valueChanged.connect(self.changed)
        self.unit.currentIndexChanged.connect(self.changed)
        self.none_box.toggled.connect(self._none_toggled)

    def _name_units(self, *_: object) -> None:
        one = self.amount.value() == 1
        for i, (singular, many, _factor) in enumerate(self._units):
            self.unit.setItemText(i, singular if one else many)

    def _none_toggled(self, on: bool) -> None:
        self.amount.setEnabled(not on)
        self.unit.setEnabled(not on)
        self.changed.emit()

    def set_value(self, value: int) -> None:
        if value < 0:
            self.none_box.setChecked(True)
            self.amount.setEnabled(False)
            self.unit.setEnabled(False)
            if self._none_placeholder is not None:
                self.unit.setCurrentIndex(self._none_placeholder[0])
                self.amount.setValue(self._none_placeholder[1])
            return
        self.none_box.setChecked(False)
        # The largest unit that divides the value exactly reads best.
        for i in range(len(self._units) - 1, -1, -1):
            factor = self._units[i][2]
            if value >= factor and value % factor == 0:
                self.unit.setCurrentIndex(i)
                self.amount.setValue(value // factor)
                return
        self.unit.setCurrentIndex(0)
        self.amount.setValue(max(1, round(value / self._units[0][2])))

    def value(self) -> int:
        if self.none_box.isChecked():
            return -1
        return self.amount.value() * self._units[self.unit.currentIndex()][2]


class DurationField(_AmountField):
    """A duration in minutes, hours or days; ``value()`` in milliseconds, -1 = forever."""

    def __init__(self, ms: int, *, allow_forever: bool = True, parent: QWidget | None = None):
        # Unticking "forever" proposes Kafka's default of 7 days.
        super().__init__(ms, _TIME_UNITS, none_text="forever", allow_none=allow_forever,
                         none_placeholder=(2, 7), parent=parent)
        self.forever = self.none_box


class SizeField(_AmountField):
    """A size in MiB or GiB; ``value()`` in bytes, -1 = unlimited."""

    def __init__(
        self,
        nbytes: int,
        *,
        allow_unlimited: bool = True,
        unlimited_text: str = "unlimited",
        parent: QWidget | None = None,
    ):
        super().__init__(nbytes, _SIZE_UNITS, none_text=unlimited_text,
                         allow_none=allow_unlimited, none_placeholder=(0, 1024), parent=parent)
        self.unlimited = self.none_box
