"""``eks-secure validate``: check a config without synthesizing (all problems at once)."""

from __future__ import annotations

import argparse
import sys

from eks_secure.cli._common import EXIT_FINDINGS, EXIT_OK, Verb, to_json
from eks_secure.errors import ConfigError, ConfigErrors

DESCRIPTION = """\
Validate a deployment config the way synthesis does, without the CDK: every key and rule,
the pattern's own checks, the address plan, and whether the plan would change the committed
address-plan lock (<config>.lock.json). All problems are printed at once, each with the field
and the fix."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``validate``."""
    parser.add_argument("config", metavar="CONFIG", help="the YAML config file")
    parser.add_argument("--pattern", help="override the config's pattern (as -c pattern=)")
    parser.add_argument(
        "-f", "--format", choices=("text", "json"), default="text", help="default: text"
    )


def run(args: argparse.Namespace) -> int:
    """Print ``valid`` or every problem; exit 1 on any problem."""
    from eks_secure.tools.planning import plan_config

    try:
        planned = plan_config(args.config, pattern=args.pattern)
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else (exc,)
        if any(e.field == "config" for e in errors):
            raise  # an unreadable or malformed file: a usage error (exit 2)
        _report(args, [(e.field, e.problem, e.fix) for e in errors])
        return EXIT_FINDINGS
    problems = [
        (
            "address_lock",
            f"the plan would change {planned.lock_file.name}: {change}",
            "synthesize with -c update_lock=true (make synth UPDATE_LOCK=1), review and commit",
        )
        for change in planned.lock_changes
    ]
    if problems:
        _report(args, problems)
        return EXIT_FINDINGS
    config = planned.config
    if args.format == "json":
        sys.stdout.write(
            to_json({"valid": True, "pattern": config.pattern, "apps": len(config.apps)})
        )
    else:
        lock = "lock current" if planned.has_lock else "no lock yet (the first synth writes it)"
        print(
            f"{args.config}: valid (pattern {config.pattern}, {len(config.apps)} app(s), "
            f"{planned.subnet_count} subnets, {lock})"
        )
    return EXIT_OK


def _report(args: argparse.Namespace, problems: list[tuple[str, str, str]]) -> None:
    if args.format == "json":
        sys.stdout.write(
            to_json(
                {
                    "valid": False,
                    "problems": [{"field": f, "problem": p, "fix": x} for f, p, x in problems],
                }
            )
        )
        return
    noun = "problem" if len(problems) == 1 else "problems"
    print(f"{args.config}: {len(problems)} {noun}")
    for field, problem, fix in problems:
        print(f"  - {field}: {problem}\n    fix: {fix}")


VERB = Verb(
    name="validate",
    summary="check a config without synthesizing: every problem at once, with field and fix",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="the config has problems, or the plan would change the committed lock",
    examples=(
        "eks-secure validate patterns/examples/private-nat.yaml",
        "eks-secure validate my-cluster.yaml --format json",
    ),
)
