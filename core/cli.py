"""The headless commands of ``streamscope``: ``streamscope broker`` and ``streamscope sim``.

Usage (``streamscope broker ...`` from the app's entry point :mod:`desktop.main`, which
hands core commands here; or ``python -m core.cli broker ...``, as the benchmarks do)::

    streamscope broker [--listen HOST:PORT] [--advertised-listener HOST:PORT]
                       [--data-dir DIR] [--fsync always|interval]
                       [--auto-create-topics true|false] [--default-partitions N]
                       [--max-connections N] [--max-connections-per-ip N]
                       [--[no-]tune-allocator] [--no-activity-feed]
                       [--sasl-mechanisms PLAIN,SCRAM-SHA-256,SCRAM-SHA-512]
                       [--tls-cert FILE [--tls-key FILE]]
    streamscope sim --bootstrap HOST:PORT --partners N --rate R [--seconds S] [--topic T]
                    [--partitions P] [--seed X] [--connect-timeout S]
    streamscope sim --bootstrap HOST:PORT --consumers APP:GROUP:N [--consumers ...]
                    [--partners N --rate R] [--seconds S] [--topic T] [...]
                    (both take inspect's --security-protocol ... --ca-file options)
    streamscope lesson NAME --check [--data-dir DIR] [--speed X] | --list
                    (its contract: core/lessons/cli.py)
    streamscope users add NAME [--password-stdin] | list | remove NAME [--data-dir DIR]
                    (its contract, and --sasl-mechanisms/--tls-*: core/auth/cli.py)
    streamscope inspect [--bootstrap HOST:PORT] [--group G] [--json] [--security-protocol P]
                    [--sasl-mechanism M] [--username U] [--password-env VAR] [--ca-file F]
                    (its contract: core/monitor/inspect_cli.py)
    streamscope clone --bootstrap HOST:PORT --to HOST:PORT [--topic T ...] [--records N]
                    [the security options of inspect] (its contract: core/monitor/clone_cli.py)
    python -m core.cli --help | --version

Contract of ``streamscope broker``:

* Runs a :class:`core.node.Node` (broker, group coordinator, server) on one asyncio
  loop (uvloop when importable). Defaults: ``127.0.0.1:9092``, the user data dir
  (:func:`core.config.default_data_dir`), interval fsync, topic auto-creation on, 1
  partition per auto-created topic. ``--listen`` is read by :func:`listen_address` for the
  app and the broker alike (an empty host means loopback).
* ``--advertised-listener HOST:PORT`` is what Metadata, FindCoordinator and
  DescribeCluster tell clients to connect to (``BrokerConfig.advertised_host`` /
  ``advertised_port``); by default the bound address, and 127.0.0.1 for a wildcard bind.
  A non-loopback ``--listen`` logs a warning (anyone on the network may connect, without
  authentication unless SASL is on); a wildcard one without ``--advertised-listener``
  warns that remote clients will be sent to 127.0.0.1 and how to fix it (both from
  :func:`core.server.listen_warnings`).
* ``--max-connections N`` (default 1000) and ``--max-connections-per-ip N`` (default
  300) set Kafka's ``max.connections`` / ``max.connections.per.ip``: connections past
  them are closed at once and counted (the other limits: ``core.config``).
* The process's open-file limit (RLIMIT_NOFILE) is raised to its hard limit at start:
  each connection and each open segment file is a descriptor, and the usual soft limit
  of 1024 is below the default connection limit.
* ``--tune-allocator`` (default on; ``--no-tune-allocator`` turns it off) tunes glibc's
  allocator for the whole process (:func:`core.server.tune_allocator`) before the broker
  starts: a process-wide side effect, so it belongs here, not in the library.
* ``--no-activity-feed`` runs without the monitor's activity feed (sampled appends,
  commits, read positions), to measure what the feed costs; it is on by default.
* When the listener is bound it logs one line ``listening on HOST:PORT`` to stderr (the
  bound address, with the real port when ``--listen`` asks for port 0), and
  ``advertising HOST:PORT`` when that differs.
* SIGINT or SIGTERM shuts down cleanly: the listener stops accepting, requests in flight
  are answered (bounded wait), logs are flushed and closed, the data-dir lock released,
  exit code 0. A second signal during shutdown exits at once with code 130.
* A port in use prints ``streamscope: cannot listen on HOST:PORT: address already in use``
  and exits 1; a data dir held by another broker (or unusable) prints one
  ``streamscope: ...`` line and exits 1. No traceback for either.
* Bad arguments exit 2 with argparse's message.

Contract of ``streamscope sim`` (the engine is :mod:`core.sim.remote`):

* Drives N delivery partners at R updates per second each against any Kafka-compatible
  broker through confluent-kafka (Kafka's default partitioner, key = partner id), creating
  the topic (``--partitions``, default 6; topic ``deliveries`` by default) if missing.
  Runs ``--seconds`` seconds, or until Ctrl-C.
* About once a second a progress line ``sent N acked N rate X/s errors N`` on stderr; at
  the end a ``summary: sent N acked N errors N in S s, X updates/s (target Y/s)`` line and
  a ``per partition: P=N ...`` line on stderr.
* Exit 0 when every update sent was acknowledged (Ctrl-C included); 1 on delivery errors,
  or when the broker gives no answer within ``--connect-timeout`` seconds (default 10),
  with one ``streamscope: cannot reach broker ...`` line.
* ``--consumers APP:GROUP:N`` (repeatable; APP one of map, analytics, notifications,
  counter) runs consumer apps instead, or beside the partners when ``--partners`` and
  ``--rate`` are given too (engine: :mod:`core.sim.remote_consumers`): each app is group
  GROUP of N confluent-kafka consumers feeding the app's model. Once a second one progress
  line ``partners: ... | APP/GROUP: consumed N rate X/s dup N lost N lag N | ...``; at the
  end the partners' summary lines (as above) and per app ``app APP/GROUP (N consumers):
  consumed N unique N duplicates N lost N lag N in S s, X updates/s; ...``. With partners
  and ``--seconds`` the apps keep reading after the partners' last update until each is
  caught up (at most 30 s more). Ctrl-C stops: consumers commit and leave their groups.
  Exit 0 unless delivery errors, a consumer failed, or an app did not catch up.
* The security options are ``streamscope inspect``'s (:mod:`core.monitor.security_options`):
  ``--security-protocol``, ``--sasl-mechanism``, ``--username``, ``--password-env``,
  ``--ca-file``, so the partners and apps reach SSL and SASL clusters too.

This module knows nothing of the desktop app (``core`` never imports ``desktop``, not even
by name): ``streamscope`` without a core command is :mod:`desktop.main`'s to dispatch.
What the app and the broker share lives here: :func:`listen_address` (the one HOST:PORT
parser), :func:`add_tune_allocator_option`, :func:`add_advertised_listener_option`,
:func:`raise_open_file_limit` and :func:`version`.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("streamscope")

_BROKER_COMMAND = "broker"
_SIM_COMMAND = "sim"
_LESSON_COMMAND = "lesson"  # core/lessons/cli.py
_USERS_COMMAND = "users"  # core/auth/cli.py
_INSPECT_COMMAND = "inspect"  # core/monitor/inspect_cli.py
_CLONE_COMMAND = "clone"  # core/monitor/clone_cli.py
# what the app's entry point hands to main() below
COMMANDS = (_BROKER_COMMAND, _SIM_COMMAND, _LESSON_COMMAND, _USERS_COMMAND, _INSPECT_COMMAND,
            _CLONE_COMMAND)
LOOPBACK = "127.0.0.1"
_USAGE = """usage: streamscope broker [options]   (streamscope broker -h lists them)
       streamscope sim --bootstrap HOST:PORT --partners N --rate R [options]
       streamscope sim --bootstrap HOST:PORT --consumers APP:GROUP:N [...] [options]
       streamscope lesson NAME --check [--data-dir DIR] [--speed X] | --list
       streamscope users add NAME [--password-stdin] | list | remove NAME [--data-dir DIR]
       streamscope inspect [--bootstrap HOST:PORT] [--group G] [--json] [security options]
       streamscope clone --bootstrap HOST:PORT --to HOST:PORT [--topic T ...] [--records N]
                         [security options]
       streamscope --version"""


class CliError(Exception):
    """A startup failure reported as one line on stderr, exit code 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """A core command line (``broker ...``); exit code 2 for anything else."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == _BROKER_COMMAND:
        return _broker_main(args[1:])
    if args and args[0] == _SIM_COMMAND:
        return _sim_main(args[1:])
    if args and args[0] == _LESSON_COMMAND:
        from streamscope.core.lessons.cli import main as lesson_main

        return lesson_main(args[1:])
    if args and args[0] == _USERS_COMMAND:
        from streamscope.core.auth.cli import main as users_main

        return users_main(args[1:])
    if args and args[0] == _INSPECT_COMMAND:
        from streamscope.core.monitor.inspect_cli import main as inspect_main

        return inspect_main(args[1:])
    if args and args[0] == _CLONE_COMMAND:
        from streamscope.core.monitor.clone_cli import main as clone_main

        return clone_main(args[1:])
    if args and args[0] in ("--version", "-V"):
        print(f"streamscope {version()}")
        return 0
    if args and args[0] in ("-h", "--help"):
        print(_USAGE)
        return 0
    if args:
        print(f"streamscope: unknown command {args[0]!r}", file=sys.stderr)
    print(_USAGE, file=sys.stderr)
    return 2


# --- shared by the app and the broker ----------------------------------------------------


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


def add_advertised_listener_option(p: argparse.ArgumentParser) -> None:
    """``--advertised-listener HOST:PORT`` (``args.advertised_listener``: (host, port) or
    None), the same for the app and the broker; it goes to ``BrokerConfig.advertised_host``
    and ``advertised_port``."""
    p.add_argument("--advertised-listener", type=_advertised, default=None,
                   metavar="HOST:PORT",
                   help="the address clients are told to connect to (Metadata,"
                        " FindCoordinator); default: the listen address (127.0.0.1 when"
                        " listening on 0.0.0.0). Give the LAN address when clients on other"
                        " machines connect")


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; the limit now (or -1
    where there is none to raise, e.g. Windows). Process-wide: entry points call it."""
    try:
        import resource
    except ImportError:
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


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


