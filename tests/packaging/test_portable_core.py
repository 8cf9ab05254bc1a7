"""``core`` imports where there is no ``fcntl`` (Windows), and its locks still exclude.

* Every module of ``streamscope.core`` imports in a fresh interpreter in which ``fcntl``
  cannot be imported (as on Windows): no POSIX-only module at the top of a core file.
* The data dir's lock (:class:`core.datadir.DataDir`) refuses a second broker in another
  process, and is free again once the first process let go of it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from streamscope.core.datadir import DataDir

_IMPORT_ALL_WITHOUT_FCNTL = textwrap.dedent("""
    import importlib, pkgutil, sys
    sys.modules["fcntl"] = None  # what `import fcntl` finds on Windows: ImportError
    import streamscope.core as core
    names = ["streamscope.core"] + [m.name for m in pkgutil.walk_packages(
        core.__path__, "streamscope.core.")]
    for name in names:
        importlib.import_module(name)
    print(len(names))
""")


def test_every_core_module_imports_without_fcntl():
    run = subprocess.run([sys.executable, "-c", _IMPORT_ALL_WITHOUT_FCNTL],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert int(run.stdout.strip()) > 50  # really walked the package


_HOLD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from streamscope.core.datadir import DataDir
    d = DataDir(Path(sys.argv[1]))
    try:
        d.lock()
    except RuntimeError as exc:
        print("refused:", exc, flush=True)
        sys.exit(3)
    print("locked", flush=True)
    sys.stdin.readline()  # hold it until told to go
    d.unlock()
""")


def test_the_data_dir_lock_excludes_another_process_until_it_lets_go(tmp_path: Path):
    data = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(data)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        second = subprocess.run([sys.executable, "-c", _HOLD, str(data)], input="\n",
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 3, second.stderr
        assert "in use by another broker" in second.stdout
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
        holder.wait()
    mine = DataDir(data)
    mine.lock()  # free again
    mine.unlock()
