"""The Messages page's file output: export records to JSON Lines or CSV, save one value.

Contract:

* :class:`BrowserExport` opens its file dialogs with ``open()`` (never ``exec()``), one
  at a time (:class:`~desktop.views.widgets.DialogSlot`), and writes in the page's worker
  thread, never on the GUI thread.
* :meth:`~BrowserExport.open_export_dialog` offers ``<topic>.jsonl`` or ``.csv`` and
  writes the records given (:mod:`core.browse.export`: exact, bytes that are not text
  round-trip); :meth:`~BrowserExport.export_to` is the same without the dialog.
  :meth:`~BrowserExport.open_save_value_dialog` writes one record's value whole, byte for
  byte (the detail pane may show only part of it).
* How it went is reported through the two callables the page passes: ``report(text)``
  for the status line on success, ``fail(text)`` for the error line (``fail("")`` clears
  it after a successful export).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget
from streamscope.core.browse.batches import BrowsedRecord
from streamscope.core.browse.export import write_csv, write_jsonl
from streamscope.desktop import format as fmt
from streamscope.desktop.views.browser_worker import BrowseWorker
from streamscope.desktop.views.widgets import DialogSlot

ExportDone = Callable[[int | None, BaseException | None], None]


class BrowserExport:
    def __init__(
        self,
        parent: QWidget,
        worker: BrowseWorker,
        report: Callable[[str], None],
        fail: Callable[[str], None],
    ) -> None:
        self._parent = parent
        self._worker = worker
        self._report = report
        self._fail = fail
        self._dialogs = DialogSlot()

    @property
    def dialog(self) -> QFileDialog | None:
        """The file dialog open, if any (tests drive it)."""
        current = self._dialogs.current
        return current if isinstance(current, QFileDialog) else None

    def open_export_dialog(self, records: Sequence[BrowsedRecord], topic: str) -> QFileDialog:
        chosen_records = list(records)
        dialog = QFileDialog(self._parent, "Export records", str(Path.home() / f"{topic}.jsonl"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON Lines (*.jsonl)", "CSV (*.csv)"])
        dialog.setDefaultSuffix("jsonl")
        dialog.filterSelected.connect(
            lambda f: dialog.setDefaultSuffix("csv" if f.startswith("CSV") else "jsonl")
        )

        def chosen(path: str) -> None:
            kind = "csv" if path.lower().endswith(".csv") else "jsonl"
            self.export_to(path, kind, chosen_records)

        dialog.fileSelected.connect(chosen)
        self._dialogs.open(dialog)
        return dialog

    def export_to(
        self,
        path: str | Path,
        kind: str,
        records: Sequence[BrowsedRecord],
        on_done: ExportDone | None = None,
    ) -> None:
        """Write ``records`` to ``path`` as ``jsonl`` or ``csv``, in the worker thread."""
        chosen = list(records)
        writer = write_csv if kind == "csv" else write_jsonl

        def done(n: int | None, error: BaseException | None) -> None:
            if error is not None:
                self._fail(f"Export failed: {error}")
            else:
                self._fail("")
                self._report(f"Exported {fmt.plural(n or 0, 'record')} to {path}")
            if on_done is not None:
                on_done(n, error)

        self._worker.submit(lambda: writer(chosen, path), done)

    def open_save_value_dialog(self, record: BrowsedRecord) -> QFileDialog | None:
        if record.value is None:
            return None
        value = record.value
        name = f"{record.topic}-{record.partition}-{record.offset}.bin"
        dialog = QFileDialog(self._parent, "Save value", str(Path.home() / name))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)

        def chosen(path: str) -> None:
            def done(_n: object, error: BaseException | None) -> None:
                if error is not None:
                    self._fail(f"Saving the value failed: {error}")
                else:
                    self._report(f"Saved {fmt.size(len(value))} to {path}")

            self._worker.submit(lambda: Path(path).write_bytes(value), done)

        dialog.fileSelected.connect(chosen)
        self._dialogs.open(dialog)
        return dialog


__all__ = ["BrowserExport"]
