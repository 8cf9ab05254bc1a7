"""The command-line security options shared by ``streamscope inspect`` and ``streamscope sim``.

Contract: :func:`add_security_options` adds ``--security-protocol`` (PLAINTEXT, SSL,
SASL_PLAINTEXT, SASL_SSL; default PLAINTEXT), ``--sasl-mechanism`` (PLAIN, SCRAM-SHA-256,
SCRAM-SHA-512), ``--username``, ``--password-env VAR`` and ``--ca-file FILE`` to a parser;
:func:`settings_from_args` turns them and a bootstrap address into an
:class:`~.external.ExternalSettings`. A SASL password is read from the environment
variable named by ``--password-env`` or else asked for on the terminal (``getpass``); it
is never taken on the command line, where other users could read it from the process
list. A bad combination (SASL without a mechanism or a username, a CA file without SSL,
an unset variable) is ``parser.error`` (exit 2 with argparse's message).

No client library is imported here: the settings are plain data.
"""

from __future__ import annotations

import argparse
import getpass
import os

from streamscope.core.monitor.external import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    ExternalSettings,
)

__all__ = ["add_security_options", "settings_from_args"]


def add_security_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security (as the cluster's connection profiles)")
    g.add_argument("--security-protocol", default="PLAINTEXT", choices=SECURITY_PROTOCOLS,
                   type=str.upper)
    g.add_argument("--sasl-mechanism", choices=SASL_MECHANISMS, type=str.upper)
    g.add_argument("--username")
    g.add_argument("--password-env", metavar="VAR",
                   help="environment variable holding the password (else it is asked)")
    g.add_argument("--ca-file", help="CA certificate(s) to trust, PEM")


def settings_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace,
                       bootstrap: str) -> ExternalSettings:
    """The connection the security options describe (asks for a SASL password if needed)."""
    password = None
    if args.security_protocol.startswith("SASL_"):
        if args.password_env:
            password = os.environ.get(args.password_env)
            if password is None:
                parser.error(f"environment variable {args.password_env} is not set")
        else:
            password = getpass.getpass(f"password for {args.username}: ")
    try:
        return ExternalSettings(
            bootstrap=bootstrap, security_protocol=args.security_protocol,
            sasl_mechanism=args.sasl_mechanism, username=args.username, password=password,
            ca_file=args.ca_file)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # pragma: no cover - parser.error exits
