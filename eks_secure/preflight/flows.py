"""The flows a deployment needs, derived from the templates, and their reachability.

A flow goes from a *party* (the ENIs of in-VPC Lambda functions, of a node group, of the
control plane) to an AWS service (an interface endpoint, or S3 through the gateway endpoint),
to another party, or to a CIDR (on-premises), on one port. Built-in rules derive them:

* in-VPC Lambda functions: a CDK provider framework (``USER_ON_EVENT_FUNCTION_ARN``) calls the
  Lambda API (it invokes the handler) and S3 (the presigned CloudFormation reply); the handler
  it invokes calls EKS, STS, ECR (api, dkr) and S3, and the cluster endpoint;
* node groups: ECR (api, dkr), S3, EC2, STS, EKS auth, CloudWatch Logs and the cluster endpoint;
* the control plane: every node group on 10250 and on each webhook port (:data:`CHART_FLOWS`,
  by Helm chart), and each ``CUSTOMER_ROUTED`` destination its security groups allow outside the
  VPC;
* each app (namespace label ``eks-secure.io/app``): the ``ipBlock`` egress of its
  NetworkPolicies, from the node group labelled with the app;
* declared flows: any resource may carry ``Metadata: {"eks-secure:flows": [{"from": ..., "to":
  ..., "port": N, "protocol": "tcp"|"udp"}]}`` with selectors ``control-plane``, ``nodes``,
  ``nodes:<label>=<value>``, ``service:<name>`` or ``cidr:<a.b.c.d/n>``. Egress patterns declare
  their own flows this way (Cilium's VXLAN 8472/udp between nodes, Istio's 15017 webhook and
  15012 xDS), or register a rule in :data:`FLOW_RULES`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.network import (
    CLUSTER_SG,
    EPHEMERAL,
    S3_SAMPLE,
    Net,
    Network,
    SecurityGroup,
    key,
    ref_key,
)
from eks_secure.preflight.physical import render

APP_LABEL = "eks-secure.io/app"
FLOWS_METADATA = "eks-secure:flows"
FRAMEWORK_TARGET = "USER_ON_EVENT_FUNCTION_ARN"

NODE_SERVICES = ("ecr.api", "ecr.dkr", "s3", "ec2", "sts", "eks-auth", "logs")
FRAMEWORK_SERVICES = ("lambda", "s3")
KUBECTL_HANDLER_SERVICES = ("eks", "sts", "ecr.api", "ecr.dkr", "s3")
KUBELET_PORT = 10250
API_PORT = 443
CHART_FLOWS: dict[str, tuple[int, ...]] = {"kyverno": (9443,)}
"""Webhook target ports of the Helm charts the control plane calls (by chart name)."""


@dataclass
class Party:
    """The ENIs one side of a flow lives on."""

    name: str
    stack: Stack
    logical_id: str
    subnets: list[str]
    groups: list[str]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Destination:
    """Where a flow goes: an AWS service, a party, or a CIDR."""

    service: str | None = None
    party: str | None = None
    cidr: Net | None = None

    def describe(self) -> str:
        """Text for messages."""
        if self.service:
            return f"service {self.service}"
        if self.party:
            return self.party
        return str(self.cidr)


@dataclass(frozen=True)
class Flow:
    """A connection the deployment needs."""

    source: str
    destination: Destination
    port: int
    protocol: int = 6
    reason: str = ""


@dataclass
class Model:
    """Parties and flows of one assembly."""

    network: Network
    parties: dict[str, Party] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)


FlowRule = Callable[[Assembly, Model], Iterator[Flow]]


def _keys(values: Any) -> list[str]:
    return [k for k in (ref_key(v) for v in values or []) if k]


def parties(assembly: Assembly, network: Network) -> dict[str, Party]:
    """Control plane, node groups and in-VPC Lambda functions of the assembly."""
    found: dict[str, Party] = {}
    for stack, lid, resource in assembly.all_resources():
        rtype = resource.get("Type")
        props = stack.properties(lid)
        if rtype == "AWS::EKS::Cluster":
            vpc = props.get("ResourcesVpcConfig", {})
            found["control-plane"] = Party(
                "control-plane",
                stack,
                lid,
                _keys(vpc.get("SubnetIds")),
                [*_keys(vpc.get("SecurityGroupIds")), CLUSTER_SG],
            )
        elif rtype == "AWS::EKS::Nodegroup":
            groups: list[str] = []
            template = props.get("LaunchTemplate", {}).get("Id")
            if isinstance(template, ResourceRef):
                data = template.stack.properties(template.logical_id).get("LaunchTemplateData", {})
                groups = _keys(data.get("SecurityGroupIds"))
            labels = {str(k): render(v) for k, v in props.get("Labels", {}).items()}
            found[f"nodes {stack.name}/{lid}"] = Party(
                f"nodes {stack.name}/{lid}",
                stack,
                lid,
                _keys(props.get("Subnets")),
                groups or [CLUSTER_SG],
                labels,
            )
        elif rtype == "AWS::Lambda::Function" and "VpcConfig" in props:
            vpc = props["VpcConfig"]
            found[f"lambda {stack.name}/{lid}"] = Party(
                f"lambda {stack.name}/{lid}",
                stack,
                lid,
                _keys(vpc.get("SubnetIds")),
                _keys(vpc.get("SecurityGroupIds")),
            )
    return found


def _node_parties(model: Model, selector: str = "") -> list[str]:
    label = selector.split(":", 1)[1] if ":" in selector else ""
    names = []
    for name, party in model.parties.items():
        if not name.startswith("nodes "):
            continue
        if label:
            k, _, v = label.partition("=")
            if party.labels.get(k) != v:
                continue
        names.append(name)
    return names


def lambda_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """Provider framework -> Lambda API, S3; the handler it invokes -> EKS, STS, ECR, S3, API."""
    for name, party in model.parties.items():
        if not name.startswith("lambda "):
            continue
        env = party.stack.properties(party.logical_id).get("Environment", {}).get("Variables", {})
        target = env.get(FRAMEWORK_TARGET)
        if target is None:
            continue
        for service in FRAMEWORK_SERVICES:
            yield Flow(name, Destination(service=service), 443, reason="provider framework")
        if isinstance(target, ResourceRef):
            handler = f"lambda {target.stack.name}/{target.logical_id}"
            if handler in model.parties:
                for service in KUBECTL_HANDLER_SERVICES:
                    yield Flow(handler, Destination(service=service), 443, reason="kubectl handler")
                if "control-plane" in model.parties:
                    yield Flow(
                        handler, Destination(party="control-plane"), API_PORT, reason="cluster API"
                    )


def node_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """Nodes -> ECR, S3, EC2, STS, EKS auth, Logs and the cluster API; control plane -> nodes."""
    ports = sorted(
        {p for stack, lid, r in assembly.all_resources() for p in _chart_ports(stack, lid, r)}
    )
    for name in _node_parties(model):
        for service in NODE_SERVICES:
            yield Flow(name, Destination(service=service), 443, reason="node bootstrap")
        if "control-plane" in model.parties:
            yield Flow(name, Destination(party="control-plane"), API_PORT, reason="kubelet to API")
            yield Flow("control-plane", Destination(party=name), KUBELET_PORT, reason="kubelet")
            for port in ports:
                yield Flow("control-plane", Destination(party=name), port, reason="webhook")


def _chart_ports(stack: Stack, logical_id: str, resource: dict[str, Any]) -> tuple[int, ...]:
    if resource.get("Type") != "Custom::AWSCDK-EKS-HelmChart":
        return ()
    return CHART_FLOWS.get(render(stack.properties(logical_id).get("Chart", "")), ())


def control_plane_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """``CUSTOMER_ROUTED`` destinations: control-plane SG egress rules outside the VPC."""
    party = model.parties.get("control-plane")
    if party is None:
        return
    for group in party.groups:
        sg = model.network.groups.get(group)
        for rule in sg.egress if sg is not None else []:
            if rule.cidr is None or rule.cidr.prefixlen == 0 or model.network.in_vpc(rule.cidr):
                continue
            for port in {rule.ports[0], rule.ports[1]}:
                yield Flow(
                    "control-plane",
                    Destination(cidr=rule.cidr),
                    port,
                    rule.protocol if rule.protocol > 0 else 6,
                    reason="CUSTOMER_ROUTED egress",
                )


def app_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """Each app's NetworkPolicy ``ipBlock`` egress, from the node group labelled with the app."""
    for app, cidr, port, protocol in app_egress(assembly):
        for name in _node_parties(model, f"nodes:{APP_LABEL}={app}"):
            yield Flow(name, Destination(cidr=cidr), port, protocol, reason=f"app {app}")