def _limit(text: str) -> tuple[str, int]:
    """``NAME=N`` of ``--limit``: a name of :data:`core.config.LIMITS` (dashes, dots or
    underscores) and a whole number of at least 1."""
    from streamscope.core.config import LIMITS

    name, sep, value = text.partition("=")
    field_name = name.strip().replace("-", "_").replace(".", "_")
    if not sep or field_name not in LIMITS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=N with NAME one of "
            + ", ".join(n.replace("_", "-") for n in LIMITS))
    return field_name, _positive(value.strip())


def _broker_parser() -> argparse.ArgumentParser:
    from streamscope.core.config import DEFAULT_PORT, LIMITS

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
    add_advertised_listener_option(p)
    p.add_argument("--max-connections", type=_positive, default=None, metavar="N",
                   help="connections accepted at once; more are closed and counted"
                        " (default 1000)")
    p.add_argument("--max-connections-per-ip", type=_positive, default=None, metavar="N",
                   help="connections accepted at once from one client address"
                        " (default 300)")
    p.add_argument("--limit", type=_limit, action="append", default=[], metavar="NAME=N",
                   help="set one of the broker's limits, repeatable; NAME is one of "
                        + ", ".join(n.replace("_", "-") for n in LIMITS)
                        + " (defaults and meaning: README, Security and limits)")
    p.add_argument("--log-cleaner-backoff-ms", type=_positive, default=None, metavar="MS",
                   help="how often the log cleaner looks for compacted logs to clean"
                        " (default 15000)")
    p.add_argument("--log-cleaner-io-max-bytes-per-second", type=_positive, default=None,
                   metavar="N", help="the log cleaner's I/O bound, bytes read plus written"
                                     " per second (default 16 MiB)")
    p.add_argument("--no-activity-feed", action="store_true",
                   help="run without the monitor's activity feed (to measure its cost)")
    add_tune_allocator_option(p)
    from streamscope.core.auth.cli import add_broker_options

    add_broker_options(p)
    return p


