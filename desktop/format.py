"""Human-readable formatting of sizes, rates, counts, durations and Kafka settings.

Contract: pure functions from numbers to short strings (no Qt), used by models and views
so every table and label writes a quantity the same way.
"""

from __future__ import annotations

import time

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    value = float(n)
    for unit in _SIZE_UNITS:
        if abs(value) < 1024 or unit == _SIZE_UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def count(n: float) -> str:
    """``1234567`` -> ``"1,234,567"``."""
    return f"{int(n):,}"


def short_count(n: float) -> str:
    """``1234567`` -> ``"1.23 M"`` (for rates and axis-like labels)."""
    value = float(n)
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:.2f} G"
    if a >= 1e6:
        return f"{value / 1e6:.2f} M"
    if a >= 1e4:
        return f"{value / 1e3:.1f} k"
    if a >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def rate(per_s: float, unit: str = "msg/s") -> str:
    return f"{short_count(per_s)} {unit}"


def byte_rate(per_s: float) -> str:
    return f"{size(per_s)}/s"


def duration(seconds: float) -> str:
    """``3725`` -> ``"1 h 2 min"``; ``42`` -> ``"42 s"``."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"
    d, rest = divmod(s, 86400)
    return f"{d} d {rest // 3600} h" if rest // 3600 else f"{d} d"


def retention_ms(ms: int) -> str:
    """Kafka's ``retention.ms``: ``-1`` keeps forever."""
    if ms < 0:
        return "forever"
    if ms < 1000:
        return f"{ms} ms"
    return duration(ms / 1000)


def retention_bytes(n: int) -> str:
    if n < 0:
        return "unlimited"
    return size(n)


def clock(ts: float) -> str:
    """Wall-clock time of day with milliseconds, for the event log."""
    lt = time.localtime(ts)
    return time.strftime("%H:%M:%S", lt) + f".{int((ts % 1) * 1000):03d}"


def timestamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
