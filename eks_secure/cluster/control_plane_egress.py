"""The network path ``CUSTOMER_ROUTED`` control-plane egress needs, built and checked.

With ``ControlPlaneEgressMode: CUSTOMER_ROUTED`` the API server's calls to webhooks, OIDC issuers
and aggregated APIs leave through the cluster's ENIs in the control-plane subnets, governed by
their route tables, NACLs and the cluster security group. This module opens exactly those flows:
443/10250/webhook ports to the VPC, and each declared destination's port to its CIDR, after
checking that every declared destination has a route.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from eks_secure.config.model import ControlPlaneDestination
from eks_secure.errors import ConfigError
from eks_secure.nag import acknowledge

IN_CLUSTER_WEBHOOK_PORTS: tuple[int, ...] = (443, 4443, 6443, 8443, 9443, 15017)
"""Target ports in-cluster admission webhooks commonly listen on (Kyverno 9443, Istio 15017)."""

KUBELET_PORT = 10250
EPHEMERAL = ec2.AclTraffic.tcp_port_range(1024, 65535)


def check_destinations_routable(
    destinations: Sequence[ControlPlaneDestination],
    vpc_cidr: str,
    routed_on_prem_cidrs: Sequence[str],
) -> None:
    """Raise a field-named error for any destination with no route from the control plane."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    routed = [ipaddress.IPv4Network(c) for c in routed_on_prem_cidrs]
    for i, dest in enumerate(destinations):
        try:
            net = ipaddress.IPv4Network(dest.cidr)
        except ValueError:
            raise ConfigError(
                f"control_plane_egress[{i}].cidr",
                f"'{dest.cidr}' is not an IPv4 CIDR",
                "write it as a.b.c.d/n",
            ) from None
        if net.subnet_of(vpc) or any(net.subnet_of(r) for r in routed):
            continue
        raise ConfigError(
            f"control_plane_egress[{i}].cidr",
            f"{dest.name} ({dest.cidr}) has no route from the control-plane subnets: it is "
            "neither inside the VPC nor inside an on-prem CIDR routed through on_prem_route",
            "add a covering CIDR to on_prem_cidrs and declare on_prem_route, or correct the CIDR",
        )


class ControlPlaneEgress(Construct):
    """Security group and NACL of the control-plane ENIs for ``CUSTOMER_ROUTED`` egress.

    :param vpc: the cluster VPC.
    :param vpc_cidr: its CIDR (plain string).
    :param subnets: the control-plane subnets (get the NACL).
    :param destinations: external destinations the API server calls.
    :param routed_on_prem_cidrs: on-prem CIDRs the control-plane subnets route to.
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
    ) -> None:
        super().__init__(scope, id)
        check_destinations_routable(destinations, vpc_cidr, routed_on_prem_cidrs)
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
        sg.add_egress_rule(vpc_peer, ec2.Port.tcp(KUBELET_PORT), "kubelet exec/logs/port-forward")
        for port in IN_CLUSTER_WEBHOOK_PORTS:
            sg.add_egress_rule(vpc_peer, ec2.Port.tcp(port), f"in-cluster webhooks on {port}")
        for dest in destinations:
            sg.add_egress_rule(
                ec2.Peer.ipv4(dest.cidr),
                ec2.Port.tcp(dest.port),
                f"control-plane egress: {dest.name}",
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
        rule = 100
        in_rules: list[tuple[str, ec2.AclCidr, ec2.AclTraffic]] = [
            ("ApiFromVpc", vpc_acl, ec2.AclTraffic.tcp_port(443)),
            ("ReturnFromVpc", vpc_acl, EPHEMERAL),
        ]
        out_rules: list[tuple[str, ec2.AclCidr, ec2.AclTraffic]] = [
            ("ReturnToVpc", vpc_acl, EPHEMERAL),
            ("KubeletToVpc", vpc_acl, ec2.AclTraffic.tcp_port(KUBELET_PORT)),
            *(
                (f"WebhookToVpc{port}", vpc_acl, ec2.AclTraffic.tcp_port(port))
                for port in IN_CLUSTER_WEBHOOK_PORTS
            ),
        ]
        for dest in destinations:
            dest_acl = ec2.AclCidr.ipv4(dest.cidr)
            suffix = _id_suffix(dest.name)
            in_rules.append((f"ReturnFrom{suffix}", dest_acl, EPHEMERAL))
            out_rules.append((f"To{suffix}", dest_acl, ec2.AclTraffic.tcp_port(dest.port)))
        for direction, rules in (
            (ec2.TrafficDirection.INGRESS, in_rules),
            (ec2.TrafficDirection.EGRESS, out_rules),
        ):
            rule = 100
            for name, cidr, traffic in rules:
                acl.add_entry(
                    f"{direction.value.capitalize()}{name}",
                    cidr=cidr,
                    traffic=traffic,
                    rule_number=rule,
                    direction=direction,
                    rule_action=ec2.Action.ALLOW,
                )
                rule += 10


def _id_suffix(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
