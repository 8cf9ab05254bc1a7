"""The command line of authentication: ``streamscope users ...`` and the broker's options.

:func:`add_broker_options` / :func:`broker_config` give ``streamscope broker``
``--sasl-mechanisms LIST`` (comma separated, of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and
``--tls-cert FILE [--tls-key FILE]`` (the key may sit in the certificate file). The
certificate and key are loaded once at start-up, so a bad file is one error line, not a
failing listener; PLAIN without TLS is allowed (a lab on loopback) but logged as a
warning (PLAIN sends the password as it is), and so is SASL with no users yet.

``streamscope users add|list|remove`` manages the broker's SASL users from a shell.

Usage::

    streamscope users add NAME [--password-stdin] [--data-dir DIR]
    streamscope users list [--data-dir DIR]
    streamscope users remove NAME [--data-dir DIR]

Contract:

* Works on ``<data_dir>/users.json`` (:class:`core.auth.users.UserStore`; the data dir
  defaults to the broker's, :func:`core.config.default_data_dir`), whether or not a
  broker is running: a running broker picks the change up at its next authentication.
* ``add`` asks for the password twice with ``getpass`` (no echo), or reads one line from
  stdin with ``--password-stdin`` (for scripts; the trailing newline is dropped). An
  existing user gets the new password. The password is never printed or logged.
* ``list`` prints one line per user: the name and its mechanisms (``PLAIN`` is checked
  against the SCRAM-SHA-256 hash, so every user can use all three); nothing else.
* ``remove`` of an unknown user prints ``streamscope: no user NAME`` and exits 1.
* Errors (bad name, empty password, unreadable users file) print one ``streamscope: ...``
  line and exit 1; bad arguments exit 2 with argparse's message.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from streamscope.core.auth.sasl import SASL_MECHANISMS
from streamscope.core.auth.tls import TlsError, tls_context
from streamscope.core.auth.users import FILE_NAME, UserStore, UserStoreError
from streamscope.core.config import BrokerConfig

__all__ = ["add_broker_options", "broker_config", "main"]

log = logging.getLogger("streamscope")


def _mechanisms(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().upper() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SASL_MECHANISMS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown SASL mechanism {', '.join(unknown) or '(none)'}; choose from"
            f" {','.join(SASL_MECHANISMS)}")
    return names


def add_broker_options(p: argparse.ArgumentParser) -> None:
    """``--sasl-mechanisms``, ``--tls-cert`` and ``--tls-key`` on the broker's parser."""
    p.add_argument("--sasl-mechanisms", type=_mechanisms, default=(), metavar="LIST",
                   help="require SASL authentication with these mechanisms, comma separated"
                        f" (of {','.join(SASL_MECHANISMS)}); users: streamscope users add")
    p.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                   help="PEM certificate (chain): the listener speaks TLS (SSL, or SASL_SSL"
                        " with --sasl-mechanisms)")
    p.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                   help="PEM private key of --tls-cert (default: in the certificate file)")


def broker_config(config: BrokerConfig, args: argparse.Namespace) -> BrokerConfig:
    """``config`` with the auth options applied and checked; ValueError says what is wrong."""
    if args.tls_key is not None and args.tls_cert is None:
        raise ValueError("--tls-key needs --tls-cert")
    config = dataclasses.replace(config, sasl_mechanisms=tuple(args.sasl_mechanisms),
                                 tls_cert=args.tls_cert, tls_key=args.tls_key)
    try:
        tls_context(config)
    except TlsError as exc:
        raise ValueError(str(exc)) from None
    protocol = {(False, False): "PLAINTEXT", (False, True): "SSL",
                (True, False): "SASL_PLAINTEXT", (True, True): "SASL_SSL"}[
        (bool(config.sasl_mechanisms), config.tls_cert is not None)]
    if protocol != "PLAINTEXT":
        log.info("clients connect with security.protocol=%s%s", protocol,
                 f" (SASL: {','.join(config.sasl_mechanisms)})" if config.sasl_mechanisms
                 else "")
    if "PLAIN" in config.sasl_mechanisms and config.tls_cert is None:
        log.warning("SASL/PLAIN on a plaintext listener sends passwords unencrypted;"
                    " use --tls-cert, or SCRAM only")
    if config.sasl_mechanisms:
        try:
            users = UserStore(Path(config.data_dir) / FILE_NAME).list()
        except UserStoreError as exc:
            raise ValueError(str(exc)) from None
        if not users:
            log.warning("SASL is on but there are no users yet: add one with"
                        " `streamscope users add NAME --data-dir %s`", config.data_dir)
    return config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streamscope users",
        description="Manage the users who may connect to a broker with SASL (PLAIN,"
                    " SCRAM-SHA-256, SCRAM-SHA-512). Passwords are stored salted and"
                    f" hashed in DATA_DIR/{FILE_NAME}, never in the clear.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="the broker's data dir (default: the user data dir)")
    sub = p.add_subparsers(dest="action", required=True, metavar="add|list|remove")
    add = sub.add_parser("add", parents=[common], help="add a user or set a new password")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin (no prompt)")
    sub.add_parser("list", parents=[common], help="list users and their mechanisms")
    remove = sub.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("name", metavar="NAME")
    return p


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the passwords do not match")
    return first


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.data_dir is None:
        from streamscope.core.config import default_data_dir

        data_dir = default_data_dir()
    else:
        data_dir = args.data_dir
    try:
        store = UserStore(data_dir / FILE_NAME)
        if args.action == "add":
            exists = args.name in store
            store.add(args.name, _password(args.password_stdin))
            print(f"{'updated' if exists else 'added'} user {args.name}")
        elif args.action == "list":
            for user in store.list():
                print(f"{user.name}\tPLAIN,{','.join(user.mechanisms)}")
        else:
            if not store.remove(args.name):
                print(f"streamscope: no user {args.name}", file=sys.stderr)
                return 1
            print(f"removed user {args.name}")
    except (UserStoreError, ValueError) as exc:
        print(f"streamscope: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("streamscope: no password given", file=sys.stderr)
        return 1
    return 0
