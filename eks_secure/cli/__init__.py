"""The ``eks-secure`` command: one module per verb, all pure Python (no aws_cdk, no jsii).

Usage: ``eks-secure [--version] VERB [options]``; ``eks-secure VERB --help`` describes a verb.

Exit codes, the same for every verb (constants in :mod:`eks_secure.cli._common`):

- ``0``: success (``allowlist --diff``: no change);
- ``1``: findings: problems found, changes to apply, or nothing to print (each verb's ``--help``
  says which);
- ``2``: usage error, or an input file that is missing, unreadable or malformed (the message
  names the file or field and the fix; never a stack trace);
- ``3``: internal error, a bug (``EKS_SECURE_DEBUG=1`` shows the stack trace).

Adding a verb
-------------
1. Write ``eks_secure/cli/<verb>.py`` (module name = verb name, ``-`` as ``_``) defining
   ``VERB = Verb(name=..., summary=..., description=..., configure=..., run=..., findings=...)``
   (:class:`eks_secure.cli._common.Verb`). ``configure(parser)`` adds the arguments; ``run(args)``
   returns an exit code. Write ``summary``/``description`` as plain text: they are printed as
   they are, so no reStructuredText markup, and help strings escape ``%`` as ``%%``.
2. Add the module name to :data:`VERBS` below: that is the one registration line.
3. Keep the module importable without the CDK: import anything heavy inside ``run``.
   Tabular output takes ``--format table|json|csv`` (``_common.add_format_argument`` and the
   ``to_table``/``to_csv``/``to_json`` helpers). Bad input raises
   :class:`eks_secure.errors.ConfigError` naming the file or field and the fix; :func:`main`
   prints it and exits with 2. Raise :class:`eks_secure.cli._common.UsageError` for options
   that parse but do not fit together.
4. Document the verb in ``docs/cli.md`` (a ``## eks-secure <verb>`` section).
   ``tests/test_cli.py`` checks every registered verb: plain ``--help``, no CDK import, a
   section in ``docs/cli.md``, and that every verb module is registered.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from eks_secure.cli._common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    Verb,
    help_formatter,
)
from eks_secure.errors import ConfigError, ConfigErrors

VERBS: tuple[str, ...] = (
    "init",
    "validate",
    "plan",
    "diagram",
    "allowlist",
    "preflight",
    "mirror",
    "advise",
)
"""Registered verb modules of this package, in the order ``--help`` lists them."""

PROG = "eks-secure"

DESCRIPTION = """\
Tools for the platform team and the network team around an eks-secure deployment: starter
configs, validation, the address plan and its diagram, firewall allow-lists and change
requests, the offline preflight, the images to mirror, and egress pattern advice. No verb
needs AWS credentials or the CDK."""


def version() -> str:
    """The installed eks-secure distribution's version (``unknown`` when not installed)."""
    try:
        return metadata.version("eks-secure")
    except metadata.PackageNotFoundError:
        return "unknown"


def verbs() -> tuple[Verb, ...]:
    """The registered verbs, imported from their modules."""
    loaded = []
    for name in VERBS:
        module = importlib.import_module(f"{__name__}.{name}")
        verb = getattr(module, "VERB", None)
        if not isinstance(verb, Verb):
            raise TypeError(f"{module.__name__} defines no VERB = Verb(...)")
        loaded.append(verb)
    return tuple(loaded)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command and all its verbs."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=help_formatter,
        epilog=f"Run '{PROG} VERB --help' for a verb's options, examples and exit codes.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    commands = parser.add_subparsers(title="verbs", dest="verb", metavar="VERB", required=True)
    for verb in verbs():
        sub = commands.add_parser(
            verb.name,
            help=verb.summary,
            description=verb.description,
            epilog=verb.epilog(),
            formatter_class=help_formatter,
        )
        verb.configure(sub)
        sub.set_defaults(run=verb.run)
    return parser


def _print_error(verb: str, exc: ConfigError) -> None:
    """A field-named error as ``eks-secure VERB: FIELD: PROBLEM`` plus its fix."""
    errors = exc.errors if isinstance(exc, ConfigErrors) else (exc,)
    for error in errors:
        print(f"{PROG} {verb}: {error.field}: {error.problem}", file=sys.stderr)
        print(f"  fix: {error.fix}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (never raises)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version (0), usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        _print_error(args.verb, exc)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"{PROG} {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader (`head` and the like) closed the pipe: stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line; the trace only on request
        if os.environ.get("EKS_SECURE_DEBUG", "0") not in ("", "0", "false"):
            raise
        print(
            f"{PROG} {args.verb}: internal error: {type(exc).__name__}: {exc}\n"
            "(a bug: set EKS_SECURE_DEBUG=1 for the stack trace)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code
