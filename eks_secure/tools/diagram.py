"""The network diagram of a deployment, drawn from the plan the stacks are built from.

Graphviz (through its maintained Python package, ``graphviz``) lays the diagram out; this
module only states what is connected: the VPC, its subnets by tier and AZ with their CIDRs, the
pools' egress points (NAT gateways with their fixed IPs, gateway subnets), the node groups, the
routes to on-premises, and for every app where the source IP on-premises sees is set. The DOT
source is pure Python and deterministic; rendering it to SVG needs a Graphviz engine:
:func:`render_svg` uses the WebAssembly build pinned in ``package.json`` (``@viz-js/viz``,
identical output on every machine), or ``dot`` from the PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz

from eks_secure.config.model import DeploymentConfig
from eks_secure.errors import ConfigError
from eks_secure.network.planner import NetworkPlan, SlotPlan, SubnetPlan

TIER_COLOURS = {
    "control-plane": "#e8eaf6",
    "endpoints": "#eceff1",
    "system-nodes": "#e3f2fd",
    "app": "#e8f5e9",
}
POOL_COLOUR = "#fff3e0"
ON_PREM = "onprem"


def _id(*parts: str) -> str:
    return "_".join(p.replace("-", "_").replace(".", "_").replace("/", "_") for p in parts)


def _subnet_label(subnet: SubnetPlan, extra: str = "") -> str:
    text = f"{subnet.cidr}\\n{subnet.az}"
    return f"{text}\\n{extra}" if extra else text


def network_diagram(config: DeploymentConfig, plan: NetworkPlan) -> graphviz.Digraph:
    """The diagram of ``config`` planned as ``plan`` (see the module docstring)."""
    spec = config.egress
    tenants = {t.name: t for t in config.tenants}
    graph = graphviz.Digraph(
        name=config.cluster_name,
        graph_attr={
            "rankdir": "LR",
            "fontname": "Helvetica",
            "fontsize": "11",
            "label": f"{config.cluster_name}: pattern {config.pattern}, VPC {plan.vpc_cidr}"
            + (f" + {plan.secondary_cidr}" if plan.secondary_cidr else ""),
            "labelloc": "t",
            "compound": "true",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": "Helvetica",
            "fontsize": "9",
        },
        edge_attr={"fontname": "Helvetica", "fontsize": "8"},
    )
    route = config.on_prem_route
    target = "transit gateway" if route is not None and route.transit_gateway_id else "VPN gateway"
    if route is not None and route.transit_gateway_id:
        target = f"transit gateway\\n{route.transit_gateway_id}"
    graph.node(
        ON_PREM,
        "\\n".join(["on-premises", *(config.on_prem_cidrs or ["(none)"]), f"via {target}"]),
        shape="cylinder",
        fillcolor="#fce4ec",
    )
    with graph.subgraph(name="cluster_vpc") as vpc:
        vpc.attr(label=f"VPC {plan.vpc_cidr}", style="rounded", color="#90a4ae")
        for tier, subnets in (
            ("control-plane", plan.control_plane),
            ("endpoints", plan.endpoints),
            ("system-nodes", plan.system_nodes),
        ):
            with vpc.subgraph(name=f"cluster_{_id(tier)}") as box:
                title = {
                    "control-plane": "control-plane subnets (cluster ENIs, CUSTOMER_ROUTED egress)",
                    "endpoints": "endpoint subnets (interface endpoints, TGW attachment)",
                    "system-nodes": "system-node subnets (system node group, kubectl handler)",
                }[tier]
                box.attr(label=title, style="rounded,filled", fillcolor=TIER_COLOURS[tier])
                for subnet in subnets:
                    box.node(_id(tier, subnet.az), _subnet_label(subnet), fillcolor="white")
        for app in plan.apps:
            _slot_box(vpc, app, f"app {app.name}: node group {app.name}", TIER_COLOURS["app"])
        for pool in plan.pools:
            for member in pool.members:
                _slot_box(vpc, member, f"{pool.tier} {member.name}", POOL_COLOUR)
    if plan.control_plane:
        graph.edge(
            _id("control-plane", plan.control_plane[0].az),
            ON_PREM,
            label="API server: webhooks, OIDC",
            style="dashed",
            ltail=f"cluster_{_id('control-plane')}",
        )
    # where each app's source IP is set, and its path on-premises
    members = {(p.name, m.name): m for p in plan.pools for m in p.members}
    drawn: set[tuple[str, str]] = set()
    for name in sorted(tenants):
        point = spec.egress_point(tenants[name]) if spec is not None else None
        has_own_subnets = any(a.name == name for a in plan.apps)
        if point is not None and point in members:
            member = members[point]
            source = ", ".join(member.fixed_ips) or ", ".join(member.cidrs)
            first = _id(member.tier, member.name, member.subnets[0].az)
            start = _id("app", name, plan.app(name).subnets[0].az) if has_own_subnets else None
            if start is not None:
                graph.edge(
                    start,
                    first,
                    label=f"{name}: on-prem CIDRs",
                    lhead=f"cluster_{_id(member.tier, member.name)}",
                    ltail=f"cluster_{_id('app', name)}",
                )
            else:
                graph.node(_id("pods", name), f"pods of {name}", shape="ellipse", fillcolor="white")
                graph.edge(
                    _id("pods", name), first, lhead=f"cluster_{_id(member.tier, member.name)}"
                )
            if point not in drawn:
                drawn.add(point)
                graph.edge(
                    first,
                    ON_PREM,
                    label=f"source {source}",
                    ltail=f"cluster_{_id(member.tier, member.name)}",
                    color="#e65100",
                )
        elif has_own_subnets:
            app = plan.app(name)
            graph.edge(
                _id("app", name, app.subnets[0].az),
                ON_PREM,
                label=f"{name}: source {', '.join(app.cidrs)}",
                ltail=f"cluster_{_id('app', name)}",
                color="#2e7d32",
            )
    return graph


def _slot_box(parent: graphviz.Digraph, slot: SlotPlan, title: str, colour: str) -> None:
    tier = slot.tier
    with parent.subgraph(name=f"cluster_{_id(tier, slot.name)}") as box:
        box.attr(label=f"{title} (slot {slot.slot})", style="rounded,filled", fillcolor=colour)
        for i, subnet in enumerate(slot.subnets):
            extra = f"NAT gateway {slot.fixed_ips[i]}" if slot.fixed_ips else ""
            box.node(
                _id(tier, slot.name, subnet.az), _subnet_label(subnet, extra), fillcolor="white"
            )


def dot_source(config: DeploymentConfig, plan: NetworkPlan) -> str:
    """The diagram's DOT source (deterministic)."""
    source: str = network_diagram(config, plan).source
    return source


