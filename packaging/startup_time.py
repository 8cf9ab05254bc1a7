"""Measure the start-up time of a ``streamscope`` executable to its first painted window.

Usage::

    python packaging/startup_time.py [--exe PATH] [--runs N] [--platform offscreen|xcb]

Contract: starts ``EXE --listen 127.0.0.1:0`` ``N`` times (default 5), one at a time, each
with a fresh HOME and data dir and ``STREAMSCOPE_STARTUP_PROBE=1`` (so the app prints
``startup: first frame painted X s after the process started``, measured from the
kernel's process start: see :mod:`desktop.self_test`), waits for that line (60 s at most),
then stops the app with SIGTERM and waits for it. Prints each run and the median, min and
max. ``--platform xcb`` needs a display (``DISPLAY``, e.g. under ``xvfb-run``); the default
``offscreen`` needs none. Exit 1 if a run printed no figure.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = re.compile(r"startup: first frame painted ([0-9.]+) s")


def one_run(exe: str, platform: str, timeout: float = 60.0) -> float | None:
    with tempfile.TemporaryDirectory(prefix="streamscope-startup-") as home:
        env = dict(os.environ, HOME=home, STREAMSCOPE_STARTUP_PROBE="1",
                   QT_QPA_PLATFORM=platform)
        proc = subprocess.Popen([exe, "--listen", "127.0.0.1:0", "--data-dir",
                                 str(Path(home) / "data")], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        figure = None
        try:
            sel = selectors.DefaultSelector()
            assert proc.stderr is not None
            sel.register(proc.stderr, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while figure is None and time.monotonic() < deadline:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = proc.stderr.readline()
                if not line:
                    break
                match = LINE.search(line)
                if match:
                    figure = float(match.group(1))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return figure


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="startup_time.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--exe", default=shutil.which("streamscope") or "streamscope")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--platform", default="offscreen", choices=("offscreen", "xcb"))
    args = p.parse_args(argv)
    figures = []
    for i in range(args.runs):
        figure = one_run(args.exe, args.platform)
        print(f"run {i + 1}: {'no figure' if figure is None else f'{figure:.2f} s'}", flush=True)
        if figure is None:
            return 1
        figures.append(figure)
    print(f"{args.exe} ({args.platform}): median {statistics.median(figures):.2f} s, "
          f"min {min(figures):.2f} s, max {max(figures):.2f} s over {len(figures)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
