"""The ``streamscope`` command: the headless broker, or the desktop app.

Usage::

    streamscope broker [--listen HOST:PORT] [--data-dir DIR] [--fsync always|interval]
                       [--auto-create-topics true|false] [--default-partitions N]
                       [--[no-]tune-allocator]
    streamscope [--listen HOST:PORT] [--data-dir DIR] [--theme system|light|dark]
                [--screenshots DIR [--after SECONDS]] [--[no-]tune-allocator]  # the app
    streamscope --help | --version

Contract of ``streamscope broker``:

* Runs a :class:`core.broker.Broker` and its :class:`core.server.Server` on one asyncio
  loop (uvloop when importable). Defaults: ``127.0.0.1:9092``, the user data dir
  (:func:`core.config.default_data_dir`), interval fsync, topic auto-creation on, 1
  partition per auto-created topic. ``--listen`` is read by :func:`listen_address` for the
  app and the broker alike (an empty host means loopback).
* ``--tune-allocator`` (default on; ``--no-tune-allocator`` turns it off) tunes glibc's
  allocator for the whole process (:func:`core.server.tune_allocator`) before the broker
  starts: a process-wide side effect, so it belongs here, not in the library.
* When the listener is bound it logs one line ``listening on HOST:PORT`` to stderr (the
  real port when ``--listen`` asks for port 0).
* SIGINT or SIGTERM shuts down cleanly: the listener stops accepting, requests in flight
  are answered (bounded wait), logs are flushed and closed, the data-dir lock released,
  exit code 0. A second signal during shutdown exits at once with code 130.
* A port in use prints ``streamscope: cannot listen on HOST:PORT: address already in use``
  and exits 1; a data dir held by another broker (or unusable) prints one
  ``streamscope: ...`` line and exits 1. No traceback for either.
* Bad arguments exit 2 with argparse's message.

Without a subcommand (or with only GUI flags), the desktop app runs: it is imported by
name at run time, because ``core`` must never import ``desktop`` (import-linter contract).
The GUI's options are declared here, once (:func:`gui_parser`), and the desktop app
parses its arguments with that same parser, so ``streamscope --help`` lists exactly the
options the app accepts and prints without importing Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("streamscope")

_BROKER_COMMAND = "broker"
LOOPBACK = "127.0.0.1"


class CliError(Exception):
    """A startup failure reported as one line on stderr, exit code 1."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == _BROKER_COMMAND:
        return _broker_main(args[1:])
    if args and args[0] in ("--version", "-V"):
        print(f"streamscope {version()}")
        return 0
    if any(a in ("-h", "--help") for a in args):
        gui_parser().print_help()
        return 0
    if args and not args[0].startswith("-"):
        print(f"streamscope: unknown command {args[0]!r}", file=sys.stderr)
        gui_parser().print_usage(sys.stderr)
        return 2
    # The desktop app; a string import keeps core free of any static desktop dependency.
    app = importlib.import_module("desktop.app")
    result = app.main(args)
    return int(result or 0)


# --- the desktop app's options ---------------------------------------------------------

# The desktop's theme names (desktop.theme.THEME_NAMES; a test keeps the two equal).
GUI_THEMES = ("system", "light", "dark")

