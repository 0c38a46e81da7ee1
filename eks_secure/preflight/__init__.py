"""``eks-secure preflight``: prove offline that a synthesized cloud assembly can deploy.

Pure Python (no CDK, no jsii). :func:`run` reads a cloud assembly and runs the eight checks
(:data:`eks_secure.preflight.report.CHECKS`); :func:`main` is the command line. Each problem
names the stack, the logical ID and the fix; docs/preflight.md describes every check and what it
cannot see.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eks_secure.cli._common import EXIT_FINDINGS, EXIT_OK, add_format_argument
from eks_secure.preflight.report import CHECKS, Problem, Report

__all__ = ["CHECKS", "Problem", "Report", "main", "run"]


def run(path: str | Path, *, max_cluster_name_length: int | None = None) -> Report:
    """Run every check on the cloud assembly in ``path`` and return the report."""
    from eks_secure.preflight import (
        check_allowlist,
        check_capacity,
        check_deployer,
        check_iam,
        check_lint,
        check_names,
        check_network,
        check_timeouts,
    )
    from eks_secure.preflight.assembly import load
    from eks_secure.preflight.schemas import cfnlint_version

    assembly = load(path)
    report = Report()
    check_iam.run(assembly, report)
    check_deployer.run(assembly, report)
    model = check_network.model_of(assembly)
    check_network.run(assembly, report, model)
    check_timeouts.run(assembly, report)
    check_names.run(assembly, report, max_length=max_cluster_name_length)
    check_allowlist.run(assembly, report, model)
    check_capacity.run(assembly, report)
    check_lint.run(assembly, report)
    report.notes.append(f"resource provider schemas and IAM data of cfn-lint {cfnlint_version()}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``eks-secure preflight [CDK_OUT] [-f text|json]``: the ``eks-secure`` command's verb, with
    its messages and exit codes (1 on any problem, 2 for a missing or malformed assembly)."""
    from eks_secure.cli import main as cli_main

    return cli_main(["preflight", *(sys.argv[1:] if argv is None else argv)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (shared with the ``eks-secure`` command)."""
    parser.add_argument(
        "assembly",
        nargs="?",
        default="cdk.out",
        metavar="ASSEMBLY",
        help="cloud assembly directory (default: cdk.out)",
    )
    add_format_argument(parser, ("text", "json"), "text")
    parser.add_argument(
        "--max-cluster-name-length",
        type=int,
        default=None,
        metavar="N",
        help="longest cluster name to check generated names at (default: the config's limit)",
    )


def execute(args: argparse.Namespace) -> int:
    """Run the command for parsed ``args``; the exit code. A missing, unreadable or malformed
    assembly raises :class:`~eks_secure.errors.ConfigError` (``eks-secure`` exits 2)."""
    report = run(args.assembly, max_cluster_name_length=args.max_cluster_name_length)
    sys.stdout.write(report.to_json() if args.format == "json" else report.to_text())
    return EXIT_OK if report.ok else EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
