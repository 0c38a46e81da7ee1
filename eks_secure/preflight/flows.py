"""The flows a deployment needs, derived from the templates, and their reachability.

A flow goes from a *party* (the ENIs of in-VPC Lambda functions, of a node group, of the
control plane) to an AWS service (an interface endpoint, or S3 through the gateway endpoint),
to another party, or to a CIDR (on-premises), on one port. Built-in rules derive them:

Each flow to an AWS service lists the calls it makes (:class:`Need`: action, resource, whether
a principal of the account signs it); the trace evaluates them against the endpoint's policy
with :mod:`eks_secure.preflight.iam_eval`, so a policy that drops a bucket the cluster needs is
reported. The tables below (:data:`NODE_NEEDS`, :data:`FRAMEWORK_NEEDS`,
:data:`KUBECTL_HANDLER_NEEDS`) are the data; declared flows may carry ``"needs"`` too.

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
  ..., "port": N, "protocol": "tcp"|"udp", "needs": [{"action": ..., "resource": ...,
  "signed": true}]}]}`` with selectors ``control-plane``, ``nodes``,
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

from eks_secure.network.services import AWS_EGRESS_LABEL
from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack, asset_buckets
from eks_secure.preflight.iam_eval import ContextValue, Request, evaluate, policy_statements
from eks_secure.preflight.network import (
    CLUSTER_SG,
    EPHEMERAL,
    S3_SAMPLE,
    Endpoint,
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


@dataclass(frozen=True)
class Need:
    """One call a flow makes through an endpoint, checked against the endpoint policy."""

    action: str
    resource: str
    """ARN with ``{partition}``, ``{region}``, ``{region_nodash}``, ``{account}`` placeholders;
    ``{assets}`` stands for each bucket the assembly's file assets are published to."""
    signed: bool = True
    """Signed by a principal of the account (``aws:PrincipalAccount`` is set); ``False``:
    presigned by the AWS service that owns the resource, or unauthenticated."""


EKS_ADDON_REGISTRY = "602401143452"
"""The AWS account of the EKS add-on images (most commercial Regions): a foreign registry."""
_S3 = "arn:{partition}:s3:::"
ECR_LAYER = Need("s3:GetObject", _S3 + "prod-{region}-starport-layer-bucket/layer", signed=False)
ECR_TOKEN = Need("ecr:GetAuthorizationToken", "*")
OWN_IMAGE = Need("ecr:BatchGetImage", "arn:{partition}:ecr:{region}:{account}:repository/mirror")

NODE_NEEDS: dict[str, tuple[Need, ...]] = {
    "ecr.api": (ECR_TOKEN,),
    "ecr.dkr": (
        OWN_IMAGE,
        Need(
            "ecr:BatchGetImage",
            f"arn:{{partition}}:ecr:{{region}}:{EKS_ADDON_REGISTRY}:repository/amazon-k8s-cni",
        ),
    ),
    "s3": (
        ECR_LAYER,
        Need("s3:GetObject", _S3 + "al2023-repos-{region}-de612dc2/core/mirrors", signed=False),
    ),
    "ec2": (Need("ec2:DescribeInstances", "*"),),
    "sts": (
        Need("sts:AssumeRoleWithWebIdentity", "arn:{partition}:iam::{account}:role/app", False),
    ),
    "eks-auth": (
        Need(
            "eks-auth:AssumeRoleForPodIdentity", "arn:{partition}:eks:{region}:{account}:cluster/c"
        ),
    ),
    "logs": (
        Need(
            "logs:PutLogEvents", "arn:{partition}:logs:{region}:{account}:log-group:g:log-stream:s"
        ),
    ),
}
"""What nodes call at bootstrap and run time: image pulls (own mirror and the EKS add-on
registry, layers presigned by ECR), the AL2023 repositories, IRSA (unsigned), Pod Identity."""
FRAMEWORK_NEEDS: dict[str, tuple[Need, ...]] = {
    "lambda": (
        Need("lambda:InvokeFunction", "arn:{partition}:lambda:{region}:{account}:function:h"),
    ),
    "s3": (
        Need(
            "s3:PutObject",
            _S3 + "cloudformation-custom-resource-response-{region_nodash}/reply",
            signed=False,
        ),
    ),
}
"""A provider framework invokes its handler and puts the reply to CloudFormation's bucket."""
KUBECTL_HANDLER_NEEDS: dict[str, tuple[Need, ...]] = {
    "eks": (Need("eks:DescribeCluster", "arn:{partition}:eks:{region}:{account}:cluster/c"),),
    "sts": (Need("sts:GetCallerIdentity", "*"),),
    "ecr.api": (ECR_TOKEN,),
    "ecr.dkr": (OWN_IMAGE,),
    "s3": (ECR_LAYER, Need("s3:GetObject", _S3 + "{assets}/chart.zip")),
}
"""The kubectl handler: the cluster, OCI charts from the mirror, local charts (file assets)."""
NODE_SERVICES = tuple(NODE_NEEDS)
FRAMEWORK_SERVICES = tuple(FRAMEWORK_NEEDS)
KUBECTL_HANDLER_SERVICES = tuple(KUBECTL_HANDLER_NEEDS)
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
    needs: tuple[Need, ...] = ()
    """The calls made through the destination's endpoint (checked against its policy)."""