def app_egress(assembly: Assembly) -> Iterator[tuple[str, Net, int, int]]:
    """(app, CIDR, port, protocol) of every app namespace's NetworkPolicy ipBlock egress."""
    for stack, lid, resource in assembly.all_resources():
        if resource.get("Type") != "Custom::AWSCDK-EKS-KubernetesResource":
            continue
        try:
            objects = json.loads(render(stack.properties(lid).get("Manifest", "[]")))
        except json.JSONDecodeError:
            continue
        apps = {
            o["metadata"]["name"]: o["metadata"].get("labels", {}).get(APP_LABEL)
            for o in objects
            if isinstance(o, dict) and o.get("kind") == "Namespace"
        }
        for o in objects:
            if not isinstance(o, dict) or o.get("kind") != "NetworkPolicy":
                continue
            app = apps.get(o.get("metadata", {}).get("namespace", ""))
            if not app:
                continue
            for egress in o.get("spec", {}).get("egress", []):
                cidrs = [t["ipBlock"]["cidr"] for t in egress.get("to", []) if "ipBlock" in t]
                for cidr in cidrs:
                    for port in egress.get("ports", []):
                        protocol = 17 if port.get("protocol") == "UDP" else 6
                        yield app, ipaddress.IPv4Network(cidr), int(port["port"]), protocol


