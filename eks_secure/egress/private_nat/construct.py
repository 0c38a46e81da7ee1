"""Egress pattern 2, the CDK side: NAT groups with private NAT gateways, app routes to them."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.cluster import SecureCluster
from eks_secure.egress.contract import Tenant
from eks_secure.egress.dedicated.construct import DedicatedNodesPattern, own_stack
from eks_secure.egress.private_nat import NAT_POOL, SETTINGS_KEY, PrivateNatEgress
from eks_secure.errors import ConfigError
from eks_secure.network.onprem import cidr_id
from eks_secure.network.planner import SlotPlan
from eks_secure.stack_refs import pass_to

PRICING_URL = "https://aws.amazon.com/vpc/pricing/"
"""Where NAT gateway prices (per hour and per GB processed, by region) are published."""


def validate_nat_groups(
    spec: PrivateNatEgress, tenants: Sequence[Tenant], groups: Sequence[SlotPlan]
) -> None:
    """Raise field-named errors unless every tenant's NAT group is planned and every planned
    group is used by at least one tenant."""
    planned = {g.name for g in groups}
    errors: list[ConfigError] = []
    for tenant in tenants:
        group = spec.nat_group_of(tenant.name)
        if group is not None and group not in planned:
            errors.append(
                ConfigError(
                    f"{spec.field_of(tenant.name)}.nat_group",
                    f"NAT group '{group}' of app '{tenant.name}' is not in the network plan "
                    f"(planned: {', '.join(sorted(planned)) or 'none'})",
                    "plan the network with the same spec and tenants (plan_deployment)",
                )
            )
    used = set(spec.groups(tenants))
    for name in sorted(planned - used):
        errors.append(
            ConfigError(
                f"{SETTINGS_KEY}.groups.{name}",
                f"NAT group '{name}' is planned but no app uses it; its NAT gateways would be "
                "billed for nothing",
                "set some app's nat_group to it or drop it from the plan",
            )
        )
    rules.raise_problems(errors)


class NatGroup(Construct):
    """The NAT subnets and private NAT gateways of one NAT group, one of each per AZ.

    The NAT subnets route the on-prem CIDRs to the transit gateway or VPN gateway; each gateway
    gets the fixed primary private IP the address plan chose for its AZ.

    :param cluster: the cluster whose VPC holds the group's address plan.
    :param plan: the group's plan (``plan.nat_group(name)``).
    :param nested: put the group's resources in their own nested stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        plan: SlotPlan,
        nested: bool = True,
    ) -> None:
        super().__init__(scope, id)
        self.plan = plan
        """The group's subnets and NAT IPs as planned."""
        self.container: Construct = own_stack(self, nested, f"eks-secure NAT group {plan.name}")
        """Where the group's resources live: its nested stack, or this construct."""
        self.subnets: list[ec2.ISubnet] = cluster.network.add_subnets(
            Construct(self.container, "Subnets"), plan, route_on_prem=True
        )
        """The group's NAT subnets, one per AZ (on-prem routes to the TGW/VGW)."""
        self.gateways: list[ec2.CfnNatGateway] = []
        """The group's private NAT gateways, in AZ order."""
        for planned, subnet, ip in zip(plan.subnets, self.subnets, plan.fixed_ips, strict=True):
            self.gateways.append(
                ec2.CfnNatGateway(
                    self.container,
                    f"Gateway{planned.az_position + 1}",
                    connectivity_type="private",
                    subnet_id=subnet.subnet_id,
                    private_ip_address=ip,
                    tags=[
                        cdk.CfnTag(
                            key="Name",
                            value=f"{cluster.cluster_name}-nat-{plan.name}-{planned.az}",
                        )
                    ],
                )
            )

    @property
    def source_cidrs(self) -> tuple[str, ...]:
        """The gateways' primary private IPs as ``/32`` CIDRs, in AZ order."""
        return tuple(f"{g.private_ip_address}/32" for g in self.gateways)


class PrivateNat(DedicatedNodesPattern):
    """Apps grouped behind private NAT gateways with fixed IPs, routed to on-premises.

    Per app (as in pattern 1): dedicated subnets (without direct on-prem routes), a tainted node
    group and a fenced namespace whose NetworkPolicies allow DNS and the app's on-prem
    destinations on its ports only. Per NAT group: NAT subnets and a private NAT gateway in each
    AZ. Each app subnet routes every on-prem CIDR to its group's gateway in the same AZ.

    Allow-list: each app's group's NAT gateway IPs (``/32`` each, read from the gateways
    created). A synth-time info annotation states how many NAT gateways this creates.

    Props as :class:`~eks_secure.egress.dedicated.construct.DedicatedNodesPattern`, with
    ``spec`` a :class:`~eks_secure.egress.private_nat.PrivateNatEgress`; the cluster's network
    plan must hold the spec's NAT pool (``plan_deployment`` plans it), and every planned group
    must be used. The pattern turns the vpc-cni's external SNAT on itself.
    """

    spec: PrivateNatEgress

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """NAT groups, and each app subnet's on-prem routes to its group's NAT in its AZ."""
        cluster = self.cluster
        plan = cluster.network.plan
        groups = plan.pool(NAT_POOL).members if plan.has_pool(NAT_POOL) else ()
        validate_nat_groups(self.spec, self.tenants, groups)
        self.nat_groups: dict[str, NatGroup] = {
            group.name: NatGroup(
                self, f"NatGroup-{group.name}", cluster=cluster, plan=group, nested=self.nested
            )
            for group in sorted(groups, key=lambda g: g.name)
        }
        """Each NAT group's subnets and gateways, by name."""
        self.routes: dict[str, list[ec2.CfnRoute]] = {}
        """Each app's on-prem routes through its group's gateways, by app name."""
        cidrs = cluster.network.on_prem_cidrs
        for name, app in self.apps.items():
            group = self.nat_groups[str(self.spec.nat_group_of(name))]
            scope_routes = Construct(app.container, "OnPremViaNat")
            routes: list[ec2.CfnRoute] = []
            for subnet, gateway, planned in zip(
                app.subnets, group.gateways, group.plan.subnets, strict=True
            ):
                for cidr in cidrs:
                    routes.append(
                        ec2.CfnRoute(
                            scope_routes,
                            f"Subnet{planned.az_position + 1}OnPrem{cidr_id(cidr)}",
                            route_table_id=subnet.route_table.route_table_id,
                            destination_cidr_block=cidr,
                            nat_gateway_id=pass_to(
                                scope_routes,
                                cdk.Stack.of(group.container),
                                f"NatGateway{planned.az_position + 1}",
                                gateway.ref,
                            ),
                        )
                    )
            self.routes[name] = routes

        gateway_count = sum(len(g.gateways) for g in self.nat_groups.values())
        cdk.Annotations.of(self).add_info(
            f"eks-secure private-nat: {gateway_count} private NAT gateways "
            f"({len(self.nat_groups)} NAT group(s) x {len(plan.availability_zones)} AZs). "
            "Each is billed per hour plus per GB of data processed; prices vary by region, "
            f"see {PRICING_URL}"
        )
        return {
            name: self.nat_groups[str(self.spec.nat_group_of(name))].source_cidrs
            for name in self.apps
        }
