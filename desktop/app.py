"""The desktop app's composition root: ``streamscope`` with no subcommand lands here.

Usage (through the entry point :mod:`desktop.main`, which imports this module only when
the app runs; the options are declared once in :func:`desktop.options.gui_parser`, so
``streamscope --help`` lists them)::

    streamscope [--listen HOST:PORT] [--data-dir DIR] [--theme system|light|dark]
    streamscope --screenshots DIR [--after SECONDS]
    streamscope [--screenshots DIR] --lesson NAME
    streamscope --self-test

Contract:

* :func:`main` builds the ``QApplication``, runs asyncio inside Qt through qasync, starts
  the embedded broker off the GUI thread (:class:`~desktop.broker_service.BrokerService`)
  and shows the main window; on quit it stops the ticker, saves settings, stops the
  in-process consumers and the broker, and joins the broker thread. Exit code 0 on a normal
  quit, 1 when the broker could not start and the user gave up.
* If the listen port is taken, the app says so and offers the next free port or any free
  port (:class:`~desktop.dialogs.port_dialog.PortDialog`) instead of failing silently.
  Until the broker listens, the overview shows the address it was asked for (never a
  default it was not asked for).
* Without ``--listen``, the broker listens where Broker > Listen address… saved
  (:mod:`desktop.dialogs.listen_dialog`), else on loopback; the SASL mechanisms saved
  there are required of clients (issue 13). Nothing else widens the listener.
* The demo workload (:class:`~desktop.demo.DemoWorkload`) belongs to the app: the window
  starts and stops it (Demo menu, overview's first step); quitting stops it before the
  broker.
* ``--screenshots DIR`` runs the app (offscreen works) on a throwaway data dir with the
  demo workload, waits ``--after`` seconds, saves one 1280x720 PNG per main view into DIR
  and exits 0 (see :mod:`desktop.screenshots`).
* ``--lesson NAME`` opens that lesson once the broker listens; with ``--screenshots`` it
  saves the lesson's shots instead (:class:`desktop.screenshots.LessonScreenshotRun`).
  An unknown name exits 2 before any window opens.
* ``--self-test`` runs :class:`desktop.self_test.SelfTestRun` (offscreen unless
  ``QT_QPA_PLATFORM`` is set) on a throwaway data dir and settings, the broker on a free
  port: it prints each check and exits 0, or 1 with the reason. ``STREAMSCOPE_STARTUP_PROBE=1``
  prints when the window first painted (:func:`desktop.self_test.probe_first_frame`).
* Process-wide settings are made by :func:`main` only, never by :class:`Streamscope`:
  glibc's allocator tuning (``--tune-allocator``, default on, as ``streamscope broker``)
  and ``gc.freeze()`` once the broker is up.
* External clusters (issue 15): the window's cluster switcher is driven by a
  :class:`~desktop.cluster_switch.ClusterSwitch` (profiles in ``settings``, passwords in
  the :class:`~desktop.profiles.PasswordVault`, ``vault=`` for tests); the embedded broker
  keeps running while another cluster is shown. Cluster > Clone into sandbox… opens the
  :class:`~desktop.dialogs.clone_dialog.CloneDialog` onto the embedded broker. Quitting
  stops the external polling first.
* :class:`Streamscope` wires the parts together and is what tests build (with their own
  ``QSettings`` file, data dir and port 0), so tests run the same wiring as users.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox
from streamscope.core.cli import raise_open_file_limit
from streamscope.core.config import BrokerConfig
from streamscope.core.server import tune_allocator
from streamscope.desktop.broker_service import BrokerService, port_in_use
from streamscope.desktop.cluster_switch import ClusterSwitch
from streamscope.desktop.commands import Commands, error_text
from streamscope.desktop.demo import DemoWorkload
from streamscope.desktop.dialogs.listen_dialog import saved_listen, saved_mechanisms
from streamscope.desktop.dialogs.port_dialog import PortDialog
from streamscope.desktop.layout import plain_message_box
from streamscope.desktop.lesson_service import LessonService
from streamscope.desktop.main_window import MainWindow
from streamscope.desktop.options import gui_parser
from streamscope.desktop.profiles import PasswordVault
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import THEME_NAMES, ThemeManager
from streamscope.desktop.ticker import Ticker

log = logging.getLogger("streamscope.desktop")

ORGANIZATION = "Streamscope"
APPLICATION = "Streamscope"
DESKTOP_FILE_NAME = "org.streamscope.Streamscope"


class Streamscope(QObject):
    """The running app: theme, broker service, ticker, commands and main window."""

    quit_requested = Signal(int)  # exit code

    def __init__(
        self,
        app: QApplication,
        config: BrokerConfig,
        settings: QSettings,
        *,
        theme: str | None = None,
        interactive: bool = True,
        clock: Callable[[], float] = time.monotonic,
        vault: PasswordVault | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.settings = settings
        self.interactive = interactive  # False: never ask (screenshots, tests)
        self.exit_code = 0
        self.port_dialog: PortDialog | None = None
        self._closed = False
        name = theme or str(settings.value("theme", "system"))
        self.themes = ThemeManager(app, name if name in THEME_NAMES else "system")
        self.service = BrokerService(config)
        self.commands = Commands(self.service)
        self.ticker = Ticker(self.service, clock=clock)
        self.demo = DemoWorkload(self.service, self.commands, self)
        # The delivery simulation: its scenario lives on the broker loop (issue 12).
        self.sim = SimService(self.service, self.ticker, parent=self)
        # Lessons play on that scenario, step by step (issue 12).
        self.lessons = LessonService(self.sim, self.ticker, parent=self)
        self.window = MainWindow(
            self.commands,
            self.ticker,
            self.themes,
            settings,
            demo=self.demo,
            sim=self.sim,
            lessons=self.lessons,
            vault=vault,
        )
        # Which cluster the views show (issue 15): Embedded or a saved profile.
        self.clusters = ClusterSwitch(
            self.window, self.ticker, self.commands, self.window.profile_store,
            self.window.vault, sim=self.sim, lessons=self.lessons, parent=self,
        )
        self.window.profiles_changed.connect(self.clusters.reload)
        self.clusters.switched.connect(self._cluster_switched)
        self.window.clone_requested.connect(self.open_clone_dialog)
        self.clone_dialog = None
        self.service.started.connect(self._on_started)
        self.service.failed.connect(self._on_failed)

    def start(self, show: bool = True) -> None:
        if show:
            self.window.show()
        config = self.service.config
        self.window.set_listener_text(f"Starting broker on {_address(config)}…")
        self.window.overview.set_requested_address(_address(config))
        self.service.start()
        self.ticker.start()

    def _cluster_switched(self, name: str) -> None:
        if self.clusters.external is not None:
            self.window.overview.show_brokers()

    def open_clone_dialog(self):
        """Cluster > Clone into sandbox…: the shown external cluster into the embedded broker."""
        from streamscope.desktop.dialogs.clone_dialog import CloneDialog

        ext = self.clusters.external
        if ext is None or self.clone_dialog is not None:
            return self.clone_dialog
        dialog = CloneDialog(ext.settings, ext.name, ext.latest(), self.service.bootstrap,
                             self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "clone_dialog", None))
        self.clone_dialog = dialog
        dialog.open()
        return dialog

    def _on_started(self, bootstrap: str) -> None:
        self.window.set_listener_text(f"Listening on {bootstrap}", self.themes.theme.ok)
        log.info("listening on %s (data dir %s)", bootstrap, self.service.config.data_dir)
        self.ticker.refresh_now()

    def _on_failed(self, exc: BaseException) -> None:
        config = self.service.config
        if port_in_use(exc):
            if not self.interactive:
                # Nobody to ask: take any free port rather than fail.
                log.warning("%s is in use; listening on a free port", _address(config))
                self.service.start(replace(config, port=0))
                return
            self.window.set_listener_text(f"{_address(config)} is in use", self.themes.theme.bad)
            self.window.overview.set_requested_address(_address(config), "in use")
            dialog = PortDialog(config.host, config.port, self.window)
            self.port_dialog = dialog

            def chosen(_result: int) -> None:
                self.port_dialog = None
                dialog.deleteLater()
                if dialog.choice is None:
                    self.quit(1)
                else:
                    chosen_config = replace(config, port=dialog.choice)
                    self.window.overview.set_requested_address(_address(chosen_config))
                    self.service.start(chosen_config)

            dialog.finished.connect(chosen)
            dialog.open()
            return
        self.window.set_listener_text(f"Broker failed: {error_text(exc)}", self.themes.theme.bad)
        if not self.interactive:
            log.error("the broker could not start: %s", error_text(exc))
            self.quit(1)
            return
        box = plain_message_box(QMessageBox(self.window))  # the error may quote an address
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("The broker could not start")
        box.setText(f"The embedded broker could not start:\n\n{error_text(exc)}")
        box.finished.connect(lambda _r: self.quit(1))
        box.open()

    def quit(self, code: int = 0) -> None:
        self.exit_code = code
        self.quit_requested.emit(code)
        self.window.close()
        QCoreApplication.quit()

    def close(self) -> None:
        """Stop everything and join the broker thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.ticker.stop()
        if self.clone_dialog is not None:
            self.clone_dialog.stop(wait=True)
        self.clusters.close()  # external polling and its clients, before anything else
        self.window.save_settings()
        # The demo's real clients leave their groups while the broker still answers.
        self.demo.stop(wait=True)
        # The simulation's partners stop and its apps leave their groups, likewise.
        self.lessons.close()  # the lesson's running step ends before its scenario closes
        self.sim.close()
        self.service.stop()
        self.window.close()
        self.window.dispose()