@dataclass
class Model:
    """Parties and flows of one assembly."""

    network: Network
    parties: dict[str, Party] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    assets: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Asset buckets by (account, region), filled as the trace needs them."""


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
        for service, needs in FRAMEWORK_NEEDS.items():
            yield Flow(
                name, Destination(service=service), 443, reason="provider framework", needs=needs
            )
        if isinstance(target, ResourceRef):
            handler = f"lambda {target.stack.name}/{target.logical_id}"
            if handler in model.parties:
                for service, needs in KUBECTL_HANDLER_NEEDS.items():
                    yield Flow(
                        handler,
                        Destination(service=service),
                        443,
                        reason="kubectl handler",
                        needs=needs,
                    )
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
        for service, needs in NODE_NEEDS.items():
            yield Flow(
                name, Destination(service=service), 443, reason="node bootstrap", needs=needs
            )
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
    """Each app's NetworkPolicy ``ipBlock`` egress, from the node group labelled with the app.

    An app's AWS policies (label ``eks-secure.io/aws-egress``): ``s3`` becomes a flow to S3
    through the gateway endpoint; ``pod-identity`` (the agent on the pod's own node) none."""
    for app, cidr, port, protocol, aws in app_egress(assembly):
        if aws == "pod-identity":
            continue  # node-local: never routed, nothing in the templates to check
        destination = Destination(service="s3") if aws == "s3" else Destination(cidr=cidr)
        for name in _node_parties(model, f"nodes:{APP_LABEL}={app}"):
            yield Flow(name, destination, port, protocol, reason=f"app {app}")


def app_egress(assembly: Assembly) -> Iterator[tuple[str, Net, int, int, str | None]]:
    """(app, CIDR, port, protocol, AWS egress kind or ``None``) of every app namespace's
    NetworkPolicy ipBlock egress."""
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
            aws = o.get("metadata", {}).get("labels", {}).get(AWS_EGRESS_LABEL)
            for egress in o.get("spec", {}).get("egress", []):
                cidrs = [t["ipBlock"]["cidr"] for t in egress.get("to", []) if "ipBlock" in t]
                for cidr in cidrs:
                    for port in egress.get("ports", []):
                        protocol = 17 if port.get("protocol") == "UDP" else 6
                        net = ipaddress.IPv4Network(cidr)
                        yield app, net, int(port["port"]), protocol, aws


def declared_flows(assembly: Assembly, model: Model) -> Iterator[Flow]:
    """Flows declared in resource metadata (``eks-secure:flows``)."""
    for _, _, resource in assembly.all_resources():
        for spec in resource.get("Metadata", {}).get(FLOWS_METADATA, []):
            protocol = 17 if str(spec.get("protocol", "tcp")).lower() == "udp" else 6
            needs = tuple(
                Need(str(n["action"]), str(n["resource"]), bool(n.get("signed", True)))
                for n in spec.get("needs", [])
            )
            sources = _select(model, str(spec["from"]))
            for source in sources:
                for destination in _destinations(model, str(spec["to"])):
                    if destination.party == source:
                        continue
                    yield Flow(
                        source,
                        destination,
                        int(spec["port"]),
                        protocol,
                        reason="declared",
                        needs=needs,
                    )


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
        gateway = net.s3_gateway(subnet.route_table) or net.interface("s3")
        if gateway is None:
            failures.append(
                f"route table of {subnet.logical_id} is not associated with an S3 gateway endpoint"
            )
        else:
            failures += policy_failures(model, gateway, flow, source.stack)
        dst_nets, peer_for_sg, prefix_list = [S3_SAMPLE], [S3_SAMPLE], True
    elif flow.destination.service:
        endpoint = net.interface(flow.destination.service)
        if endpoint is None:
            return Path([f"no interface endpoint for {flow.destination.service}"])
        if not endpoint.private_dns:
            failures.append(f"endpoint {flow.destination.service} has private DNS off")
        failures += policy_failures(model, endpoint, flow, source.stack)
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


def requests_of(model: Model, need: Need, stack: Stack) -> list[Request]:
    """The concrete requests of ``need`` from ``stack`` (one per asset bucket for ``{assets}``)."""
    env = stack.env
    names = {
        "partition": env.partition,
        "region": env.region,
        "region_nodash": env.region.replace("-", ""),
        "account": env.account,
    }
    if "{assets}" in need.resource:
        buckets = model.assets.get((env.account, env.region))
        if buckets is None:
            buckets = model.assets[(env.account, env.region)] = asset_buckets(stack.assembly, env)
        resources = [need.resource.format(**names, assets=b) for b in buckets]
    else:
        resources = [need.resource.format(**names)]
    requests = []
    for resource in resources:
        context: dict[str, ContextValue] = {}
        if need.signed:
            context["aws:PrincipalAccount"] = env.account
        owner = resource.split(":")[4] if resource.count(":") >= 5 else ""
        if owner:
            context["aws:ResourceAccount"] = owner
        requests.append(Request(need.action, resource, context))
    return requests


def _principal_applies(principal: Any, account: str, signed: bool) -> bool:
    """Whether an endpoint-policy ``Principal`` covers the caller (any, or this account)."""
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    values = values if isinstance(values, list) else [values]
    return any(v == "*" or (signed and account in str(v)) for v in values)


def policy_failures(model: Model, endpoint: Endpoint, flow: Flow, stack: Stack) -> list[str]:
    """Each need of ``flow`` that the endpoint policy of ``endpoint`` denies."""
    if endpoint.policy is None or not flow.needs:
        return []
    failures = []
    for need in flow.needs:
        document = {
            "Statement": [
                s
                for s in endpoint.policy.get("Statement", [])
                if isinstance(s, dict)
                and _principal_applies(s.get("Principal"), stack.env.account, need.signed)
            ]
        }
        statements = policy_statements(document, f"the {endpoint.service} endpoint policy")
        for request in requests_of(model, need, stack):
            decision = evaluate(statements, request)
            if not decision.allowed:
                failures.append(
                    f"endpoint policy of {endpoint.service} denies {request.action} on "
                    f"{request.resource} ({decision.culprit()})"
                )
    return failures


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