VIZ_SCRIPT = """
const dot = require('fs').readFileSync(0, 'utf8');
require(process.argv[1]).instance().then(viz => {
  process.stdout.write(viz.renderString(dot, {format: 'svg'}));
});
"""


def viz_js_module(start: Path | None = None) -> Path | None:
    """The pinned ``@viz-js/viz`` of this repository's node_modules, if installed."""
    for directory in [start or Path.cwd(), *(start or Path.cwd()).parents]:
        candidate = directory / "node_modules" / "@viz-js" / "viz" / "dist" / "viz.cjs"
        if candidate.is_file():
            return candidate
    return None


def render_svg(dot: str, *, node: str | None = None, viz: Path | None = None) -> str:
    """Render ``dot`` to SVG with the pinned WebAssembly Graphviz, else ``dot`` from the PATH."""
    module = viz or viz_js_module(Path(__file__).resolve().parent)
    node = node or shutil.which("node")
    if module is not None and node is not None:
        result = subprocess.run(
            [node, "-e", VIZ_SCRIPT, str(module)],
            input=dot,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode == 0:
            return result.stdout
        raise RuntimeError(f"@viz-js/viz failed: {result.stderr[-2000:]}")
    executable = shutil.which("dot")
    if executable is not None:
        result = subprocess.run(
            [executable, "-Tsvg"],
            input=dot,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout
    raise ConfigError(
        "diagram",
        "no Graphviz engine to render SVG (neither the repository's @viz-js/viz nor `dot`)",
        "install Graphviz (apt-get install graphviz) or write DOT with --format dot",
    )
