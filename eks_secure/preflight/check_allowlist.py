"""Check 6: every flow that reaches on-premises has a row in the published allow-list.

The allow-list is read from the ``EksSecureAllowList*`` outputs of every stack. A flow to a
CIDR outside the VPC (an app's NetworkPolicy egress, a control-plane ``CUSTOMER_ROUTED``
destination) is traced from each source subnet; the source on-premises sees is the subnet's
CIDR, or the NAT gateway's IP when the route goes through one. A row must cover that source,
the destination and the port.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from eks_secure.preflight.assembly import Assembly
from eks_secure.preflight.flows import Model, trace
from eks_secure.preflight.report import Problem, Report

CHECK = "allowlist"
OUTPUT_PREFIX = "EksSecureAllowList"


@dataclass(frozen=True)
class Row:
    """One published allow-list entry."""

    name: str
    sources: tuple[ipaddress.IPv4Network, ...]
    destinations: tuple[ipaddress.IPv4Network, ...]
    ports: tuple[int, ...]
    protocol: str

    def covers(
        self,
        source: ipaddress.IPv4Network,
        destination: ipaddress.IPv4Network,
        port: int,
        protocol: str,
    ) -> bool:
        """Whether the row admits this traffic."""
        return (
            self.protocol == protocol
            and port in self.ports
            and any(source.subnet_of(s) for s in self.sources)
            and any(destination.subnet_of(d) for d in self.destinations)
        )


def rows(assembly: Assembly) -> list[Row]:
    """Every allow-list row the assembly publishes."""
    found = []
    for stack in assembly.stacks:
        for name, output in sorted(stack.template.get("Outputs", {}).items()):
            if not name.startswith(OUTPUT_PREFIX):
                continue
            entry = json.loads(stack.text(output.get("Value", "{}")))
            found.append(
                Row(
                    name,
                    tuple(ipaddress.IPv4Network(c) for c in entry.get("source_cidrs", [])),
                    tuple(ipaddress.IPv4Network(c) for c in entry.get("destination_cidrs", [])),
                    tuple(int(p) for p in entry.get("ports", [])),
                    str(entry.get("protocol", "tcp")),
                )
            )
    return found


def run(assembly: Assembly, report: Report, model: Model) -> None:
    """Check every on-premises flow of ``model`` against the published rows."""
    published = rows(assembly)
    for flow in model.flows:
        cidr = flow.destination.cidr
        if cidr is None or model.network.in_vpc(cidr):
            continue
        protocol = "udp" if flow.protocol == 17 else "tcp"
        source = model.parties[flow.source]
        for subnet in source.subnets:
            seen = trace(model, flow, subnet).seen_source
            if seen is None:
                continue
            report.count(CHECK)
            if any(r.covers(seen, cidr, flow.port, protocol) for r in published):
                continue
            report.add(
                Problem(
                    CHECK,
                    source.stack.name,
                    source.logical_id,
                    f"{flow.source} ({flow.reason}) reaches {cidr} {protocol}/{flow.port} from "
                    f"{seen}, but no allow-list row covers it: on-premises drops it",
                    f"publish an allow-list row (output {OUTPUT_PREFIX}...) with source {seen}, "
                    f"destination {cidr}, port {flow.port}",
                )
            )