def _broker_main(argv: list[str]) -> int:
    from streamscope.core.config import BrokerConfig, default_data_dir

    args = _broker_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.tune_allocator:
        from streamscope.core.server import tune_allocator

        tune_allocator()
    raise_open_file_limit()
    host, port = args.listen
    limits: dict[str, int] = dict(args.limit)
    if args.max_connections is not None:
        limits["max_connections"] = args.max_connections
    if args.max_connections_per_ip is not None:
        limits["max_connections_per_ip"] = args.max_connections_per_ip
    advertised_host, advertised_port = args.advertised_listener or (None, None)
    cleaner: dict[str, int] = {}
    if args.log_cleaner_backoff_ms is not None:
        cleaner["cleaner_interval_ms"] = args.log_cleaner_backoff_ms
    if args.log_cleaner_io_max_bytes_per_second is not None:
        cleaner["cleaner_io_bytes_per_sec"] = args.log_cleaner_io_max_bytes_per_second
    config = BrokerConfig(
        host=host, port=port, data_dir=args.data_dir or default_data_dir(), fsync=args.fsync,
        auto_create_topics=args.auto_create_topics, default_partitions=args.default_partitions,
        activity_feed=not args.no_activity_feed, advertised_host=advertised_host,
        advertised_port=advertised_port, **limits, **cleaner,
    )
    from streamscope.core.auth.cli import broker_config

    try:
        config = broker_config(config, args)
    except ValueError as exc:
        print(f"streamscope: {exc}", file=sys.stderr)
        return 1
    try:
        _run(_serve(config))
    except CliError as exc:
        print(f"streamscope: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(coro) -> None:
    from streamscope.core.runtime import new_event_loop

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(coro)


async def _serve(config) -> None:
    from streamscope.core.node import Node

    node = Node(config, serve=False)
    try:
        await node.start()
    except RuntimeError as exc:  # the data-dir lock is held by another broker
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot use data dir {config.data_dir}: {exc.strerror or exc}") from None
    try:
        server = await node.serve()
    except OSError as exc:
        await node.close()
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
    bound_host, bound_port = server.bound_address or (config.host, server.port)
    log.info("listening on %s", _fmt(bound_host, bound_port))
    if (server.host, server.port) != (bound_host, bound_port):
        log.info("advertising %s", _fmt(server.host, server.port))
    try:
        await stop.wait()
    finally:
        await node.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("stopped")


# --- streamscope sim ----------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return x


def _advertised(text: str) -> tuple[str, int]:
    host, port = listen_address(text)
    if port == 0 or host in ("0.0.0.0", "::"):
        raise argparse.ArgumentTypeError(
            f"an advertised listener needs a real host and port, got {text!r}")
    return host, port


def _bootstrap(text: str) -> str:
    host, port = listen_address(text)
    if port == 0:
        raise argparse.ArgumentTypeError("the bootstrap port cannot be 0")
    return _fmt(host, port)


def _sim_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streamscope sim",
        description="Drive the delivery partners and/or the consumer apps against a"
                    " Kafka-compatible broker through a real client (confluent-kafka).",
    )
    p.add_argument("--bootstrap", type=_bootstrap, required=True, metavar="HOST:PORT",
                   help="the broker to send to (this one or any Kafka cluster)")
    p.add_argument("--partners", type=_positive, default=None, metavar="N",
                   help="number of delivery partners")
    p.add_argument("--rate", type=_positive_float, default=None, metavar="R",
                   help="location updates per second per partner")
    p.add_argument("--consumers", type=_app_spec, action="append", default=[],
                   metavar="APP:GROUP:N",
                   help="run consumer app APP (map, analytics, notifications, counter) as"
                        " N consumers of group GROUP (repeatable)")
    p.add_argument("--seconds", type=_positive_float, default=None, metavar="S",
                   help="run this long (default: until Ctrl-C)")
    p.add_argument("--topic", default="deliveries", metavar="T",
                   help="topic to send to and read from (default deliveries)")
    p.add_argument("--partitions", type=_positive, default=6, metavar="P",
                   help="partitions when the topic has to be created (default 6)")
    p.add_argument("--seed", type=int, default=1, metavar="X",
                   help="seed of the city and the partners' drives (default 1)")
    p.add_argument("--connect-timeout", type=_positive_float, default=10.0, metavar="S",
                   help="how long to wait for the broker's first answer (default 10)")
    from streamscope.core.monitor.security_options import add_security_options

    add_security_options(p)
    return p


