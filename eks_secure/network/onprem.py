"""Routes from the VPC to on-premises networks, through a transit gateway or a VPN gateway.

Routes are always *static*: one ``AWS::EC2::Route`` per on-prem CIDR per route table. Route
propagation from a virtual private gateway is deliberately never enabled (see
:class:`OnPremRouting`).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IDependable

from eks_secure import rules
from eks_secure.config.model import OnPremRoute
from eks_secure.errors import ConfigError


def cidr_id(cidr: str) -> str:
    """A construct-ID-safe, stable rendering of a CIDR: ``10.0.0.0/14`` -> ``10x0x0x0m14``."""
    return cidr.replace(".", "x").replace("/", "m")


def validate_on_prem(on_prem_cidrs: Sequence[str], on_prem_route: OnPremRoute | None) -> None:
    """Raise :class:`ConfigError` when the on-prem CIDRs and their route do not fit together.

    The route itself (exactly one target, well-formed IDs, a private ASN) is checked by
    :class:`~eks_secure.config.model.OnPremRoute` when it is built.
    """
    if on_prem_route is not None and not isinstance(on_prem_route, OnPremRoute):
        raise ConfigError(
            "on_prem_route",
            f"is a {type(on_prem_route).__name__}, not an OnPremRoute",
            "pass OnPremRoute(transit_gateway_id=...) or OnPremRoute(vpn_gateway=VpnGateway())",
        )
    rules.raise_problems(
        rules.on_prem_route_present(bool(on_prem_cidrs), on_prem_route is not None)[:1]
        if on_prem_cidrs
        else []
    )


class OnPremRouting(Construct):
    """Connects a VPC to on-premises and adds static on-prem routes to subnets on request.

    * Transit gateway: an ``AWS::EC2::TransitGatewayVpcAttachment`` of the VPC to the given
      (existing) transit gateway, with one attachment subnet per AZ.
    * VPN gateway: a new virtual private gateway (``ipsec.1``, optional Amazon-side ASN) attached
      to the VPC. Route propagation is **not** enabled: a propagated route to a longer on-prem
      prefix would win over our static routes in every subnet (including subnets whose on-prem
      traffic must go through a NAT gateway or an egress gateway) and bypass those controls.

    Every route created by :meth:`route_to_on_prem` depends on the attachment, because a route to
    a transit gateway or VPN gateway fails while the gateway is not yet attached.

    :param vpc_id: the VPC to attach.
    :param cidrs: the on-prem CIDRs to route.
    :param route: how to reach on-premises.
    :param attachment_subnets: transit gateway only: the attachment subnets, one per AZ.
    :param name_prefix: prefix of the ``Name`` tags.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc_id: str,
        cidrs: Sequence[str],
        route: OnPremRoute,
        attachment_subnets: Sequence[ec2.ISubnet] = (),
        name_prefix: str = "eks-secure",
    ) -> None:
        validate_on_prem(cidrs, route)
        super().__init__(scope, id)
        self.cidrs: tuple[str, ...] = tuple(cidrs)
        """The on-prem CIDRs routed by :meth:`route_to_on_prem`."""
        self.route: OnPremRoute = route
        """How on-premises is reached."""
        self.transit_gateway_attachment: ec2.CfnTransitGatewayVpcAttachment | None = None
        """The VPC's transit gateway attachment (transit gateway mode)."""
        self.vpn_gateway: ec2.CfnVPNGateway | None = None
        """The virtual private gateway (VPN gateway mode)."""
        self.vpn_gateway_attachment: ec2.CfnVPCGatewayAttachment | None = None
        """The attachment of :attr:`vpn_gateway` to the VPC (VPN gateway mode)."""

        attachment: IDependable | None = None
        if route.transit_gateway_id is not None and route.already_attached:
            self._target_id: str = route.transit_gateway_id
        elif route.vpn_gateway_id is not None:
            self._target_id = route.vpn_gateway_id
        elif route.transit_gateway_id is not None:
            if not attachment_subnets:
                raise ConfigError(
                    "OnPremRouting.attachment_subnets",
                    "a transit gateway attachment needs one subnet per AZ",
                    "pass the endpoint subnets (one per AZ)",
                )
            self.transit_gateway_attachment = ec2.CfnTransitGatewayVpcAttachment(
                self,
                "TransitGatewayAttachment",
                transit_gateway_id=route.transit_gateway_id,
                vpc_id=vpc_id,
                subnet_ids=[s.subnet_id for s in attachment_subnets],
                tags=[cdk.CfnTag(key="Name", value=f"{name_prefix}-tgw-attachment")],
            )
            attachment = self.transit_gateway_attachment
            self._target_id = route.transit_gateway_id
        else:
            self.vpn_gateway = ec2.CfnVPNGateway(
                self,
                "VpnGateway",
                type="ipsec.1",
                amazon_side_asn=route.vpn_gateway_asn,
                tags=[cdk.CfnTag(key="Name", value=f"{name_prefix}-vgw")],
            )
            self.vpn_gateway_attachment = ec2.CfnVPCGatewayAttachment(
                self, "VpnGatewayAttachment", vpc_id=vpc_id, vpn_gateway_id=self.vpn_gateway.ref
            )
            # Deliberately no AWS::EC2::VPNGatewayRoutePropagation: see the class docstring.
            attachment = self.vpn_gateway_attachment
            self._target_id = self.vpn_gateway.ref
        self.attachment: IDependable | None = attachment
        """What every on-prem route depends on (the TGW or VGW attachment eks-secure creates;
        ``None`` when an adopted VPC is already attached)."""

    @property
    def target_id(self) -> str:
        """The transit gateway ID or the VPN gateway ID (a token) that on-prem routes use."""
        return self._target_id

    def route_to_on_prem(
        self,
        scope: Construct,
        subnet: ec2.ISubnet,
        route_id_prefix: str = "OnPrem",
        cidrs: Sequence[str] | None = None,
        route_table_id: str | None = None,
    ) -> list[ec2.CfnRoute]:
        """Add a static route per on-prem CIDR to ``subnet``'s route table, inside ``scope``.

        Route IDs are ``<route_id_prefix><cidr_id(cidr)>`` (e.g. ``OnPrem10x0x0x0m14``), so pass
        a ``scope`` unique to the subnet (usually the subnet itself). ``cidrs`` defaults to all
        on-prem CIDRs; ``route_table_id`` to ``subnet.route_table.route_table_id`` (pass it when
        known: reading it is two jsii calls per subnet).
        """
        routes: list[ec2.CfnRoute] = []
        if route_table_id is None:
            route_table_id = subnet.route_table.route_table_id
        for cidr in self.cidrs if cidrs is None else cidrs:
            route = ec2.CfnRoute(
                scope,
                f"{route_id_prefix}{cidr_id(cidr)}",
                route_table_id=route_table_id,
                destination_cidr_block=cidr,
                transit_gateway_id=self._target_id if self.route.transit_gateway_id else None,
                gateway_id=None if self.route.transit_gateway_id else self._target_id,
            )
            if isinstance(self.attachment, cdk.CfnResource):
                route.add_resource_dependency(self.attachment)  # one jsii call, not two
            elif self.attachment is not None:
                route.node.add_dependency(self.attachment)
            routes.append(route)
        return routes
