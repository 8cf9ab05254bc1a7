"""Human-readable formatting of sizes, rates, counts, durations and Kafka settings.

Contract: pure functions from numbers to short strings (no Qt), used by models and views
so every table and label writes a quantity the same way; :func:`plain_tooltip`, the
one way any tooltip text reaches Qt; and :func:`listener_exposure`, the one wording of
the warning shown when the broker listens beyond this machine.
"""

from __future__ import annotations

import html
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
    """One SI format for rates and counts in short labels, three significant digits from
    a thousand up: ``950`` -> ``"950"``, ``5000`` -> ``"5.00 k"``, ``12345`` -> ``"12.3 k"``,
    ``1234567`` -> ``"1.23 M"``. Below ten, one decimal unless whole (``2.5``, ``3``)."""
    value = float(n)
    a = abs(value)
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale * 0.9995:
            v = value / scale
            av = abs(v)
            digits = 2 if av < 9.995 else 1 if av < 99.95 else 0
            return f"{v:.{digits}f} {prefix}"
    if a >= 10 or value == int(value):
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


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1, "partition"`` -> ``"1 partition"``; ``3`` -> ``"3 partitions"`` (counts grouped)."""
    return f"{count(n)} {word if n == 1 else (many or word + 's')}"


def retention(ms: int, nbytes: int) -> str:
    """A topic's retention as the topics table writes it: ``"7 d"``, ``"forever / 1.0 GiB"``.

    The time limit first; the size limit (per partition) only when there is one.
    """
    if nbytes < 0:
        return retention_ms(ms)
    return f"{retention_ms(ms)} / {retention_bytes(nbytes)}"


def retention_sentence(ms: int, nbytes: int) -> str:
    """The same limits in words: ``"keeps records forever, at most 1.0 GiB per partition"``."""
    kept = "forever" if ms < 0 else f"for {retention_ms(ms)}"
    limit = "no size limit" if nbytes < 0 else f"at most {size(nbytes)} per partition"
    return f"keeps records {kept}, {limit}"


_CONFIG_NAMES = {
    "retention.ms": "retention time",
    "retention.bytes": "retention size",
    "segment.bytes": "segment size",
    "segment.ms": "segment roll time",
    "max.message.bytes": "max batch size",
    "index.interval.bytes": "index interval",
    "segment.index.bytes": "index size",
}
_CONFIG_KINDS = {
    "retention.ms": "ms",
    "segment.ms": "ms",
    "retention.bytes": "bytes",
    "segment.bytes": "bytes",
    "max.message.bytes": "bytes",
    "index.interval.bytes": "bytes",
    "segment.index.bytes": "bytes",
}


def config_value(name: str, value: str) -> str:
    """A topic config's value in the units people read: ``retention.ms=-1`` -> ``"forever"``.

    Unknown names and values that are not numbers are returned as they are.
    """
    kind = _CONFIG_KINDS.get(name)
    try:
        number = int(value)
    except ValueError:
        return value
    if kind == "ms":
        return retention_ms(number)
    if kind == "bytes":
        return retention_bytes(number)
    return value


def config_name(name: str) -> str:
    """``"retention.ms"`` -> ``"retention time"``; unknown names as they are."""
    return _CONFIG_NAMES.get(name, name)


def config_override(name: str, value: str) -> str:
    """``("retention.ms", "-1")`` -> ``"retention time forever"`` (for one-line summaries)."""
    return f"{config_name(name)} {config_value(name, value)}"


def clock(ts: float) -> str:
    """Wall-clock time of day with milliseconds, for the event log."""
    lt = time.localtime(ts)
    return time.strftime("%H:%M:%S", lt) + f".{int((ts % 1) * 1000):03d}"


def timestamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that shows exactly these characters.

    QToolTip renders a string as rich text when it merely looks like markup
    (``Qt::mightBeRichText``), so a group id or client id such as ``<b>x</b>`` would be
    rendered. Escaped and wrapped in one paragraph, the text is shown as typed, line
    breaks kept. Every tooltip that may carry a name a client chose goes through here.
    """
    body = html.escape(text).replace("\n", "<br>")
    return f"<p style='white-space:pre-wrap; margin:0'>{body}</p>"


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def listener_exposure(host: str, mechanisms: tuple[str, ...], tls: bool) -> str:
    """Who can reach a listener that is not loopback, and whether they must log in:
    ``"Listening on all interfaces: anyone on the network can connect · no
    authentication"``. (Loopback listeners need no warning; the caller checks.)"""
    name = host.strip("[]")
    if name in WILDCARD_HOSTS:
        who = "Listening on all interfaces: anyone on the network can connect"
    else:
        who = f"Listening on {name}: anyone who can reach that address can connect"
    if mechanisms:
        auth = f"authentication on ({', '.join(mechanisms)}{', TLS' if tls else ''})"
    else:
        auth = "no authentication" + (" (TLS)" if tls else "")
    return f"{who} · {auth}"
