"""Move the pinned managed add-on versions (eks_secure/cluster/addon_versions.py) forward.

Usage:
  python scripts/addon_versions.py commands --region <region> [--kubernetes-version 1.34 ...]
      prints one `aws eks describe-addon-versions` command per Kubernetes version and add-on;
      run them in an empty directory with credentials for the deployment account.
  python scripts/addon_versions.py propose <dir>
      reads the <k8s>_<addon>.json answers in <dir> and prints the newest compatible version of
      each as the ADDON_VERSIONS table (Python) and the docs/configuration.md table (Markdown).
      Exit 1 when the proposed table breaks a rule (a missing pin, a version going down).
"""

from __future__ import annotations

import argparse
import json
import pprint
import sys
from pathlib import Path

from eks_secure import rules
from eks_secure.cluster.addon_versions import (
    ADDON_NAMES,
    describe_commands,
    markdown_table,
    newest_version,
    table_problems,
)


def propose(directory: Path) -> dict[str, dict[str, str]]:
    """The table of the newest version of every add-on for every supported Kubernetes version."""
    table: dict[str, dict[str, str]] = {}
    for k8s in rules.SUPPORTED_KUBERNETES_VERSIONS:
        for addon in ADDON_NAMES:
            answer = json.loads((directory / f"{k8s}_{addon}.json").read_text())
            table.setdefault(k8s, {})[addon] = newest_version(answer, addon, k8s)
    return table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    commands = verbs.add_parser("commands")
    commands.add_argument("--region", required=True)
    commands.add_argument("--kubernetes-version", action="append", default=[])
    proposal = verbs.add_parser("propose")
    proposal.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.verb == "commands":
        print("\n".join(describe_commands(args.region, args.kubernetes_version)))
        return 0
    try:
        table = propose(args.directory)
    except (OSError, ValueError, KeyError) as exc:
        print(f"addon_versions: {exc}", file=sys.stderr)
        return 2
    print("ADDON_VERSIONS = " + pprint.pformat(table, sort_dicts=False))
    print()
    print(markdown_table(table))
    problems = table_problems(table)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
