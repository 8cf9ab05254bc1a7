"""The file layer under the log: every open, write, pread, fsync/fdatasync, ftruncate,
close and (for the log cleaner's swaps) replace of a segment, index or checkpoint file
goes through :data:`FILES`.

Contract:

* :class:`FileOps` is the real thing: thin pass-throughs to ``os.*`` (its methods are
  the ``os`` functions themselves, so the produce hot path pays one attribute lookup).
* :data:`FILES` is the module global the log code calls (``files.FILES.write(fd, b)``);
  always look it up through the module at call time, never bind it at import, or
  :func:`installed` cannot swap it.
* :func:`installed` swaps in another layer (tests: :class:`FaultyFiles`) and restores
  the previous one on exit.
* :class:`FaultyFiles` fails chosen operations with a chosen errno, optionally only for
  paths containing a substring, ``times`` times or until :meth:`FaultyFiles.heal`;
  :meth:`FaultyFiles.short_write_next` makes writes store only part of their bytes and
  return the shorter count, as a regular file does when the disk fills mid-write.
  It is thread-safe (the flusher fsyncs from its own thread).
* Helpers :func:`write_all`, :func:`read_all` and :func:`fsync_dir` are built on
  :data:`FILES`, so faults reach them too.
"""

from __future__ import annotations

import errno as errno_mod
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_fdatasync = getattr(os, "fdatasync", os.fsync)


class FileOps:
    """Real file operations (``os.*``). Subclasses override methods to inject faults."""

    # staticmethod(os.x): calling FILES.write(fd, data) costs what os.write costs plus
    # one attribute lookup; no Python frame in between.
    open = staticmethod(os.open)
    write = staticmethod(os.write)
    pread = staticmethod(os.pread)
    fsync = staticmethod(os.fsync)
    fdatasync = staticmethod(_fdatasync)
    ftruncate = staticmethod(os.ftruncate)
    close = staticmethod(os.close)
    replace = staticmethod(os.replace)


FILES: FileOps = FileOps()

_swap_lock = threading.Lock()


@contextmanager
def installed(ops: FileOps) -> Iterator[FileOps]:
    """Make ``ops`` the file layer (``FILES``) inside the block; restore the old one after."""
    global FILES
    with _swap_lock:
        previous = FILES
        FILES = ops
    try:
        yield ops
    finally:
        with _swap_lock:
            FILES = previous


# --- helpers ------------------------------------------------------------------------


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write all of ``data`` (finishing short writes); a write of 0 bytes is ENOSPC."""
    view = memoryview(data)
    while view:
        n = FILES.write(fd, view)
        if n <= 0:
            raise OSError(errno_mod.ENOSPC, os.strerror(errno_mod.ENOSPC))
        view = view[n:]


def read_all(fd: int) -> bytes:
    """The whole file behind ``fd`` (by its current size)."""
    size = os.fstat(fd).st_size
    parts = []
    pos = 0
    while pos < size:
        chunk = FILES.pread(fd, size - pos, pos)
        if not chunk:
            break
        parts.append(chunk)
        pos += len(chunk)
    return b"".join(parts)


def fsync_dir(directory: Path) -> None:
    """fsync a directory (new or removed entries); file systems that refuse it are fine."""
    try:
        fd = FILES.open(str(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        FILES.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories
    finally:
        FILES.close(fd)


# --- fault injection (tests) ----------------------------------------------------------

OPS = ("open", "write", "pread", "fsync", "fdatasync", "ftruncate", "close", "replace")


@dataclass
class _Fault:
    op: str
    errno: int
    remaining: int | None  # None: until heal()
    path_contains: str | None
    short: bool = False  # a short write instead of an error
    keep: float = 0.5  # short write: the fraction of the bytes stored


class FaultyFiles(FileOps):
    """A file layer that fails on request; see the module docstring.

    ``fail_next("fsync", ...)`` matches fdatasync too (both are "make it durable");
    ``fail_next("fdatasync", ...)`` matches only fdatasync. ``calls`` counts every
    operation by name; ``injected`` counts the faults that fired.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._paths: dict[int, str] = {}
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    # --- configuring ----------------------------------------------------------------

    def fail_next(
        self,
        op: str,
        errno: int = errno_mod.EIO,
        times: int | None = 1,
        path_contains: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``op`` (None: every call until :meth:`heal`),
        on paths containing ``path_contains`` if given, raise OSError(``errno``)."""
        if op not in OPS:
            raise ValueError(f"unknown file operation {op!r}; one of {', '.join(OPS)}")
        with self._lock:
            self._faults.append(_Fault(op, errno, times, path_contains))

    def short_write_next(
        self, times: int | None = 1, path_contains: str | None = None, keep: float = 0.5
    ) -> None:
        """Make the next ``times`` writes store only ``keep`` of their bytes (at least one
        byte less than asked) and return that count."""
        with self._lock:
            self._faults.append(
                _Fault("write", 0, times, path_contains, short=True, keep=keep)
            )

    def heal(self) -> None:
        """Drop every pending fault: the disk works again."""
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._faults)

    # --- plumbing -------------------------------------------------------------------

    def path_of(self, fd: int) -> str:
        """The file behind ``fd`` now: /proc knows it even for descriptors opened before
        this layer was installed, duplicated with os.dup or closed behind its back (a
        cache by descriptor number would go stale when the number is reused)."""
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return self._paths.get(fd, "")

    def _take(self, op: str, path: str | None) -> _Fault | None:
        with self._lock:
            self.calls[op] += 1
            for i, f in enumerate(self._faults):
                if f.op != op and not (f.op == "fsync" and op == "fdatasync"):
                    continue
                if f.path_contains is not None and f.path_contains not in (path or ""):
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        del self._faults[i]
                self.injected[op] += 1
                return f
        return None

    def _check(self, op: str, fd: int | None = None, path: str | None = None) -> _Fault | None:
        if path is None and fd is not None and self._faults:
            path = self.path_of(fd)
        fault = self._take(op, path)
        if fault is not None and not fault.short:
            raise OSError(fault.errno, f"{os.strerror(fault.errno)} (injected {op})", path)
        return fault

    # --- operations -----------------------------------------------------------------

    def open(self, path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
        text = os.fspath(path)
        self._check("open", path=text)
        fd = os.open(text, flags, mode)
        with self._lock:
            self._paths[fd] = text
        return fd

    def write(self, fd: int, data: bytes | bytearray | memoryview) -> int:
        fault = self._check("write", fd)
        if fault is not None and fault.short and len(data) > 1:
            n = min(max(int(len(data) * fault.keep), 1), len(data) - 1)
            return os.write(fd, memoryview(data)[:n])
        return os.write(fd, data)

    def pread(self, fd: int, n: int, pos: int) -> bytes:
        self._check("pread", fd)
        return os.pread(fd, n, pos)

    def fsync(self, fd: int) -> None:
        self._check("fsync", fd)
        os.fsync(fd)

    def fdatasync(self, fd: int) -> None:
        self._check("fdatasync", fd)
        _fdatasync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        self._check("ftruncate", fd)
        os.ftruncate(fd, size)

    def replace(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        self._check("replace", path=os.fspath(src))
        os.replace(src, dst)

    def close(self, fd: int) -> None:
        path = self.path_of(fd)
        with self._lock:
            self._paths.pop(fd, None)
        try:
            self._check("close", path=path)
        finally:
            os.close(fd)  # Linux releases the descriptor even when close reports an error
