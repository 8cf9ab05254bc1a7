"""The bundle's entry point: the ``streamscope`` executable PyInstaller freezes.

Contract: the same command line as the installed ``streamscope`` (:func:`desktop.main.main`:
the app, ``broker``, ``sim``, ``inspect``, ``lesson``, ``users``, ``--screenshots``,
``--self-test``). One addition, because in the bundle ``sys.executable`` is this program:
``streamscope -m streamscope.MODULE ARGS`` runs that module of the app as ``__main__``
(lesson 10 starts its transformer as ``sys.executable -m streamscope.core.sim.eos``).
Only the app's own modules run that way; this is not a general Python.
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "-m" and args[1].startswith("streamscope."):
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    from streamscope.desktop.main import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
