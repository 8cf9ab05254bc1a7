"""The ``streamscope`` command: the app's entry point, above both ``core`` and ``desktop``.

Usage::

    streamscope [--listen HOST:PORT] [--data-dir DIR] [--theme system|light|dark]
                [--screenshots DIR [--after SECONDS]] [--[no-]tune-allocator]  # the app
    streamscope broker [options]        # the headless broker (core.cli)
    streamscope sim --bootstrap HOST:PORT --partners N --rate R [options]
                                        # delivery partners against any broker (core.cli)
    streamscope --self-test             # check the installation (desktop.self_test)
    streamscope --help | --version

Contract: :func:`main` dispatches and does nothing else. A core command (``broker``,
``sim``: :data:`core.cli.COMMANDS`) goes to :func:`core.cli.main` with its arguments;
``--version`` prints the version; ``-h``/``--help`` prints the app's options
(:func:`desktop.options.gui_parser`) without importing Qt; another word that is not an
option exits 2; everything else runs the desktop app (:func:`desktop.app.main`, imported
only then, so the broker and ``--help`` never load Qt). This is the one module that
imports both the headless CLI and the desktop app, with ordinary imports the
import-linter contract can see (``core`` never imports ``desktop``, not even by name).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from streamscope.core import cli
from streamscope.desktop.options import gui_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in cli.COMMANDS:
        return cli.main(args)
    if args and args[0] in ("--version", "-V"):
        print(f"streamscope {cli.version()}")
        return 0
    if any(a in ("-h", "--help") for a in args):
        gui_parser().print_help()
        return 0
    if args and not args[0].startswith("-"):
        print(f"streamscope: unknown command {args[0]!r}", file=sys.stderr)
        gui_parser().print_usage(sys.stderr)
        return 2
    from streamscope.desktop import app  # Qt, pyqtgraph, qasync: only when the app really runs

    return int(app.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