def declared_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """Flows declared in resource metadata (``eks-secure:flows``)."""
    for _, _, resource in assembly.all_resources():
        for spec in resource.get("Metadata", {}).get(FLOWS_METADATA, []):
            protocol = 17 if str(spec.get("protocol", "tcp")).lower() == "udp" else 6
            sources = _select(model, str(spec["from"]))
            for source in sources:
                for destination in _destinations(model, str(spec["to"])):
                    if destination.party == source:
                        continue
                    yield Flow(source, destination, int(spec["port"]), protocol, reason="declared")


def _select(model: Model, selector: str) -> list[str]:
    if selector == "control-plane":
        return ["control-plane"] if "control-plane" in model.parties else []
    if selector.startswith("nodes"):
        return _node_parties(model, selector)
    return [selector] if selector in model.parties else []


def _destinations(model: Model, selector: str) -> list[Destination]:
    if selector.startswith("service:"):
        return [Destination(service=selector.split(":", 1)[1])]
    if selector.startswith("cidr:"):
        return [Destination(cidr=ipaddress.IPv4Network(selector.split(":", 1)[1]))]
    return [Destination(party=p) for p in _select(model, selector)]


FLOW_RULES: list[FlowRule] = [
    lambda_flows,
    node_flows,
    control_plane_flows,
    app_flows,
    declared_flows,
]
"""The rules deriving flows; append a rule to add flows of a new kind."""


def build(assembly: Assembly, network: Network) -> Model:
    """Parties and every flow the rules derive (without duplicates)."""
    model = Model(network=network, parties=parties(assembly, network))
    seen: dict[Flow, None] = {}
    for rule in FLOW_RULES:
        for flow in rule(assembly, model):
            seen.setdefault(flow, None)
    model.flows = list(seen)
    return model


@dataclass
class Path:
    """How one source subnet reaches a destination, and what on-premises sees as the source."""

    failures: list[str]
    seen_source: Net | None = None


