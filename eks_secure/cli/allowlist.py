"""``eks-secure allowlist``: print the firewall allow-list, or the change request between two."""

from __future__ import annotations

import argparse
import sys

from eks_secure.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageError,
    Verb,
)
from eks_secure.egress import allowlist as published
from eks_secure.firewall import diff_allowlists, load_allowlists

LIST_FORMATS = ("table", "json", "csv")
DIFF_FORMATS = ("markdown", "csv", "json")

DESCRIPTION = """\
Print the firewall allow-list of a synthesized deployment: for every app, and for the
control plane's CUSTOMER_ROUTED calls (app 'control-plane', no namespace), the source
networks the on-premises firewall will see, the destinations and the ports. ASSEMBLY is a
cloud assembly directory (default: cdk.out, written by 'make synth') or a saved
<stack>.allowlist.json.

With --diff OLD, print instead what the firewall must add and remove to go from the OLD
allow-list to this one: a change request for the network team, one row per source,
destination, protocol and ports, with the apps that need the rule as a label. A rule is
what the firewall sees (source, destination, protocol, port; addresses parsed), not an
app's: a rule the apps of one NAT group share is added only if OLD lacks it and removed only
if no app still needs it, and an app renamed is a label change, not a firewall change."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``allowlist``."""
    parser.add_argument(
        "assembly",
        nargs="?",
        default="cdk.out",
        metavar="ASSEMBLY",
        help="cloud assembly directory or saved allow-list JSON (default: cdk.out)",
    )
    parser.add_argument(
        "--diff",
        metavar="OLD",
        help="print the change request from OLD (an assembly directory or allow-list JSON)",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=sorted({*LIST_FORMATS, *DIFF_FORMATS}),
        metavar="FORMAT",
        help=(
            "output format: table, json or csv (default: table); with --diff: markdown, csv "
            "or json (default: markdown)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Print the allow-list (exit 1 when there is none) or the change request (exit 1 when
    anything changes)."""
    if args.diff is None:
        fmt = args.format or "table"
        if fmt not in LIST_FORMATS:
            raise UsageError(f"--format {fmt} needs --diff (without it: table, json or csv)")
        stacks = load_allowlists(args.assembly)
        if not stacks:
            print(
                f"eks-secure allowlist: no allow-list in {args.assembly} (no app and no "
                "control_plane_egress destination)",
                file=sys.stderr,
            )
            return EXIT_FINDINGS
        if fmt == "json":
            sys.stdout.write(published.to_json(stacks))
        elif fmt == "csv":
            sys.stdout.write(published.to_csv([e for entries in stacks.values() for e in entries]))
        else:
            sys.stdout.write(published.to_table(stacks))
        return EXIT_OK

    fmt = args.format or "markdown"
    if fmt not in DIFF_FORMATS:
        raise UsageError(f"--format {fmt} is not a change-request format (markdown, csv or json)")
    old = load_allowlists(args.diff)
    new = load_allowlists(args.assembly)
    for label, stacks in ((args.diff, old), (args.assembly, new)):
        if not stacks:
            print(f"eks-secure allowlist: note: {label} has no allow-list", file=sys.stderr)
    request = diff_allowlists(old, new, old_label=args.diff, new_label=args.assembly)
    rendered = {"markdown": request.to_markdown, "csv": request.to_csv, "json": request.to_json}
    sys.stdout.write(rendered[fmt]())
    return EXIT_FINDINGS if request.has_changes else EXIT_OK


VERB = Verb(
    name="allowlist",
    summary="print the firewall allow-list, or with --diff the firewall change request",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings=(
        "no allow-list to print (no apps, no control_plane_egress); with --diff: the firewall has "
        "rules to add or remove (0 means no change)"
    ),
    examples=(
        "eks-secure allowlist                       # cdk.out, as a table",
        "eks-secure allowlist cdk.out --format csv",
        "eks-secure allowlist --diff old/payments-prod-cluster.allowlist.json > change.md",
        "eks-secure allowlist cdk.out --diff cdk.out.prev --format csv",
    ),
)
