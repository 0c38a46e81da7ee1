"""The network path ``CUSTOMER_ROUTED`` control-plane egress needs, built and checked.

With ``ControlPlaneEgressMode: CUSTOMER_ROUTED`` the API server's calls to webhooks, OIDC issuers
and aggregated APIs leave through the cluster's ENIs in the control-plane subnets, governed by
their route tables, NACLs and the cluster security group. This module opens exactly those flows:
443/10250/webhook ports to the VPC, and each declared destination's port to its CIDR, after
checking that every declared destination has a route. Each destination also gets an allow-list
entry (app ``control-plane``, output ``EksSecureAllowListControlPlane<Name>``) with the
control-plane subnets' CIDRs as sources: on-premises sees those addresses.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from eks_secure import rules
from eks_secure.config.model import ControlPlaneDestination
from eks_secure.egress.allowlist import control_plane_entry, control_plane_output_id
from eks_secure.egress.contract import AllowListEntry
from eks_secure.egress.outputs import publish_entry
from eks_secure.errors import ConfigError
from eks_secure.nag import acknowledge

IN_CLUSTER_WEBHOOK_PORTS: tuple[int, ...] = (443, 4443, 6443, 8443, 9443, 15017)
"""Target ports in-cluster admission webhooks commonly listen on (Kyverno 9443, Istio 15017)."""

KUBELET_PORT = 10250
NACL_RULES_PER_DIRECTION = 20
"""AWS default quota of rules per network ACL and direction."""
EPHEMERAL = ec2.AclTraffic.tcp_port_range(1024, 65535)

_Rule = tuple[str, str, ec2.AclTraffic]
"""A NACL rule: direction (``in``/``out``), name, traffic."""


def check_destinations_routable(
    destinations: Sequence[ControlPlaneDestination],
    vpc_cidr: str,
    routed_on_prem_cidrs: Sequence[str],
    *,
    field: str = "control_plane_egress",
) -> None:
    """Raise a field-named error for any destination with no route from the control plane."""
    check_cidrs_routable(
        [
            (f"{field}[{i}].cidr", f"{d.cidr} ({d.name})", d.cidr)
            for i, d in enumerate(destinations)
        ],
        vpc_cidr,
        routed_on_prem_cidrs,
    )


def check_cidrs_routable(
    entries: Sequence[tuple[str, str, str]], vpc_cidr: str, routed_on_prem_cidrs: Sequence[str]
) -> None:
    """Raise field-named errors for (field, description, CIDR) entries with no route."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    routed = [ipaddress.IPv4Network(c) for c in routed_on_prem_cidrs]
    problems = []
    for field, what, cidr in entries:
        try:
            net = rules.parse_cidr(cidr, field, "10.1.2.0/24")
        except ConfigError as exc:
            problems.append(exc)
            continue
        problems += rules.routable(net, vpc, routed, route_given=True, field=field, what=what)
    rules.raise_problems(problems)


