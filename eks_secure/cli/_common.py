"""What every verb of the ``eks-secure`` command shares: the verb record, exit codes, errors,
output formats, file reading and writing. Pure Python: nothing here may import aws_cdk or jsii."""

from __future__ import annotations

import argparse
import csv
import io
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eks_secure.errors import ConfigError

EXIT_OK = 0
"""Success; for ``allowlist --diff``: the two allow-lists are the same."""
EXIT_FINDINGS = 1
"""The command ran and found something: problems, changes, or nothing to print."""
EXIT_USAGE = 2
"""Bad command line, or an input file that is missing, unreadable or malformed."""
EXIT_INTERNAL = 3
"""An unexpected internal error (a bug); ``EKS_SECURE_DEBUG=1`` shows the stack trace."""

HELP_WIDTH = 88
"""Width the epilog text is wrapped to (argparse keeps it as written)."""

EXIT_CODES_HELP = """\
exit codes:
  0  success
{findings}
  2  usage error, or an input file that is missing, unreadable or malformed
  3  internal error (a bug; set EKS_SECURE_DEBUG=1 for the stack trace)"""
"""Epilog template of every verb; ``{findings}`` is the line saying what exit code 1 means."""


class UsageError(Exception):
    """A command line that parses but makes no sense (exit code 2)."""


@dataclass(frozen=True)
class Verb:
    """One ``eks-secure`` verb: what ``--help`` shows and what runs.

    ``summary`` is one line for the verb list; ``description`` and ``epilog`` are plain text
    (no reStructuredText, no ``%`` placeholders) shown as written by ``eks-secure VERB --help``.
    """

    name: str
    summary: str
    description: str
    configure: Callable[[argparse.ArgumentParser], None]
    """Adds the verb's arguments to its parser."""
    run: Callable[[argparse.Namespace], int]
    """Runs the verb and returns its exit code."""
    findings: str
    """What exit code 1 means for this verb (shown under "exit codes")."""
    examples: tuple[str, ...] = ()
    """Command lines shown under "examples"."""

    def epilog(self) -> str:
        """Examples and exit codes, as shown at the end of ``--help``."""
        parts = []
        if self.examples:
            parts.append("examples:\n" + "\n".join(f"  {e}" for e in self.examples))
        findings = textwrap.fill(
            f"  1  findings: {self.findings}",
            width=HELP_WIDTH,
            subsequent_indent=" " * 5,
            break_on_hyphens=False,
        )
        parts.append(EXIT_CODES_HELP.format(findings=findings))
        return "\n\n".join(parts)


def add_format_argument(
    parser: argparse.ArgumentParser, choices: Sequence[str], default: str | None
) -> None:
    """The conventional ``--format`` option (``-f``) with the given choices."""
    shown = f" (default: {default})" if default else ""
    parser.add_argument(
        "-f",
        "--format",
        choices=choices,
        default=default,
        metavar="FORMAT",
        help=f"output format: {', '.join(choices)}{shown}",
    )


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs printed as written (paragraphs kept); verb names in the verb
    list get their summary on the same line."""

    def add_argument(self, action: argparse.Action) -> None:
        """Make room for the verb names: argparse measures them one indent short."""
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction) and action.help is not argparse.SUPPRESS:
            self._action_max_length += self._indent_increment


def help_formatter(prog: str) -> argparse.HelpFormatter:
    """The help formatter of the command and every verb (wide option column)."""
    return HelpFormatter(prog, max_help_position=32)


def escape_help(text: str) -> str:
    """``text`` made safe for an argparse help string (argparse formats it with ``%``)."""
    return text.replace("%", "%%")


@dataclass(frozen=True)
class Column:
    """A column of tabular output: the row key and its table header."""

    key: str
    header: str


def to_table(rows: Sequence[Mapping[str, object]], columns: Sequence[Column]) -> str:
    """Rows as an aligned plain-text table with an upper-case header line."""
    lines = [[c.header for c in columns]]
    lines += [[str(row[c.key]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def to_csv(rows: Sequence[Mapping[str, object]], columns: Sequence[Column]) -> str:
    """Rows as CSV with a header line of the column keys."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    writer.writerows([[row[c.key] for c in columns] for row in rows])
    return buffer.getvalue()


def to_json(document: object) -> str:
    """A JSON document, indented, keys in a stable order, with a final newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to the ``-o`` file ``path``; a path that cannot be written raises a
    :class:`~eks_secure.errors.ConfigError` naming it (exit code 2)."""
    parent = path.parent
    if path.is_dir():
        raise ConfigError(
            str(path), "is a directory", f"name the file to write, e.g. -o {path / 'FILE'}"
        )
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            f"cannot be written: the directory {parent} does not exist",
            f"create it first (mkdir -p {parent}) or pass another -o path",
        ) from None
    except NotADirectoryError:
        raise ConfigError(
            str(path),
            f"cannot be written: {parent} is not a directory",
            "pass an -o path inside an existing directory",
        ) from None
    except PermissionError:
        raise ConfigError(
            str(path),
            "cannot be written: permission denied",
            f"pass an -o path you can write to, or fix the permissions of {parent}",
        ) from None
    except OSError as exc:
        raise ConfigError(
            str(path),
            f"cannot be written ({exc.strerror or exc})",
            "pass another -o path",
        ) from None
