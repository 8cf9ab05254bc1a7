"""Which cluster the window shows: the embedded broker or a saved external profile (issue 15).

Contract:

* :class:`ClusterSwitch` fills the window's cluster combo box ("Embedded" first, then the
  saved :class:`~desktop.profiles.Profile` s) and acts on a choice. Switching to a profile
  gets its password (the :class:`~desktop.profiles.PasswordVault`, read on a worker
  thread; with no password there, a password prompt opened with ``open()``, the answer
  kept in memory only), starts an :class:`~desktop.external_service.ExternalService`
  polling that cluster at the profile's interval, and points the ticker
  (:meth:`Ticker.set_source`: history cleared), the commands
  (:meth:`Commands.set_external`) and the window (:meth:`MainWindow.set_cluster`) at it.
  Switching back to Embedded stops the external service and restores the embedded
  broker's service, which kept running all along.
* The simulations and lessons are told the target through ``set_target`` (wt-sim's
  SimService/LessonService API) at ONE call site, :meth:`ClusterSwitch._retarget`; a
  build without that API leaves them on the embedded broker.
* ``current`` is the shown cluster's name; ``switched(name)`` fires once the switch took
  effect; a cancelled password prompt returns the combo box to the current cluster.
  :meth:`close` stops the external service (the app's quit).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QWidget
from streamscope.desktop.commands import Commands, error_text
from streamscope.desktop.external_service import ExternalService
from streamscope.desktop.profiles import PasswordVault, Profile, ProfileStore
from streamscope.desktop.ticker import Ticker
from streamscope.desktop.views.browser_worker import BrowseWorker

log = logging.getLogger(__name__)

EMBEDDED = "Embedded"


class ClusterSwitch(QObject):
    switched = Signal(str)

    def __init__(self, window: Any, ticker: Ticker, commands: Commands, store: ProfileStore,
                 vault: PasswordVault, *, sim: Any = None, lessons: Any = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.ticker = ticker
        self.commands = commands
        self.embedded = ticker.service  # the embedded broker's service
        self.store = store
        self.vault = vault
        self.sim = sim
        self.lessons = lessons
        self.current = EMBEDDED
        self.external: ExternalService | None = None
        self._retired: list[ExternalService] = []  # stopped, their poll threads ending
        self.password_prompt: QInputDialog | None = None
        self.timeout_s: float | None = None  # tests shorten the poll timeout
        self.worker = BrowseWorker(self, "streamscope-keyring")
        self.combo = window.cluster_combo
        self.combo.activated.connect(lambda _i: self.switch_to(self.combo.currentText()))
        self.reload()

    def reload(self) -> None:
        """Refill the combo box from the store (after the profiles dialog saved)."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(EMBEDDED)
        self.combo.setItemData(0, "The broker inside this app", 3)  # ToolTipRole
        for p in self.store.profiles():
            self.combo.addItem(p.name)
            self.combo.setItemData(self.combo.count() - 1, p.bootstrap, 3)
        self.combo.setCurrentText(self.current)
        self.combo.blockSignals(False)

    # -- switching -------------------------------------------------------------------------

    def switch_to(self, name: str) -> None:
        if name == EMBEDDED:
            self.show_embedded()
            return
        profile = self.store.find(name)
        if profile is None:
            self._reset_combo()
            return
        if not profile.needs_password:
            self.connect_profile(profile, None)
            return
        vault = self.vault
        self.worker.submit(lambda: vault.get(profile.name),
                           lambda pw, err: self._got_password(profile, pw, err))

    def _got_password(self, profile: Profile, password: str | None,
                      error: BaseException | None) -> None:
        if error is not None:
            log.warning("the keyring could not be read: %s", error_text(error))
        if password is not None:
            self.connect_profile(profile, password)
            return
        self.ask_password(profile)

    def ask_password(self, profile: Profile) -> QInputDialog:
        """The password prompt (no keyring, or nothing in it); kept in memory only."""
        parent = self.window if isinstance(self.window, QWidget) else None
        dialog = QInputDialog(parent)
        dialog.setWindowTitle(f"Password for {profile.name}")
        dialog.setLabelText(f"Password of {profile.username} on {profile.bootstrap}:")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        for label in dialog.findChildren(QLabel):  # names the user typed: never markup
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.password_prompt = dialog

        def finished(result: int) -> None:
            self.password_prompt = None
            dialog.deleteLater()
            if result and dialog.textValue():
                self.vault.remember(profile.name, dialog.textValue())
                self.connect_profile(profile, dialog.textValue())
            else:
                self._reset_combo()

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def connect_profile(self, profile: Profile, password: str | None) -> ExternalService:
        """Show ``profile``'s cluster from now on."""
        settings = profile.external_settings(password)
        self._stop_external()
        kwargs = {"timeout_s": self.timeout_s} if self.timeout_s is not None else {}
        service = ExternalService(profile.name, settings, interval_s=profile.interval_s,
                                  parent=self, **kwargs)
        self.external = service
        self.current = profile.name
        self.ticker.set_source(service)
        self.commands.set_external(service)
        self.window.set_cluster(profile.name, service)
        service.start()
        self._retarget(settings)
        self._reset_combo()
        self.switched.emit(profile.name)
        return service

    def show_embedded(self) -> None:
        if self.current == EMBEDDED:
            self._reset_combo()
            return
        self._stop_external()
        self.current = EMBEDDED
        self.ticker.set_source(self.embedded)
        self.commands.set_external(None)
        self.window.set_cluster(None, None)
        self._retarget(None)
        self._reset_combo()
        self.ticker.refresh_now()
        self.switched.emit(EMBEDDED)

    def _retarget(self, settings: Any) -> None:
        """THE call site for the simulations' and lessons' target (wt-sim's set_target):
        LessonService.set_target retargets its SimService too, so one call does both."""
        part = self.lessons if self.lessons is not None else self.sim
        set_target = getattr(part, "set_target", None)
        if set_target is None:
            return  # a build without wt-sim's API: they stay on the embedded broker
        where = settings.bootstrap if settings else EMBEDDED

        def done(_result: object, error: BaseException | None) -> None:
            if error is not None:
                log.warning("the simulation could not leave its old target for %s: %s",
                            where, error_text(error))

        try:
            set_target(settings, done)
        except Exception as exc:  # noqa: BLE001 - a refusal must not undo the switch
            log.warning("%s cannot target %s: %s", type(part).__name__, where,
                        error_text(exc))

    def _reset_combo(self) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentText(self.current)
        self.combo.blockSignals(False)

    def _stop_external(self) -> None:
        """Stop the shown external service without waiting for its poll in flight (the
        GUI thread never waits on the network); :meth:`close` joins what is left."""
        service, self.external = self.external, None
        if service is not None:
            service.stop(wait_s=0)
            self._retired.append(service)
        for done in [s for s in self._retired if s.finished]:
            self._retired.remove(done)
            done.stop()  # joins nothing (the thread ended) and closes its admin client
            done.deleteLater()

    def close(self, wait_s: float = 12.0) -> None:
        """Stop every external service and join their threads (the app's quit)."""
        self._stop_external()
        for service in self._retired:
            service.stop(wait_s=wait_s)
        self._retired.clear()
        self.worker.shutdown()


__all__ = ["EMBEDDED", "ClusterSwitch"]
