"""The desktop app's command line: ``streamscope [options]`` (:func:`gui_parser`).

Contract: declared once, here, and read twice: :mod:`desktop.main` prints its help for
``streamscope --help`` and :mod:`desktop.app` parses the app's arguments with it, so the
help lists exactly the options the app accepts. No Qt is imported (``--help`` stays fast
and works without a display). ``--listen``, ``--advertised-listener`` and ``--tune-allocator`` are the ones
``streamscope broker`` has too, from :mod:`core.cli`, so both read them the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streamscope.core.cli import (
    add_advertised_listener_option,
    add_tune_allocator_option,
    listen_address,
)
from streamscope.core.config import DEFAULT_PORT

# The desktop's theme names (desktop.theme.THEME_NAMES, which imports Qt; a test keeps the
# two equal).
GUI_THEMES = ("system", "light", "dark")

_GUI_EPILOG = """other commands:
  streamscope broker [options]   run the broker without a GUI (streamscope broker -h)
  streamscope --version          print the version

In the app, F1 explains the view you are looking at."""


def gui_parser() -> argparse.ArgumentParser:
    """The desktop app's command line (``streamscope [options]``), parsed by desktop.app."""
    p = argparse.ArgumentParser(
        prog="streamscope",
        description="Streamscope: a Kafka-compatible broker in a window that shows it\n"
        "working. With no command, the desktop app starts.",
        epilog=_GUI_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        type=listen_address,
        default=None,
        metavar="HOST:PORT",
        help=f"where the embedded broker listens (default 127.0.0.1:{DEFAULT_PORT}; port 0 "
        "picks a free one)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where topics and offsets are stored (default: the user data dir)",
    )
    p.add_argument(
        "--theme", choices=GUI_THEMES, default=None,
        help="colour theme (default: the last one chosen, else follow the system)",
    )
    p.add_argument(
        "--screenshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="run a demo workload on a throwaway data dir, save one 1280x720 PNG per "
        "view into DIR, then exit",
    )
    p.add_argument(
        "--after",
        type=float,
        default=8.0,
        metavar="SECONDS",
        help="with --screenshots: how long to let the app run first (default 8)",
    )
    p.add_argument(
        "--lesson",
        default=None,
        metavar="NAME",
        help="open this lesson at start (`streamscope lesson --list` lists them); with "
        "--screenshots: play it until its apps run and save its map, log, lesson panel "
        "and presentation mode instead of one PNG per view",
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation: start the broker on a free port, produce and "
        "consume a record with a real client, render the window offscreen; print each "
        "check and exit 0, or the reason and 1",
    )
    add_advertised_listener_option(p)
    add_tune_allocator_option(p)
    return p
