"""Packaging tests render with Qt offscreen (set before anything imports Qt), as the
desktop tests do, so they run the same with or without a display."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
