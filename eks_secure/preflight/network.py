"""The VPC as the templates build it: subnets, routes, endpoints, security groups and NACLs.

Pure data read from the assembly, plus the EKS-managed cluster security group, which EKS creates
outside the template. EKS documents its rules: inbound all traffic from itself, outbound all
traffic; it is attached to the control-plane ENIs and, when the launch template names no
security group, to the nodes of managed node groups.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.physical import render, render_tree

Net = ipaddress.IPv4Network
CLUSTER_SG = "eks-cluster-security-group"
ANY = ipaddress.IPv4Network("0.0.0.0/0")
S3_SAMPLE = ipaddress.IPv4Network("52.218.0.10/32")
"""A representative S3 address (S3 is reached at its public ranges through the gateway)."""
EPHEMERAL = (1024, 65535)


def key(stack: Stack, logical_id: str) -> str:
    """A resource's assembly-wide key."""
    return f"{stack.key}#{logical_id}"


def ref_key(value: object) -> str | None:
    """The key of the resource a resolved value references."""
    if isinstance(value, ResourceRef) and value.logical_id in value.stack.resources:
        return key(value.stack, value.logical_id)
    return None


PROTOCOLS = {"-1": -1, "tcp": 6, "udp": 17, "icmp": 1, "6": 6, "17": 17, "1": 1}


@dataclass(frozen=True)
class SgRule:
    """One security-group rule: protocol (-1 = all), port range, and a CIDR, group or list."""

    protocol: int
    ports: tuple[int, int]
    cidr: Net | None = None
    group: str | None = None
    prefix_list: str | None = None

    def allows(
        self, protocol: int, port: int, peer: Net | None, groups: set[str], pl: bool
    ) -> bool:
        """Whether the rule admits traffic to/from ``peer`` (or one of ``groups``)."""
        if self.protocol not in (-1, protocol):
            return False
        if self.protocol != -1 and not self.ports[0] <= port <= self.ports[1]:
            return False
        if self.group is not None:
            return self.group in groups
        if self.prefix_list is not None:
            return pl
        return self.cidr is not None and peer is not None and peer.subnet_of(self.cidr)


@dataclass
class SecurityGroup:
    """A security group with its rules (``egress`` None: CloudFormation's default allow-all)."""

    key: str
    ingress: list[SgRule] = field(default_factory=list)
    egress: list[SgRule] = field(default_factory=list)


@dataclass(frozen=True)
class AclRule:
    """One NACL entry."""

    number: int
    egress: bool
    allow: bool
    protocol: int
    ports: tuple[int, int]
    cidr: Net


@dataclass
class Subnet:
    """A subnet with its route table and network ACL."""

    key: str
    stack: Stack
    logical_id: str
    cidr: Net
    route_table: str | None = None
    acl: str | None = None


@dataclass
class Route:
    """A route: destination and target kind (``tgw``, ``vgw``, ``nat``, ...) and target key."""

    destination: Net
    target_kind: str
    target: str
    logical_id: str


@dataclass
class Endpoint:
    """A VPC endpoint."""

    key: str
    service: str
    kind: str
    subnets: list[str]
    groups: list[str]
    private_dns: bool
    route_tables: list[str]
    policy: dict[str, Any] | None = None
    """The endpoint policy, leaves rendered as text (``None``: the default full access)."""


@dataclass
class NatGateway:
    """A NAT gateway: its subnet and private IP."""

    key: str
    subnet: str
    ip: str


def _net(text: str) -> Net | None:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None


