"""Form fields for Kafka settings: a duration (retention.ms) and a size (retention.bytes...).

Contract: each field shows a value in friendly units and reports it in Kafka's units
(milliseconds, bytes) through ``value()``; ``-1`` means "forever" / "unlimited" where the
field allows it. ``changed`` fires on any edit.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QSpinBox, QWidget

_TIME_UNITS = (("minutes", 60_000), ("hours", 3_600_000), ("days", 86_400_000))
_SIZE_UNITS = (("MiB", 1 << 20), ("GiB", 1 << 30))


class DurationField(QWidget):
    changed = Signal()

    def __init__(self, ms: int, *, allow_forever: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.amount = QSpinBox()
        self.amount.setRange(1, 1_000_000)
        self.unit = QComboBox()
        for name, _ in _TIME_UNITS:
            self.unit.addItem(name)
        self.forever = QCheckBox("forever")
        self.forever.setVisible(allow_forever)
        layout.addWidget(self.amount, 1)
        layout.addWidget(self.unit)
        layout.addWidget(self.forever)
        self.set_value(ms)
        self.amount.valueChanged.connect(self.changed)
        self.unit.currentIndexChanged.connect(self.changed)
        self.forever.toggled.connect(self._forever_toggled)

    def _forever_toggled(self, on: bool) -> None:
        self.amount.setEnabled(not on)
        self.unit.setEnabled(not on)
        self.changed.emit()

    def set_value(self, ms: int) -> None:
        if ms < 0:
            self.forever.setChecked(True)
            self.amount.setEnabled(False)
            self.unit.setEnabled(False)
            return
        self.forever.setChecked(False)
        # The largest unit that divides the value exactly reads best.
        for i in range(len(_TIME_UNITS) - 1, -1, -1):
            factor = _TIME_UNITS[i][1]
            if ms >= factor and ms % factor == 0:
                self.unit.setCurrentIndex(i)
                self.amount.setValue(ms // factor)
                return
        self.unit.setCurrentIndex(0)
        self.amount.setValue(max(1, round(ms / 60_000)))

    def value(self) -> int:
        if self.forever.isChecked():
            return -1
        return self.amount.value() * _TIME_UNITS[self.unit.currentIndex()][1]


class SizeField(QWidget):
    changed = Signal()

    def __init__(
        self,
        nbytes: int,
        *,
        allow_unlimited: bool = True,
        unlimited_text: str = "unlimited",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.amount = QSpinBox()
        self.amount.setRange(1, 1_000_000)
        self.unit = QComboBox()
        for name, _ in _SIZE_UNITS:
            self.unit.addItem(name)
        self.unlimited = QCheckBox(unlimited_text)
        self.unlimited.setVisible(allow_unlimited)
        layout.addWidget(self.amount, 1)
        layout.addWidget(self.unit)
        layout.addWidget(self.unlimited)
        self.set_value(nbytes)
        self.amount.valueChanged.connect(self.changed)
        self.unit.currentIndexChanged.connect(self.changed)
        self.unlimited.toggled.connect(self._unlimited_toggled)

    def _unlimited_toggled(self, on: bool) -> None:
        self.amount.setEnabled(not on)
        self.unit.setEnabled(not on)
        self.changed.emit()

    def set_value(self, nbytes: int) -> None:
        if nbytes < 0:
            self.unlimited.setChecked(True)
            self.amount.setEnabled(False)
            self.unit.setEnabled(False)
            self.unit.setCurrentIndex(0)
            self.amount.setValue(1024)
            return
        self.unlimited.setChecked(False)
        if nbytes >= 1 << 30 and nbytes % (1 << 30) == 0:
            self.unit.setCurrentIndex(1)
            self.amount.setValue(nbytes >> 30)
        else:
            self.unit.setCurrentIndex(0)
            self.amount.setValue(max(1, round(nbytes / (1 << 20))))

    def value(self) -> int:
        if self.unlimited.isChecked():
            return -1
        return self.amount.value() * _SIZE_UNITS[self.unit.currentIndex()][1]
