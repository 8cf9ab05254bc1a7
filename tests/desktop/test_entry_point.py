"""The ``streamscope`` entry point sits above core and desktop (desktop.main), and core
never names desktop, not even in a string import.

``streamscope broker ...`` reaches the headless CLI (core.cli), anything else the desktop
app with its arguments; ``--help`` lists the app's options without loading Qt; the app
and the broker read ``--listen`` and ``--tune-allocator`` the same way.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import streamscope.desktop.app
from streamscope.core import cli
from streamscope.desktop import main as entry
from streamscope.desktop.options import gui_parser

from tests.core.helpers import LISTEN_CASES

ROOT = Path(__file__).resolve().parents[2]


def test_the_streamscope_script_is_the_entry_point_above_core_and_desktop():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["streamscope"] == "streamscope.desktop.main:main"


def _is_desktop(name: str) -> bool:
    return name.split(".")[0] == "desktop" or name.split(".")[:2] == ["streamscope", "desktop"]


def _names_desktop(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(_is_desktop(a.name) for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return _is_desktop(node.module or "")
    if isinstance(node, ast.Call):  # importlib.import_module("desktop..."), __import__(...)
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        return name in ("import_module", "__import__") and any(
            isinstance(a, ast.Constant) and _is_desktop(str(a.value))
            for a in node.args
        )
    return False


def test_core_never_imports_desktop_not_even_by_name():
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if _names_desktop(node)
    ]
    assert found == []


def test_a_core_command_goes_to_the_headless_cli_with_its_arguments(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(argv) or 7)
    monkeypatch.setattr(streamscope.desktop.app, "main", lambda argv: pytest.fail("the app ran"))
    assert entry.main(["broker", "--listen", "127.0.0.1:0"]) == 7
    assert calls == [["broker", "--listen", "127.0.0.1:0"]]


def test_without_a_command_the_desktop_app_runs_with_the_arguments(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(streamscope.desktop.app, "main", lambda argv: calls.append(argv) or 0)
    monkeypatch.setattr(cli, "main", lambda argv: pytest.fail("the headless CLI ran"))
    assert entry.main(["--listen", "127.0.0.1:0", "--screenshots", "x"]) == 0
    assert entry.main([]) == 0
    assert calls == [["--listen", "127.0.0.1:0", "--screenshots", "x"], []]


def test_an_unknown_command_exits_2_and_version_prints_the_version(monkeypatch, capsys):
    monkeypatch.setattr(streamscope.desktop.app, "main", lambda argv: pytest.fail("the app ran"))
    assert entry.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert entry.main(["--version"]) == 0
    assert capsys.readouterr().out == f"streamscope {cli.version()}\n"


def test_help_lists_the_app_options_without_loading_qt():
    code = ("import sys; from streamscope.desktop.main import main; rc = main(['--help']); "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'qasync') or m == 'streamscope.desktop.app'); "
            "print('LOADED', loaded); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--screenshots" in proc.stdout and "streamscope broker" in proc.stdout
    assert "LOADED []" in proc.stdout


@pytest.mark.parametrize("text, expected", LISTEN_CASES)
def test_app_and_broker_read_listen_the_same_way_and_an_empty_host_is_loopback(text, expected):
    assert cli._broker_parser().parse_args(["--listen", text]).listen == expected
    assert gui_parser().parse_args(["--listen", text]).listen == expected


@pytest.mark.parametrize("text", ["no-port-here", "host:", "127.0.0.1:65536", ":-1"])
def test_a_bad_listen_address_exits_2_for_the_app_too(text, capsys):
    with pytest.raises(SystemExit) as exc:
        gui_parser().parse_args(["--listen", text])
    assert exc.value.code == 2


def test_allocator_tuning_is_an_option_of_the_app_on_by_default():
    parser = gui_parser()
    assert parser.parse_args([]).tune_allocator is True
    assert parser.parse_args(["--no-tune-allocator"]).tune_allocator is False
    help_text = " ".join(parser.format_help().split())
    assert "--tune-allocator, --no-tune-allocator" in help_text
    assert "whole process" in help_text
