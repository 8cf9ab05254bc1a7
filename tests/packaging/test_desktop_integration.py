"""The desktop integration files in ``resources/`` are valid and agree with each other.

* The desktop file passes ``desktop-file-validate``; it runs ``streamscope`` and names the
  icon by the app id.
* The AppStream metainfo passes ``appstreamcli validate``; its id, launchable and newest
  release agree with the desktop file's name and ``pyproject.toml``'s version, and each
  screenshot it lists is one of the README's (``resources/screenshots/``), 1280x720.
* The icon: an SVG that Qt renders, and a PNG of every size ``packaging/render_icons.py``
  makes, each N x N and not blank; at 16 px the lanes still show (several colours).
* ``pyproject.toml``'s build-system floor is setuptools 77, the first that reads the
  SPDX ``license`` string the project declares.
"""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "org.streamscope.Streamscope"
DESKTOP = ROOT / "resources" / "desktop" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / "desktop" / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)  # packaging/render_icons.py


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: bash .ci/setup installs it")
    return path


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_desktop_file_validates_and_launches_streamscope_with_its_icon():
    done = subprocess.run([_tool("desktop-file-validate"), str(DESKTOP)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout.lower(), done.stdout
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "streamscope"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"


def test_the_metainfo_validates_and_agrees_with_the_desktop_file_and_the_version():
    done = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name
    assert root.findtext("project_license") == tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["license"]
    newest = root.find("releases/release")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert newest.get("version") == version
    images = [el.text.strip() for el in root.iterfind("screenshots/screenshot/image")]
    assert len(images) >= 3
    for url in images:
        shot = ROOT / "resources" / "screenshots" / url.rpartition("/")[2]
        assert url.startswith("https://") and shot.is_file(), url
        assert struct.unpack(">II", shot.read_bytes()[16:24]) == (1280, 720), shot


def _colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(image.width()) for y in range(image.height())})


def test_the_icon_renders_and_every_png_size_is_there(qapp):
    renderer = QSvgRenderer(str(ICONS / "streamscope.svg"))
    assert renderer.isValid()
    for size in SIZES:
        image = QImage(str(ICONS / "app" / f"streamscope-{size}.png"))
        assert (image.width(), image.height()) == (size, size), size
        assert image.hasAlphaChannel()
        assert _colours(image) >= 8, size  # lanes, cursors and key colours, not a blob


def test_the_build_system_floor_reads_the_spdx_license():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(project["project"]["license"], str)  # PEP 639: setuptools >= 77
    assert "setuptools>=77" in project["build-system"]["requires"]
