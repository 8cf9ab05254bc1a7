"""End-to-end tests that drive the scripts of ``benchmarks/`` at a smaller scale.

:func:`load_bench` imports one of those scripts as a module (they are not a package).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_bench(script: str) -> ModuleType:
    """``benchmarks/<script>.py`` as a module named ``streamscope_bench_<script>``."""
    spec = importlib.util.spec_from_file_location(f"streamscope_bench_{script}",
                                                  ROOT / "benchmarks" / f"{script}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
