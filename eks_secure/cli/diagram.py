"""``eks-secure diagram``: draw a config's network from its address plan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eks_secure.cli._common import EXIT_OK, Verb, write_output

DESCRIPTION = """\
Draw the network of a deployment config from the same plan the stacks are built from: the VPC,
its subnets by tier and AZ with their CIDRs, NAT gateways and gateway subnets with their fixed
IPs, the node groups, the routes to on-premises, and for every app the source IP on-premises
sees. SVG needs a Graphviz engine: the WebAssembly build pinned in this repository's
package.json (make setup installs it), or `dot` from the PATH; --format dot needs none."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``diagram``."""
    parser.add_argument("config", metavar="CONFIG", help="the YAML config file")
    parser.add_argument("--pattern", help="override the config's pattern (as -c pattern=)")
    parser.add_argument(
        "-f", "--format", choices=("svg", "dot"), default="svg", help="default: svg"
    )
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: print it)")


def run(args: argparse.Namespace) -> int:
    """Print or write the diagram."""
    from eks_secure.tools.diagram import dot_source, render_svg
    from eks_secure.tools.planning import plan_config

    planned = plan_config(args.config, pattern=args.pattern)
    text = dot_source(planned.config, planned.plan)
    if args.format == "svg":
        text = render_svg(text)
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_output(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


VERB = Verb(
    name="diagram",
    summary="draw a config's network (subnets, NAT/gateways, routes, source IPs) as SVG or DOT",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="never (a config with problems exits 2 with them)",
    examples=(
        "eks-secure diagram patterns/examples/private-nat.yaml -o network.svg",
        "eks-secure diagram my-cluster.yaml --format dot | dot -Tpng > network.png",
    ),
)
