"""``eks-secure`` command line.

``eks-secure allowlist [CDK_OUT] [--format table|json|csv]`` and
``eks-secure preflight [CDK_OUT] [--format text|json]`` (see :mod:`eks_secure.preflight`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eks_secure.egress.allowlist import read_assembly, to_csv, to_json, to_table


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="eks-secure", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    allowlist = commands.add_parser(
        "allowlist", help="print the firewall allow-list of a synthesized cloud assembly"
    )
    allowlist.add_argument("assembly", nargs="?", default="cdk.out", help="default: cdk.out")
    allowlist.add_argument("--format", choices=("table", "json", "csv"), default="table")
    preflight = commands.add_parser(
        "preflight", help="prove offline that a synthesized cloud assembly can deploy"
    )
    from eks_secure import preflight as preflight_command

    preflight_command.add_arguments(preflight)
    args = parser.parse_args(argv)
    if args.command == "preflight":
        return preflight_command.execute(args)

    try:
        stacks = read_assembly(args.assembly)
    except FileNotFoundError as exc:
        print(f"eks-secure: {exc}; run `make synth` first", file=sys.stderr)
        return 2
    if not stacks:
        print(
            f"eks-secure: no allow-list in {args.assembly} (pattern 'base' has none)",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        sys.stdout.write(to_json(stacks))
    elif args.format == "csv":
        sys.stdout.write(to_csv([e for entries in stacks.values() for e in entries]))
    else:
        sys.stdout.write(to_table(stacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
