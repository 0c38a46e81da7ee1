"""``eks-secure init``: write a commented starter config for a pattern."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eks_secure.cli._common import EXIT_FINDINGS, EXIT_OK, Verb, write_output

DESCRIPTION = """\
Write a commented starter config for an egress pattern, generated from the config model: the
required keys with placeholder values that validate, the pattern's own keys and one example
app, then every optional key commented out with its default. The first line points editors at
the config's JSON Schema (yaml-language-server), so they complete and check keys as you type.
Without --output the config is printed."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``init``."""
    from eks_secure.egress.registry import pattern_names

    parser.add_argument(
        "--pattern", required=True, choices=pattern_names(), help="the egress pattern"
    )
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: print it)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument(
        "--schema", help="schema reference for the editor comment (default: the installed file)"
    )


def run(args: argparse.Namespace) -> int:
    """Print or write the starter; exit 1 when the file exists and --force is not given."""
    from eks_secure.config.starter import render_starter

    text = render_starter(args.pattern, schema=args.schema)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if args.output.exists() and not args.output.is_dir() and not args.force:
        print(f"eks-secure init: {args.output} exists; pass --force to overwrite", file=sys.stderr)
        return EXIT_FINDINGS
    write_output(args.output, text)
    print(f"wrote {args.output}; next: eks-secure validate {args.output}", file=sys.stderr)
    return EXIT_OK


VERB = Verb(
    name="init",
    summary="write a commented starter config for a pattern (schema comment included)",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="the output file exists (use --force)",
    examples=(
        "eks-secure init --pattern private-nat -o payments.yaml",
        "eks-secure init --pattern subnet-per-app",
    ),
)
