"""core/ imports and works with Qt absent: every module imports with PySide6, pyqtgraph
and qasync made unimportable, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_imports_without_qt():
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class NoQt:
            def find_spec(self, name, path=None, target=None):
                top = name.split(".")[0]
                if top in {"PySide6", "shiboken6", "pyqtgraph", "qasync", "desktop"} or (
                    name.startswith("streamscope.desktop")
                ):
                    raise ImportError(f"{name} is blocked: core must not need it")
                return None

        sys.meta_path.insert(0, NoQt())
        import streamscope.core
        core = streamscope.core
        names = [m.name for m in pkgutil.walk_packages(core.__path__, "streamscope.core.")]
        for name in names:
            importlib.import_module(name)
        print(len(names))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 10