def trace(model: Model, flow: Flow, subnet_key: str) -> Path:
    """Check one flow from one source subnet: routes, endpoints, SGs, NACLs both ways."""
    net = model.network
    source = model.parties[flow.source]
    subnet = net.subnets.get(subnet_key)
    if subnet is None:
        return Path([f"source subnet {subnet_key} is not in the assembly"])
    failures: list[str] = []
    src_groups = set(source.groups)
    dst_groups: set[str] = set()
    dst_nets: list[Net] = []
    dst_subnets: list[str] = []
    peer_for_sg: list[Net] = []
    prefix_list = False
    seen: Net | None = None
    port = flow.port

    if flow.destination.service == "s3":
        if net.s3_gateway(subnet.route_table) is None and net.interface("s3") is None:
            failures.append(
                f"route table of {subnet.logical_id} is not associated with an S3 gateway endpoint"
            )
        dst_nets, peer_for_sg, prefix_list = [S3_SAMPLE], [S3_SAMPLE], True
    elif flow.destination.service:
        endpoint = net.interface(flow.destination.service)
        if endpoint is None:
            return Path([f"no interface endpoint for {flow.destination.service}"])
        if not endpoint.private_dns:
            failures.append(f"endpoint {flow.destination.service} has private DNS off")
        dst_groups, dst_subnets = set(endpoint.groups), endpoint.subnets
    elif flow.destination.party:
        target = model.parties[flow.destination.party]
        dst_groups, dst_subnets = set(target.groups), target.subnets
    else:
        assert flow.destination.cidr is not None
        dst_nets = [flow.destination.cidr]
        peer_for_sg = dst_nets
        if not net.in_vpc(flow.destination.cidr):
            failures += _route_out(
                model, subnet.route_table, flow.destination.cidr, subnet.logical_id
            )
            route = net.route_for(subnet.route_table, flow.destination.cidr)
            # no route: nothing reaches on-premises (the network check reports it), no source
            seen = subnet.cidr if route is not None else None
            if (
                route is not None
                and route.target_kind == "nat"
                and route.target in net.nat_gateways
            ):
                nat = net.nat_gateways[route.target]
                seen = ipaddress.IPv4Network(f"{nat.ip}/32") if nat.ip else None
                nat_subnet = net.subnets.get(nat.subnet)
                if nat_subnet is not None:
                    failures += _route_out(
                        model, nat_subnet.route_table, flow.destination.cidr, nat_subnet.logical_id
                    )
    for k in dst_subnets:
        if k in net.subnets:
            dst_nets.append(net.subnets[k].cidr)
            peer_for_sg.append(net.subnets[k].cidr)

    # security groups: egress at the source, ingress at the destination (stateful)
    peers: list[Net | None] = [*peer_for_sg] if peer_for_sg else [None]
    egress_ok = any(
        rule.allows(flow.protocol, port, peer, dst_groups, prefix_list)
        for g in src_groups
        for rule in _rules(net, g).egress
        for peer in peers
    )
    if not egress_ok:
        failures.append(
            f"no egress rule of {_names(src_groups)} allows {_proto(flow)} {port}"
            f" to {flow.destination.describe()}"
        )
    if dst_groups:
        ingress_ok = any(
            rule.allows(flow.protocol, port, subnet.cidr, src_groups, False)
            for g in dst_groups
            for rule in _rules(net, g).ingress
        )
        if not ingress_ok:
            failures.append(
                f"no ingress rule of {_names(dst_groups)} allows {_proto(flow)} {port}"
                f" from {subnet.cidr}"
            )

    # NACLs, both directions at both ends (stateless: replies on ephemeral ports)
    for dst in dst_nets or []:
        if not net.acl_allows(subnet.acl, True, flow.protocol, (port, port), dst):
            failures.append(
                f"NACL of {subnet.logical_id} blocks outbound {_proto(flow)} {port} to {dst}"
            )
        if not net.acl_allows(subnet.acl, False, flow.protocol, EPHEMERAL, dst):
            failures.append(
                f"NACL of {subnet.logical_id} blocks the return traffic (1024-65535) from {dst}"
            )
    for k in dst_subnets:
        peer_subnet = net.subnets.get(k)
        if peer_subnet is None:
            continue
        if not net.acl_allows(peer_subnet.acl, False, flow.protocol, (port, port), subnet.cidr):
            failures.append(
                f"NACL of {peer_subnet.logical_id} blocks inbound {_proto(flow)} {port}"
                f" from {subnet.cidr}"
            )
        if not net.acl_allows(peer_subnet.acl, True, flow.protocol, EPHEMERAL, subnet.cidr):
            failures.append(
                f"NACL of {peer_subnet.logical_id} blocks the return traffic (1024-65535)"
                f" to {subnet.cidr}"
            )
    return Path(sorted(set(failures)), seen)


def _rules(net: Network, key: str) -> SecurityGroup:
    """The group ``key`` of ``net``, or an empty one when the assembly does not declare it."""
    return net.groups.get(key) or SecurityGroup(key)


def _route_out(model: Model, table: str | None, cidr: Net, where: str) -> list[str]:
    route = model.network.route_for(table, cidr)
    if route is None:
        return [f"route table of {where} has no route to {cidr}"]
    return []


def _proto(flow: Flow) -> str:
    return "udp" if flow.protocol == 17 else "tcp"


def _names(groups: set[str]) -> str:
    return ", ".join(sorted(g.rsplit("#", 1)[-1] for g in groups)) or "(no security group)"


def subnet_key(stack: Stack, logical_id: str) -> str:
    """Key of a subnet resource."""
    return key(stack, logical_id)