def _sim_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> object:
    """The cluster's security settings, or None for plain PLAINTEXT to ``--bootstrap``."""
    from streamscope.core.monitor.security_options import settings_from_args

    if (args.security_protocol == "PLAINTEXT" and args.sasl_mechanism is None
            and args.username is None and args.ca_file is None):
        return None
    return settings_from_args(parser, args, args.bootstrap)


def _app_spec(text: str) -> object:
    from streamscope.core.sim.remote_consumers import parse_app_spec

    try:
        return parse_app_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _sim_main(argv: list[str]) -> int:
    from streamscope.core.sim.remote import BrokerUnreachable, RemoteSimOptions, run_remote

    parser = _sim_parser()
    args = parser.parse_args(argv)
    if (args.partners is None) != (args.rate is None):
        parser.error("--partners and --rate go together")
    if args.partners is None and not args.consumers:
        parser.error("nothing to run: give --partners N --rate R and/or --consumers")
    settings = _sim_settings(parser, args)
    if args.consumers:
        return _sim_apps_main(args, settings)
    options = RemoteSimOptions(
        bootstrap=args.bootstrap, partners=args.partners, rate=args.rate,
        seconds=args.seconds, topic=args.topic, partitions=args.partitions, seed=args.seed,
        connect_timeout=args.connect_timeout, settings=settings,  # type: ignore[arg-type]
    )
    try:
        result = run_remote(options, sys.stderr)
    except BrokerUnreachable as exc:
        print(f"streamscope: cannot reach broker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the first update: nothing to summarise
        return 130
    except Exception as exc:  # e.g. the topic could not be created: one line, no traceback
        print(f"streamscope: sim failed: {exc}", file=sys.stderr)
        return 1
    print(result.summary(options.total_rate), file=sys.stderr, flush=True)
    return 0 if result.ok else 1


def _sim_apps_main(args: argparse.Namespace, settings: object) -> int:
    """``streamscope sim --consumers ...`` (with or without partners)."""
    from streamscope.core.sim.remote import BrokerUnreachable
    from streamscope.core.sim.remote_consumers import AppsOptions, run_apps

    options = AppsOptions(
        bootstrap=args.bootstrap, apps=tuple(args.consumers), topic=args.topic,
        partitions=args.partitions, seed=args.seed, seconds=args.seconds,
        connect_timeout=args.connect_timeout, partners=args.partners, rate=args.rate,
        settings=settings,  # type: ignore[arg-type]
    )
    try:
        result = run_apps(options, sys.stderr)
    except BrokerUnreachable as exc:
        print(f"streamscope: cannot reach broker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before anything ran: nothing to summarise
        return 130
    except Exception as exc:  # e.g. the topic could not be created: one line, no traceback
        print(f"streamscope: sim failed: {exc}", file=sys.stderr)
        return 1
    print(result.summary(), file=sys.stderr, flush=True)
    return 0 if result.ok else 1


def _fmt(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


if __name__ == "__main__":
    sys.exit(main())