def _sg_rules(raw: Any, peer_key: str, stack: Stack) -> list[SgRule]:
    rules = []
    for rule in raw if isinstance(raw, list) else []:
        if not isinstance(rule, dict):
            continue
        protocol = PROTOCOLS.get(render(rule.get("IpProtocol", "-1")).lower(), -2)
        ports = (
            int(render(rule.get("FromPort", 0)) or 0),
            int(render(rule.get("ToPort", 65535)) or 0),
        )
        if protocol == -1:
            ports = (0, 65535)
        group = ref_key(rule.get(peer_key))
        if group is None and isinstance(rule.get(peer_key), str):
            group = str(rule.get(peer_key))
        rules.append(
            SgRule(
                protocol=protocol,
                ports=ports,
                cidr=_net(render(rule["CidrIp"])) if "CidrIp" in rule else None,
                group=group,
                prefix_list=render(
                    rule.get("DestinationPrefixListId") or rule.get("SourcePrefixListId")
                )
                or None,
            )
        )
    return rules


@dataclass
class Network:
    """Everything the reachability check needs, keyed by resource key."""

    vpc_cidrs: list[Net] = field(default_factory=list)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    routes: dict[str, list[Route]] = field(default_factory=dict)
    groups: dict[str, SecurityGroup] = field(default_factory=dict)
    acls: dict[str, list[AclRule]] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    nat_gateways: dict[str, NatGateway] = field(default_factory=dict)

    def in_vpc(self, net: Net) -> bool:
        """Whether ``net`` lies in a VPC CIDR."""
        return any(net.subnet_of(c) for c in self.vpc_cidrs)

    def route_for(self, table: str | None, net: Net) -> Route | None:
        """The most specific non-local route of ``table`` covering ``net``."""
        best = None
        for route in self.routes.get(table or "", []):
            if net.subnet_of(route.destination) and (
                best is None or route.destination.prefixlen > best.destination.prefixlen
            ):
                best = route
        return best

    def s3_gateway(self, table: str | None) -> Endpoint | None:
        """The S3 gateway endpoint associated with ``table``."""
        for endpoint in self.endpoints:
            if (
                endpoint.kind == "Gateway"
                and endpoint.service == "s3"
                and table in endpoint.route_tables
            ):
                return endpoint
        return None

    def interface(self, service: str) -> Endpoint | None:
        """The interface endpoint of ``service``."""
        for endpoint in self.endpoints:
            if endpoint.kind == "Interface" and endpoint.service == service:
                return endpoint
        return None

    def acl_allows(
        self, acl: str | None, egress: bool, protocol: int, ports: tuple[int, int], peer: Net
    ) -> bool:
        """Whether the subnet's NACL admits the traffic (no custom NACL: the default allows)."""
        if acl is None:
            return True
        for rule in sorted(self.acls.get(acl, []), key=lambda r: r.number):
            if rule.egress != egress or rule.protocol not in (-1, protocol):
                continue
            if rule.protocol != -1 and not (
                rule.ports[0] <= ports[0] and ports[1] <= rule.ports[1]
            ):
                continue
            if not peer.subnet_of(rule.cidr):
                continue
            return rule.allow
        return False