_GUI_EPILOG = """other commands:
  streamscope broker [options]   run the broker without a GUI (streamscope broker -h)
  streamscope --version          print the version

In the app, F1 explains the view you are looking at."""


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT``, ``:PORT`` or ``PORT`` -> (host, port).

    The one parser of ``--listen`` for both the app and ``streamscope broker``. A missing
    or empty host means loopback: listening on every interface is something to ask for by
    name (``0.0.0.0:9092``), never what a forgotten host silently gives.
    """
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = LOOPBACK, text
    host = host.strip("[]") or LOOPBACK
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {number}")
    return host, number


_TUNE_ALLOCATOR_HELP = (
    "keep freed buffers of up to 32 MiB in the process heap for reuse instead of handing "
    "each back to the OS (glibc mallopt; Linux only): far less CPU per request under load, "
    "same peak memory. It changes the whole process's allocator, hence an option "
    "(default on)")


def add_tune_allocator_option(p: argparse.ArgumentParser) -> None:
    """``--tune-allocator`` / ``--no-tune-allocator``, the same for the app and the broker."""
    p.add_argument("--tune-allocator", action=argparse.BooleanOptionalAction, default=True,
                   help=_TUNE_ALLOCATOR_HELP)


def gui_parser() -> argparse.ArgumentParser:
    """The desktop app's command line (``streamscope [options]``), parsed by desktop.app."""
    from core.config import DEFAULT_PORT

    p = argparse.ArgumentParser(
        prog="streamscope",
        description="Streamscope: a Kafka-compatible broker in a window that shows it\n"
        "working. With no command, the desktop app starts.",
        epilog=_GUI_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        type=listen_address,
        default=None,
        metavar="HOST:PORT",
        help=f"where the embedded broker listens (default 127.0.0.1:{DEFAULT_PORT}; port 0 "
        "picks a free one)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where topics and offsets are stored (default: the user data dir)",
    )
    p.add_argument(
        "--theme", choices=GUI_THEMES, default=None,
        help="colour theme (default: the last one chosen, else follow the system)",
    )
    p.add_argument(
        "--screenshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="run a demo workload on a throwaway data dir, save one 1280x720 PNG per "
        "view into DIR, then exit",
    )
    p.add_argument(
        "--after",
        type=float,
        default=8.0,
        metavar="SECONDS",
        help="with --screenshots: how long to let the app run first (default 8)",
    )
    add_tune_allocator_option(p)
    return p


def version() -> str:
    try:
        from importlib.metadata import version as package_version

        return package_version("streamscope")
    except Exception:  # not installed (running from a checkout)
        return "0.1.0"


# --- streamscope broker -------------------------------------------------------------


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _broker_parser() -> argparse.ArgumentParser:
    from core.config import DEFAULT_PORT

    p = argparse.ArgumentParser(
        prog="streamscope broker",
        description="Run the Kafka-compatible broker without the GUI.",
    )
    p.add_argument("--listen", type=listen_address, default=("127.0.0.1", DEFAULT_PORT),
                   metavar="HOST:PORT",
                   help=f"address to listen on (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks"
                        " a free port)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="where partition logs and metadata live (default: the user data dir)")
    p.add_argument("--fsync", choices=("always", "interval"), default="interval",
                   help="always: fsync before acknowledging; interval (default): fsync"
                        " every second")
    p.add_argument("--auto-create-topics", type=_bool, default=True, metavar="true|false",
                   help="create unknown topics on first use (default true)")
    p.add_argument("--default-partitions", type=_positive, default=1, metavar="N",
                   help="partitions of auto-created topics (default 1)")
    add_tune_allocator_option(p)
    return p


def _broker_main(argv: list[str]) -> int:
    from core.config import BrokerConfig, default_data_dir

    args = _broker_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.tune_allocator:
        from core.server import tune_allocator

        tune_allocator()
    host, port = args.listen
    config = BrokerConfig(
        host=host, port=port, data_dir=args.data_dir or default_data_dir(), fsync=args.fsync,
        auto_create_topics=args.auto_create_topics, default_partitions=args.default_partitions,
    )
    try:
        _run(_serve(config))
    except CliError as exc:
        print(f"streamscope: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(coro) -> None:
    from core.runtime import new_event_loop

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(coro)


async def _serve(config) -> None:
    from core.broker import Broker
    from core.server import Server

    broker = Broker(config)
    try:
        await broker.start()
    except RuntimeError as exc:  # the data-dir lock is held by another broker
        await broker.close()
        raise CliError(str(exc)) from None
    except OSError as exc:
        await broker.close()
        raise CliError(f"cannot use data dir {config.data_dir}: {exc.strerror or exc}") from None
    server = Server(broker)
    try:
        await server.start()
    except OSError as exc:
        await broker.close()
        why = "address already in use" if exc.errno == errno.EADDRINUSE else (
            (exc.strerror or str(exc)).lower())
        raise CliError(f"cannot listen on {_fmt(config.host, config.port)}: {why}") from None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            # Second signal while shutting down: the user wants out now.
            os._exit(130)
        log.info("%s received, shutting down", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    # The bound address with the real port (``--listen 127.0.0.1:0`` shows the port picked).
    log.info("listening on %s", _fmt(config.host, server.port))
    try:
        await stop.wait()
    finally:
        await server.close()
        await broker.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("stopped")


def _fmt(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


if __name__ == "__main__":
    sys.exit(main())