def _address(config: BrokerConfig) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"{host}:{config.port}"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The options ``streamscope --help`` lists (declared in :func:`desktop.options.gui_parser`)."""
    return gui_parser().parse_args(list(argv))


def make_config(
    args: argparse.Namespace, data_dir: Path | None = None, settings: QSettings | None = None
) -> BrokerConfig:
    """The broker's config: the command line first, then what Broker > Listen address…
    saved in ``settings`` (the listen address and the SASL mechanisms required)."""
    config = BrokerConfig()
    changes: dict = {}
    saved = saved_listen(settings) if settings is not None else None
    if args.listen is not None:
        changes["host"], changes["port"] = args.listen
    elif saved is not None:
        changes["host"], changes["port"] = saved
    if args.advertised_listener is not None:
        changes["advertised_host"], changes["advertised_port"] = args.advertised_listener
    mechanisms = saved_mechanisms(settings) if settings is not None else ()
    if mechanisms:
        changes["sasl_mechanisms"] = mechanisms
    if data_dir is not None:
        changes["data_dir"] = data_dir
    elif args.data_dir is not None:
        changes["data_dir"] = args.data_dir
    return replace(config, **changes) if changes else config


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns about every window it cannot resize natively; drop that."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl+C or SIGTERM quits the app cleanly (broker stopped, files closed, exit 0).

    Python runs signal handlers only between bytecodes, and Qt's loop runs in C, so a
    slow timer gives the interpreter a regular chance to notice a pending signal.
    """

    def request_quit(signum: int, _frame: object) -> None:
        logging.getLogger("streamscope").info("%s received, quitting", signal.Signals(signum).name)
        QTimer.singleShot(0, app.quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_quit)
    ticker = QTimer(app)
    ticker.setInterval(250)
    ticker.timeout.connect(lambda: None)
    ticker.start()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)  # the demo's kafka-python client
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    no_display = (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )
    if no_display:
        # Qt would abort without a display. Run offscreen instead: the embedded broker
        # and the monitor work the same, and clients can still connect.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        if args.screenshots is None:
            logging.getLogger("streamscope").warning(
                "no display (DISPLAY/WAYLAND_DISPLAY unset): running with the window "
                "offscreen; `streamscope broker` runs the broker alone"
            )

    # Qt's raster engine hands every fill of 96 spans or more (antialiased chart lines and
    # their fills) to a thread pool and waits for it: on a busy 2-core machine the GUI
    # thread then waits for a core for those threads too. Filling on the GUI thread drew a
    # chart in half the time (benchmarks/gui_load.py, issue 11). Read when Qt first draws.
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")

    import qasync  # only the GUI needs it; imported late so --help stays fast

    _quiet_offscreen_warnings()

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "streamscope"])
    assert isinstance(app, QApplication)
    # Wayland compositors match the window to the installed desktop file (and its icon)
    # by this name (resources/desktop/).
    app.setDesktopFileName(DESKTOP_FILE_NAME)

    if args.lesson is not None:
        from streamscope.core.lessons import LessonNotFound, find_lesson

        try:
            find_lesson(args.lesson)  # a wrong name fails here, not in a window
        except LessonNotFound as exc:
            sys.stderr.write(f"streamscope: {exc}\n")
            return 2

    tmp: tempfile.TemporaryDirectory | None = None
    if args.screenshots is not None:
        from streamscope.desktop.screenshots import LessonScreenshotRun, ScreenshotRun

        # A throwaway data dir and settings: screenshots never touch the user's data.
        tmp = tempfile.TemporaryDirectory(prefix="streamscope-shots-")
        data_dir = args.data_dir or Path(tmp.name) / "data"
        settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        shell = Streamscope(
            app, make_config(args, data_dir), settings, theme=args.theme, interactive=False
        )
        if args.lesson is not None:
            run = LessonScreenshotRun(shell, args.screenshots, args.lesson)
        else:
            run = ScreenshotRun(shell, args.screenshots, args.after)
    elif args.self_test:
        from streamscope.desktop.self_test import SelfTestRun, self_test_config

        tmp = tempfile.TemporaryDirectory(prefix="streamscope-self-test-")
        data_dir = args.data_dir or Path(tmp.name) / "data"
        settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        config = self_test_config(args, make_config(args, data_dir))
        shell = Streamscope(app, config, settings, theme=args.theme, interactive=False)
        run = SelfTestRun(shell)
    else:
        settings = QSettings()
        shell = Streamscope(app, make_config(args, settings=settings), settings,
                            theme=args.theme)
        run = None
        if args.lesson is not None:
            name = args.lesson
            shell.service.started.connect(lambda _bootstrap: shell.window.open_lesson(name))

    if os.environ.get("STREAMSCOPE_STARTUP_PROBE"):
        from streamscope.desktop.self_test import probe_first_frame

        probe_first_frame(shell.window)  # start-up time to a visible window, measured
    if args.tune_allocator:
        tune_allocator()  # process-wide, so here at the entry point (see core.server)
    # Each partition and connection holds descriptors; desktops often start apps with a
    # soft limit of 1,024 (process-wide: the entry point's business, as in core.cli).
    raise_open_file_limit()
    # Everything alive once the broker is up (Qt wrappers, modules, the broker's startup
    # state) lives as long as the app: take it out of the garbage collector's full scans,
    # which would otherwise stall both threads (one GIL) for tens of ms every few seconds.
    # Process-wide too, so the entry point does it, not Streamscope.
    shell.service.started.connect(lambda _bootstrap: gc.freeze())
    _quit_on_signals(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(shell.close)
    app.aboutToQuit.connect(closed.set)
    try:
        with loop:
            shell.start()
            if run is not None:
                run.start()
            loop.run_until_complete(closed.wait())
    finally:
        shell.close()
        if tmp is not None:
            tmp.cleanup()
    if run is not None:
        return run.exit_code
    return shell.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
