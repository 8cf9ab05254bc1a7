"""Render the app icon's PNG sizes from ``resources/icons/streamscope.svg``.

Usage: ``QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py``

Contract: writes ``resources/icons/app/streamscope-<N>.png`` for each size of
:data:`SIZES` (N x N, ARGB, antialiased, rendered by Qt's SVG renderer: the same one
that draws the icon in the app), which are committed; run it again after editing the SVG.
The desktop file names the icon ``org.streamscope.Streamscope``; ``packaging/build.py``
installs these PNGs under that name in the hicolor theme.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "streamscope.svg"
OUT = ROOT / "resources" / "icons" / "app"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        path = OUT / f"streamscope-{size}.png"
        if not image.convertToFormat(QImage.Format.Format_ARGB32).save(str(path)):
            print(f"cannot write {path}", file=sys.stderr)
            return 1
        print(path.relative_to(ROOT))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
