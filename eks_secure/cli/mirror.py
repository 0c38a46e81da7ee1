"""``eks-secure mirror``: list every chart and image to mirror before the first deploy."""

from __future__ import annotations

import argparse
import sys

from eks_secure.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Column,
    Verb,
    add_format_argument,
    to_csv,
    to_json,
    to_table,
)

DESCRIPTION = """\
List every Helm chart and container image a synthesized deployment pulls (read from its Helm
releases in the cloud assembly, default cdk.out), with the mirror reference the cluster pulls
and the upstream it stands for, so operators can seed their registry (or check the ECR
pull-through cache rules) before the first deploy: a private cluster reaches no public
registry. Images a chart picks itself from a registry its values name are listed too: the
Istio images under global.hub (proxyv2 is the sidecar proxy istiod injects into app pods and
the egress gateway) and the Calico images the Tigera operator deploys."""

COLUMNS = (
    Column("kind", "KIND"),
    Column("release", "RELEASE"),
    Column("reference", "PULLED FROM"),
    Column("upstream", "UPSTREAM"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``mirror``."""
    parser.add_argument(
        "assembly", nargs="?", default="cdk.out", metavar="ASSEMBLY", help="default: cdk.out"
    )
    add_format_argument(parser, ("table", "json", "csv"), "table")


def run(args: argparse.Namespace) -> int:
    """Print the list; exit 1 when the assembly has no Helm release (a missing or malformed
    assembly raises :class:`~eks_secure.errors.ConfigError`: exit 2)."""
    from eks_secure.tools.mirror import mirror_items

    items = mirror_items(args.assembly)
    rows = [
        {"kind": i.kind, "release": i.release, "reference": i.reference, "upstream": i.upstream}
        for i in items
    ]
    if not rows:
        print(f"eks-secure mirror: no Helm release in {args.assembly}", file=sys.stderr)
        return EXIT_FINDINGS
    if args.format == "json":
        sys.stdout.write(to_json(rows))
    elif args.format == "csv":
        sys.stdout.write(to_csv(rows, COLUMNS))
    else:
        sys.stdout.write(to_table(rows, COLUMNS))
    return EXIT_OK


VERB = Verb(
    name="mirror",
    summary="list every chart and image a deployment pulls, to seed the registry first",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="the assembly has no Helm release (pattern base without Kyverno)",
    examples=(
        "make synth PATTERN=subnet-per-app && eks-secure mirror cdk.out",
        "eks-secure mirror cdk.out --format csv > to-mirror.csv",
    ),
)