class ControlPlaneEgress(Construct):
    """Security group and NACL of the control-plane ENIs for ``CUSTOMER_ROUTED`` egress.

    :param vpc: the cluster VPC.
    :param vpc_cidr: its CIDR (plain string).
    :param subnets: the control-plane subnets (get the NACL).
    :param destinations: external destinations the API server calls.
    :param routed_on_prem_cidrs: on-prem CIDRs the control-plane subnets route to.
    :param api_access_cidrs: routed networks (e.g. operators on-premises) allowed to reach the
        private API endpoint on 443, besides the VPC.
    :param webhook_ports: further in-cluster webhook ports the egress pattern needs
        (``ClusterOptions.control_plane_ports``) besides :data:`IN_CLUSTER_WEBHOOK_PORTS`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        vpc_cidr: str,
        subnets: Sequence[ec2.ISubnet],
        destinations: Sequence[ControlPlaneDestination] = (),
        routed_on_prem_cidrs: Sequence[str] = (),
        api_access_cidrs: Sequence[str] = (),
        webhook_ports: Sequence[int] = (),
        pod_cidrs: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id)
        self.webhook_ports: tuple[int, ...] = (
            *IN_CLUSTER_WEBHOOK_PORTS,
            *sorted({p for p in webhook_ports if p not in IN_CLUSTER_WEBHOOK_PORTS}),
        )
        """Every webhook port the control plane may call in the VPC."""
        check_destinations_routable(destinations, vpc_cidr, routed_on_prem_cidrs)
        check_cidrs_routable(
            [(f"api_access_cidrs[{i}]", c, c) for i, c in enumerate(api_access_cidrs)],
            vpc_cidr,
            routed_on_prem_cidrs,
        )
        vpc_peer = ec2.Peer.ipv4(vpc_cidr)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description="EKS control-plane ENIs: API ingress from the VPC, declared egress only",
        )
        """Additional security group of the cluster's control-plane ENIs."""
        sg = self.security_group
        sg.add_ingress_rule(vpc_peer, ec2.Port.tcp(443), "Kubernetes API from inside the VPC")
        for cidr in api_access_cidrs:
            sg.add_ingress_rule(
                ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"Kubernetes API from {cidr}"
            )
        for cidr in pod_cidrs:
            sg.add_ingress_rule(
                ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"Kubernetes API from pods in {cidr}"
            )
        sg.add_egress_rule(vpc_peer, ec2.Port.tcp(KUBELET_PORT), "kubelet exec/logs/port-forward")
        for port in self.webhook_ports:
            sg.add_egress_rule(vpc_peer, ec2.Port.tcp(port), f"in-cluster webhooks on {port}")
            for cidr in pod_cidrs:
                sg.add_egress_rule(
                    ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), f"webhook pods in {cidr} on {port}"
                )
        for dest in destinations:
            sg.add_egress_rule(
                ec2.Peer.ipv4(dest.cidr),
                ec2.Port.tcp(dest.port),
                f"control-plane egress: {dest.name}",
            )

        sources = [subnet.ipv4_cidr_block for subnet in subnets]
        published = sorted(destinations, key=lambda d: control_plane_output_id(d.name))
        self.allow_list: tuple[AllowListEntry, ...] = tuple(
            control_plane_entry(dest.name, dest.cidr, dest.port, sources) for dest in published
        )
        """What the on-prem firewall must allow for the API server's own calls: one entry per
        destination, from the control-plane subnets (published as stack outputs, in output-ID
        order)."""
        for dest, entry in zip(published, self.allow_list, strict=True):
            publish_entry(
                self,
                control_plane_output_id(dest.name),
                entry,
                f"eks-secure allow-list of the control plane's CUSTOMER_ROUTED calls to "
                f"{dest.name}",
            )

        self.network_acl = ec2.NetworkAcl(
            self,
            "NetworkAcl",
            vpc=vpc,
            subnet_selection=ec2.SubnetSelection(subnets=list(subnets)),
        )
        """Stateless NACL of the control-plane subnets."""
        acknowledge(
            self.network_acl,
            "AwsSolutions::AwsSolutions-VPC3",
            "Deliberate: the control-plane subnets carry CUSTOMER_ROUTED egress, and this NACL "
            "limits it to the declared destinations and ports on top of the security group.",
        )
        acl = self.network_acl
        vpc_acl = ec2.AclCidr.ipv4(vpc_cidr)
        # (first rule number, [(peer id, peer, rules)]): the VPC rules are numbered from 100 in
        # order; API clients (1000-2980) and destinations (3000-4980) get numbers derived from
        # their names, so adding, removing or reordering entries never renumbers another one
        # (a renumbered NACL entry is replaced, and the replacement collides with the old one).
        groups: list[tuple[int, list[tuple[str, ec2.AclCidr, list[_Rule]]]]] = [
            (
                100,
                [
                    (
                        "Vpc",
                        vpc_acl,
                        [
                            ("in", "Api", ec2.AclTraffic.tcp_port(443)),
                            ("in", "Return", EPHEMERAL),
                            ("out", "Return", EPHEMERAL),
                            ("out", "Kubelet", ec2.AclTraffic.tcp_port(KUBELET_PORT)),
                            *(
                                ("out", f"Webhook{port}", ec2.AclTraffic.tcp_port(port))
                                for port in self.webhook_ports
                            ),
                        ],
                    )
                ],
            ),
            (
                1000,
                [
                    (
                        f"ApiClient{_id_suffix(c.replace('.', 'x').replace('/', 'm'))}",
                        ec2.AclCidr.ipv4(c),
                        [("in", "Api", ec2.AclTraffic.tcp_port(443)), ("out", "Return", EPHEMERAL)],
                    )
                    for c in api_access_cidrs
                ],
            ),
            (
                3000,
                [
                    (
                        _id_suffix(dest.name),
                        ec2.AclCidr.ipv4(dest.cidr),
                        [
                            ("out", "To", ec2.AclTraffic.tcp_port(dest.port)),
                            ("in", "ReturnFrom", EPHEMERAL),
                        ],
                    )
                    for dest in destinations
                ],
            ),
            (
                5000,
                [
                    (
                        f"Pods{_id_suffix(c.replace('.', 'x').replace('/', 'm'))}",
                        ec2.AclCidr.ipv4(c),
                        [
                            ("in", "Api", ec2.AclTraffic.tcp_port(443)),
                            ("out", "Return", EPHEMERAL),
                            *(
                                ("out", f"Webhook{port}", ec2.AclTraffic.tcp_port(port))
                                for port in self.webhook_ports
                            ),
                            ("in", "Return", EPHEMERAL),
                        ],
                    )
                    for c in pod_cidrs
                ],
            ),
        ]
        outbound = sum(
            1
            for _, peers in groups
            for *_, peer_rules in peers
            for r in peer_rules
            if r[0] == "out"
        )
        if outbound > NACL_RULES_PER_DIRECTION:
            raise ConfigError(
                "control_plane_egress",
                f"{len(destinations)} control-plane destinations and {len(api_access_cidrs)} API "
                f"client networks need {outbound} outbound NACL rules; a NACL holds "
                f"{NACL_RULES_PER_DIRECTION} per direction by default",
                "merge destinations and api_access_cidrs into wider CIDRs, or raise the NACL "
                "rules quota with AWS and keep the list short",
            )
        used: dict[tuple[str, int], str] = {}
        for first, peers in groups:
            counters = {"in": first, "out": first}
            for peer_id, peer, peer_rules in peers:
                for direction, name, traffic in peer_rules:
                    if first == 100:  # the fixed VPC rules: numbered in order
                        number = counters[direction]
                        counters[direction] += 10
                    else:  # per-peer rules: numbered from the peer's name, never renumbered
                        number = first + 10 * _stable_index(f"{peer_id}{direction}{name}", 199)
                    if (direction, number) in used:
                        raise ConfigError(
                            "control_plane_egress",
                            f"NACL rule numbers of '{peer_id}' and '{used[direction, number]}' "
                            "collide",
                            "rename one control-plane destination (or merge the API networks)",
                        )
                    used[direction, number] = peer_id
                    acl.add_entry(
                        f"{'Ingress' if direction == 'in' else 'Egress'}{name}{peer_id}",
                        cidr=peer,
                        traffic=traffic,
                        rule_number=number,
                        direction=ec2.TrafficDirection.INGRESS
                        if direction == "in"
                        else ec2.TrafficDirection.EGRESS,
                        rule_action=ec2.Action.ALLOW,
                    )


def _stable_index(key: str, modulus: int) -> int:
    """A number in ``range(modulus)`` that depends on ``key`` alone."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % modulus


def _id_suffix(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
