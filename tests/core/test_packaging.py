"""What gets installed is one package, ``streamscope``, and the installed product works.

* ``pyproject.toml`` maps every Python package of ``core/`` and ``desktop/`` (and the
  resources) under ``streamscope.``; nothing installs under a generic top-level name.
* No code imports the repository's directories by their bare names (``core``,
  ``desktop``): running from a checkout would otherwise load a second copy of a module.
* The wheel, built from this tree and installed into a clean virtualenv, carries its
  style sheets and icons and runs ``streamscope --screenshots`` from a directory that is
  not the checkout: the installed product is the tested product.
"""

from __future__ import annotations

import ast
import os
import struct
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("core", "desktop", "tests", "benchmarks")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_tree_is_installed_under_streamscope():
    tools = _project()["tool"]["setuptools"]
    in_tree = {"streamscope.resources"}
    for top in ("core", "desktop"):
        for init in (ROOT / top).rglob("__init__.py"):
            in_tree.add("streamscope." + ".".join(init.parent.relative_to(ROOT).parts))
    assert set(tools["packages"]) == in_tree
    assert all(name.startswith("streamscope.") for name in tools["packages"])
    assert tools["package-dir"] == {
        "streamscope.core": "core",
        "streamscope.desktop": "desktop",
        "streamscope.resources": "resources",
    }


def _bare_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                  if n.split(".")[0] in ("core", "desktop")]
    return found


def test_nothing_imports_the_directories_by_their_bare_names():
    found = [hit for top in SOURCES for p in sorted((ROOT / top).rglob("*.py"))
             for hit in _bare_imports(p)
             if "_INLINE_BROKER" not in p.read_text()]  # the benchmark's old-tree fallback
    assert found == []


def _png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.mark.timeout(900)
def test_the_wheel_installs_into_a_clean_venv_and_runs_with_its_resources(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("streamscope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("streamscope-")}
    assert tops == {"streamscope"}, tops  # no top-level core/ or desktop/
    assert "streamscope/resources/themes/light.qss" in names
    assert "streamscope/resources/icons/streamscope.svg" in names
    assert not any(n.startswith("streamscope/resources/screenshots/") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr
    shots = tmp_path / "shots"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    run = subprocess.run(
        [str(venv / "bin" / "streamscope"), "--screenshots", str(shots)],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # Imported from the venv, not from the checkout.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import streamscope.desktop.theme as t; print(t.RESOURCES)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    pngs = sorted(p.name for p in shots.glob("*.png"))
    assert "groups.png" in pngs and "overview.png" in pngs, pngs
    assert _png_size(shots / "groups.png") == (1280, 720)