def read(assembly: Assembly) -> Network:
    """Build the :class:`Network` of the assembly."""
    net = Network()
    net.groups[CLUSTER_SG] = SecurityGroup(
        CLUSTER_SG,
        ingress=[SgRule(-1, (0, 65535), group=CLUSTER_SG)],
        egress=[SgRule(-1, (0, 65535), cidr=ANY)],
    )
    for stack, lid, resource in assembly.all_resources():
        rtype = resource.get("Type")
        props = stack.properties(lid)
        k = key(stack, lid)
        if rtype in ("AWS::EC2::VPC", "AWS::EC2::VPCCidrBlock"):
            cidr = _net(render(props.get("CidrBlock", "")))
            if cidr is not None:
                net.vpc_cidrs.append(cidr)
        elif rtype == "AWS::EC2::Subnet":
            cidr = _net(render(props.get("CidrBlock", "")))
            if cidr is not None:
                net.subnets[k] = Subnet(k, stack, lid, cidr)
        elif rtype == "AWS::EC2::SecurityGroup":
            egress = props.get("SecurityGroupEgress")
            net.groups[k] = SecurityGroup(
                k,
                ingress=_sg_rules(
                    props.get("SecurityGroupIngress", []), "SourceSecurityGroupId", stack
                ),
                egress=_sg_rules(egress, "DestinationSecurityGroupId", stack)
                if egress is not None
                else [SgRule(-1, (0, 65535), cidr=ANY)],
            )
        elif rtype == "AWS::EC2::NetworkAclEntry":
            acl = ref_key(props.get("NetworkAclId"))
            cidr = _net(render(props.get("CidrBlock", "")))
            if acl is None or cidr is None:
                continue
            protocol = int(render(props.get("Protocol", -1)))
            port_range = props.get("PortRange", {})
            ports = (
                int(render(port_range.get("From", 0))),
                int(render(port_range.get("To", 65535))),
            )
            net.acls.setdefault(acl, []).append(
                AclRule(
                    int(render(props.get("RuleNumber", 32767))),
                    render(props.get("Egress", False)) == "true",
                    render(props.get("RuleAction", "deny")).lower() == "allow",
                    protocol,
                    ports if protocol != -1 else (0, 65535),
                    cidr,
                )
            )
        elif rtype == "AWS::EC2::NetworkAcl":
            net.acls.setdefault(k, [])
        elif rtype == "AWS::EC2::VPCEndpoint":
            service = render(props.get("ServiceName", "")).split(".", 3)[-1]
            net.endpoints.append(
                Endpoint(
                    k,
                    service,
                    render(props.get("VpcEndpointType", "Gateway")),
                    [s for s in (ref_key(v) for v in props.get("SubnetIds", [])) if s],
                    [g for g in (ref_key(v) for v in props.get("SecurityGroupIds", [])) if g],
                    render(props.get("PrivateDnsEnabled", False)) == "true",
                    [t for t in (ref_key(v) for v in props.get("RouteTableIds", [])) if t],
                    render_tree(props["PolicyDocument"]) if "PolicyDocument" in props else None,
                )
            )
        elif rtype == "AWS::EC2::NatGateway":
            subnet = ref_key(props.get("SubnetId"))
            if subnet is not None:
                net.nat_gateways[k] = NatGateway(
                    k, subnet, render(props.get("PrivateIpAddress", ""))
                )
    for stack, lid, resource in assembly.all_resources():
        rtype = resource.get("Type")
        props = stack.properties(lid)
        if rtype == "AWS::EC2::SubnetRouteTableAssociation":
            subnet, table = ref_key(props.get("SubnetId")), ref_key(props.get("RouteTableId"))
            if subnet in net.subnets:
                net.subnets[subnet].route_table = table
        elif rtype == "AWS::EC2::SubnetNetworkAclAssociation":
            subnet, acl = ref_key(props.get("SubnetId")), ref_key(props.get("NetworkAclId"))
            if subnet in net.subnets:
                net.subnets[subnet].acl = acl
        elif rtype == "AWS::EC2::Route":
            table = ref_key(props.get("RouteTableId"))
            destination = _net(render(props.get("DestinationCidrBlock", "")))
            if table is None or destination is None:
                continue
            for prop, kind in (
                ("TransitGatewayId", "tgw"),
                ("GatewayId", "gateway"),
                ("NatGatewayId", "nat"),
                ("VpcPeeringConnectionId", "pcx"),
                ("NetworkInterfaceId", "eni"),
                ("VpcEndpointId", "vpce"),
            ):
                if prop in props:
                    target = ref_key(props[prop]) or render(props[prop])
                    net.routes.setdefault(table, []).append(Route(destination, kind, target, lid))
        elif rtype in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            group = ref_key(props.get("GroupId"))
            if group in net.groups:
                egress = rtype.endswith("Egress")
                peer = "DestinationSecurityGroupId" if egress else "SourceSecurityGroupId"
                rules = _sg_rules([props], peer, stack)
                side = net.groups[group].egress if egress else net.groups[group].ingress
                side.extend(rules)
    return net
