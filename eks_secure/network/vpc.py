"""The private VPC of an eks-secure cluster: planned subnets, endpoints, flow logs, on-prem routes.

No internet gateway, no NAT gateway, no public IPs. Subnets come from a :class:`NetworkPlan` with
name-based construct IDs, so adding or removing an app never changes another logical ID.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from eks_secure.config.model import ExistingVpc, OnPremRoute
from eks_secure.errors import ConfigError
from eks_secure.keys import allow_cloudwatch_logs, rotating_key
from eks_secure.nag import acknowledge_compliance
from eks_secure.network import planner
from eks_secure.network.endpoints import PrivateEndpoints, validate_services
from eks_secure.network.onprem import OnPremRouting, validate_on_prem
from eks_secure.network.planner import NetworkPlan, SlotPlan, SubnetPlan
from eks_secure.network.services import DEFAULT_INTERFACE_ENDPOINT_SERVICES
from eks_secure.preflight.check_lint import ACKNOWLEDGED
from eks_secure.stack_refs import pass_to


def is_cidr(value: str) -> bool:
    """Whether ``value`` is a literal IPv4 CIDR (a token, e.g. an imported subnet's, is not)."""
    try:
        ipaddress.IPv4Network(value)
    except ValueError:
        return False
    return "/" in value


TIER_TAG = planner.TIER_TAG
"""Tag key carrying a subnet's tier (``control-plane``, ``endpoints``, ``system-nodes``, ...)."""
APP_TAG = "eks-secure.io/app"
"""Tag key carrying the app that owns an app subnet."""
NAT_GROUP_TAG = "eks-secure.io/nat-group"
"""Tag key carrying the NAT group that owns a NAT subnet."""

EXISTING_ENDPOINTS_WARNING = "eks-secure:existing-endpoints"

TIER_NAMES = ("control-plane", "endpoints", "system-nodes")

ROUTE_TABLE_SHARD_SLOTS = 24
"""Slots per route-table shard. The route tables of subnets that live in nested stacks (apps,
NAT groups) go to nested stacks ``RouteTables-<tier>-<slot // 24>`` of the VPC, so the VPC's
stack holds one resource per shard instead of one per subnet (250 apps x 3 AZs would be 750
route tables, over CloudFormation's 500 resources). A shard holds at most 24 x AZ-count tables
and as many outputs, within the 200-output limit up to 8 AZs; the shard of a slot depends on
the slot number alone, which the address-plan lock keeps."""
"""The fixed tiers; every other tier is a pool whose subnets belong to an owner."""


def owner_tag(tier: str) -> str:
    """Tag key naming the owner of a pool subnet: the app, the NAT group, the egress group..."""
    return {"app": APP_TAG, "nat": NAT_GROUP_TAG}.get(tier, f"eks-secure.io/{tier}-group")


class SecureVpc(Construct):
    """A VPC with no path to the internet, laid out from a :class:`NetworkPlan`.

    Creates (or, with ``existing_vpc``, adopts) the VPC, creates every tier subnet of the plan
    (each with its own route table), the VPC endpoints a private cluster needs, a VPC flow log
    and, when on-prem CIDRs are given, the on-prem attachment and static routes. App and NAT
    group subnets are created by the patterns with :meth:`add_subnets`, in their own scopes.

    :param plan: the address plan (``plan_network``).
    :param on_prem_cidrs: on-premises CIDRs routed from the control-plane, system-node and added
        subnets; needs ``on_prem_route``.
    :param on_prem_route: transit gateway or VPN gateway towards on-premises.
    :param existing_vpc: adopt this VPC instead of creating one (no lookups); ``plan.vpc_cidr``
        is then the free range of that VPC the subnets are carved from. With
        ``create_endpoints`` false, no endpoint is created.
    :param flow_log_retention: retention of the flow log's CloudWatch log group.
    :param endpoint_services: short names of the interface endpoints; default
        :data:`DEFAULT_INTERFACE_ENDPOINT_SERVICES`.
    :param name_prefix: prefix of ``Name`` tags; default: the stack name.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        plan: NetworkPlan,
        on_prem_cidrs: Sequence[str] = (),
        on_prem_route: OnPremRoute | None = None,
        existing_vpc: ExistingVpc | None = None,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        endpoint_services: Sequence[str] | None = None,
        name_prefix: str | None = None,
    ) -> None:
        validate_on_prem(on_prem_cidrs, on_prem_route)
        if existing_vpc is not None and not isinstance(existing_vpc, ExistingVpc):
            raise ConfigError(
                "existing_vpc",
                f"is a {type(existing_vpc).__name__}, not an ExistingVpc",
                "pass ExistingVpc(vpc_id=...)",
            )
        services = (
            tuple(endpoint_services)
            if endpoint_services is not None
            else DEFAULT_INTERFACE_ENDPOINT_SERVICES
        )
        validate_services(services)
        super().__init__(scope, id)

        stack = cdk.Stack.of(self)
        if name_prefix is None:
            name_prefix = id if cdk.Token.is_unresolved(stack.stack_name) else stack.stack_name
        self._name_prefix = name_prefix

        self.plan: NetworkPlan = plan
        """The address plan the subnets follow."""
        self.vpc_cidr_block: str = plan.vpc_cidr
        """The primary VPC CIDR, as a plain string."""
        self.on_prem_cidrs: tuple[str, ...] = tuple(on_prem_cidrs)
        """The on-prem CIDRs routed from node and app subnets."""

        self.vpc: ec2.IVpc
        """The VPC (created, or imported with ``existing_vpc``)."""
        if existing_vpc is None:
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(plan.vpc_cidr),
                availability_zones=list(plan.availability_zones),
                subnet_configuration=[],
                nat_gateways=0,
                create_internet_gateway=False,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                restrict_default_security_group=True,
                vpc_name=name_prefix,
            )
        else:
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing_vpc.vpc_id,
                availability_zones=list(plan.availability_zones),
                vpc_cidr_block=plan.vpc_cidr,
            )

        self._vpc_id = self.vpc.vpc_id  # read once: every subnet and route table names it
        self.secondary_cidr_block: ec2.CfnVPCCidrBlock | None = None
        """The secondary CIDR association (when the plan has a secondary CIDR)."""
        if plan.secondary_cidr is not None:
            self.secondary_cidr_block = ec2.CfnVPCCidrBlock(
                self, "SecondaryCidr", vpc_id=self.vpc.vpc_id, cidr_block=plan.secondary_cidr
            )

        control_plane = self._tier("ControlPlane", plan.control_plane)
        endpoint = self._tier("Endpoints", plan.endpoints)
        system_nodes = self._tier("SystemNodes", plan.system_nodes)
        self.control_plane_subnets: list[ec2.ISubnet] = [*control_plane]
        """Subnets of the cluster's control-plane ENIs, one per AZ."""
        self.endpoint_subnets: list[ec2.ISubnet] = [*endpoint]
        """Subnets of the interface endpoints (and the TGW attachment), one per AZ."""
        self.system_node_subnets: list[ec2.ISubnet] = [*system_nodes]
        """Subnets of the system node group, one per AZ."""

        self.on_prem_routing: OnPremRouting | None = None
        """Attachment and routes to on-premises (when ``on_prem_route`` is given)."""
        if on_prem_route is not None:
            self.on_prem_routing = OnPremRouting(
                self,
                "OnPrem",
                vpc_id=self.vpc.vpc_id,
                cidrs=on_prem_cidrs,
                route=on_prem_route,
                attachment_subnets=self.endpoint_subnets,
                name_prefix=name_prefix,
            )
            # Control-plane subnets too: webhooks / OIDC issuers called by the API server may
            # live on-premises. Endpoint subnets need no on-prem route.
            for subnet in (*control_plane, *system_nodes):
                self.on_prem_routing.route_to_on_prem(subnet, subnet)

        ingress_cidrs = [plan.vpc_cidr]
        if plan.secondary_cidr is not None:
            ingress_cidrs.append(plan.secondary_cidr)
        security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="VPC interface endpoints: HTTPS from inside the VPC only",
        )
        for cidr in ingress_cidrs:
            security_group.add_ingress_rule(
                ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"HTTPS from {cidr}"
            )
        cdk.Tags.of(security_group).add("Name", f"{name_prefix}-endpoints")
        self.endpoint_security_group: ec2.ISecurityGroup = security_group
        """Security group of the interface endpoints: TCP 443 from the VPC CIDR(s) only.

        Also created when existing endpoints are reused, to attach to them if needed.
        """

        tier_subnets = [
            *self.control_plane_subnets,
            *self.endpoint_subnets,
            *self.system_node_subnets,
        ]
        self.endpoints: PrivateEndpoints | None = None
        """The VPC endpoints; ``None`` when an existing VPC's endpoints are reused."""
        if existing_vpc is None or existing_vpc.create_endpoints:
            self.endpoints = PrivateEndpoints(
                self,
                "PrivateEndpoints",
                vpc=self.vpc,
                subnets=self.endpoint_subnets,
                security_group=security_group,
                services=services,
                route_tables=self.route_tables_for(tier_subnets),
                name_prefix=name_prefix,
            )
        else:
            cdk.Annotations.of(self).add_warning_v2(
                EXISTING_ENDPOINTS_WARNING,
                f"existing_vpc {existing_vpc.vpc_id} has create_endpoints false, so eks-secure "
                "creates no VPC endpoint. Associate the VPC's existing S3 gateway endpoint with "
                "the route tables of every subnet eks-secure creates (tier, app and NAT "
                "subnets), and check that interface endpoints with private DNS exist for: "
                f"{', '.join(services)}; nodes cannot join the cluster otherwise.",
            )

        log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            retention=flow_log_retention,
            encryption_key=self._flow_log_key(),
        )
        self.flow_log: ec2.FlowLog = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        """The VPC flow log (all traffic) to an encrypted CloudWatch log group."""
        acknowledge_compliance(
            self.flow_log,
            "IAMNoInlinePolicy",
            "CDK's flow-log role policy allows only logs:CreateLogStream, PutLogEvents and "
            "DescribeLogStreams on this flow log's own log group; inline, it lives and dies "
            "with that single-purpose role and can be attached to nothing else.",
        )
        self.flow_log_group: logs.ILogGroup = log_group
        """The flow log's log group."""

    def _flow_log_key(self) -> kms.Key:
        key = rotating_key(
            self, "FlowLogKey", description=f"{self._name_prefix} VPC flow log encryption"
        )
        stack = cdk.Stack.of(self)
        allow_cloudwatch_logs(
            key,
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name="*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        return key

    def _tier(self, scope_id: str, subnets: Sequence[SubnetPlan]) -> list[ec2.PrivateSubnet]:
        scope = Construct(self, scope_id)
        return [self._subnet(scope, s) for s in subnets]

    def _subnet(self, scope: Construct, planned: SubnetPlan) -> ec2.PrivateSubnet:
        subnet = ec2.PrivateSubnet(
            scope,
            planned.construct_id,
            vpc_id=self.vpc.vpc_id,
            availability_zone=planned.az,
            cidr_block=planned.cidr,
            map_public_ip_on_launch=False,
        )
        cfn = subnet.node.default_child
        assert isinstance(cfn, ec2.CfnSubnet)
        self._describe_subnet(cfn, planned)
        return subnet

    def _subnet_name(self, planned: SubnetPlan) -> str:
        if planned.tier not in TIER_NAMES:
            return f"{self._name_prefix}-{planned.tier}-{planned.owner}-{planned.az}"
        return f"{self._name_prefix}-{planned.tier}-{planned.az}"

    def _describe_subnet(self, subnet: ec2.CfnSubnet, planned: SubnetPlan) -> None:
        """Tags, the explicit-AZ acknowledgment and the secondary-CIDR dependency of a subnet."""
        cdk.Validations.of(subnet).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason=ACKNOWLEDGED[("W3010", "AWS::EC2::Subnet")],
            )
        )
        secondary = self.plan.secondary_cidr
        if (
            self.secondary_cidr_block is not None
            and secondary is not None
            and ipaddress.IPv4Network(planned.cidr).subnet_of(ipaddress.IPv4Network(secondary))
        ):
            subnet.node.add_dependency(self.secondary_cidr_block)
        tags = cdk.Tags.of(subnet)
        tags.add(TIER_TAG, planned.tier)
        if planned.tier not in TIER_NAMES:
            tags.add(owner_tag(planned.tier), planned.owner)
        tags.add("Name", self._subnet_name(planned))

    def add_subnets(
        self, scope: Construct, slot: SlotPlan, *, route_on_prem: bool = True
    ) -> list[ec2.ISubnet]:
        """Create the subnets of an app or NAT group inside ``scope`` (one per AZ) and return them.

        Each subnet (``scope/Subnet<n>/Subnet``, its route-table association and, unless
        ``route_on_prem`` is false, its static on-prem routes) lives in ``scope``, usually the
        app's or group's own nested stack. Its **route table** lives with the VPC (in the VPC's
        stack, or in a route-table shard nested stack when ``scope`` is in a nested stack, see
        :data:`ROUTE_TABLE_SHARD_SLOTS`) and is associated with the S3 gateway endpoint from the
        start: the endpoint waits at most for a shard holding route tables only, never for an
        app's stack, so system nodes, the kubectl handler and Kyverno reach S3 (ECR layers,
        CloudFormation replies) on the first deploy. Depend on ``scope`` to wait for the subnets,
        their associations and routes (node groups must).
        """
        if slot not in self.plan.slots():
            raise ConfigError(
                "SecureVpc.add_subnets.slot",
                f"'{slot.name}' is not an app or pool member of this VPC's plan",
                "pass a slot from the same NetworkPlan (plan.app(name) / "
                "plan.pool(name).member(name))",
            )
        tier = slot.subnets[0].tier
        home = self._route_table_home(scope, tier, slot)
        # in a shard (already named after the tier) the owner's name alone: shorter IDs
        tables = Construct(home, f"RouteTables-{tier}-{slot.name}" if home is self else slot.name)
        subnets: list[ec2.ISubnet] = []
        endpoint_table_ids: list[str] = []
        for planned in slot.subnets:
            table = ec2.CfnRouteTable(tables, planned.construct_id, vpc_id=self._vpc_id)
            table_tags = cdk.Tags.of(table)
            table_tags.add("Name", self._subnet_name(planned))
            table_tags.add(TIER_TAG, planned.tier)
            # short output/parameter names instead of CDK's path-long ones (template size)
            ref_name = "".join(
                c for c in f"RouteTable{slot.name}{planned.construct_id}" if c.isalnum()
            )
            home_stack = cdk.Stack.of(tables)
            table_id = pass_to(scope, home_stack, ref_name, table.attr_route_table_id)
            endpoint_table_ids.append(
                pass_to(self, home_stack, ref_name, table.attr_route_table_id)
            )
            subnet_scope = Construct(scope, planned.construct_id)
            cfn_subnet = ec2.CfnSubnet(
                subnet_scope,
                "Subnet",
                vpc_id=self._vpc_id,
                availability_zone=planned.az,
                cidr_block=planned.cidr,
                map_public_ip_on_launch=False,
            )
            self._describe_subnet(cfn_subnet, planned)
            ec2.CfnSubnetRouteTableAssociation(
                subnet_scope,
                "RouteTableAssociation",
                subnet_id=cfn_subnet.attr_subnet_id,
                route_table_id=table_id,
            )
            subnet = ec2.Subnet.from_subnet_attributes(
                subnet_scope,
                "Reference",
                subnet_id=cfn_subnet.attr_subnet_id,
                availability_zone=planned.az,
                ipv4_cidr_block=planned.cidr,
                route_table_id=table_id,
            )
            if route_on_prem and self.on_prem_routing is not None:
                self.on_prem_routing.route_to_on_prem(subnet_scope, subnet, route_table_id=table_id)
            subnets.append(subnet)
        if self.endpoints is not None:
            for table_id in endpoint_table_ids:
                self.endpoints.associate_route_table_id(table_id)
        return subnets

    def _route_table_home(self, scope: Construct, tier: str, slot: SlotPlan) -> Construct:
        """Where the route tables of ``slot`` live: this construct when ``scope`` is in the VPC's
        stack, else the route-table shard of its slot (see :data:`ROUTE_TABLE_SHARD_SLOTS`)."""
        if cdk.Stack.of(scope) is cdk.Stack.of(self):
            return self
        shard_id = f"RouteTables-{tier}-{slot.slot // ROUTE_TABLE_SHARD_SLOTS}"
        existing = self.node.try_find_child(shard_id)
        if isinstance(existing, Construct):
            return existing
        return cdk.NestedStack(
            self, shard_id, description=f"eks-secure route tables of the {tier} slots"
        )

    @staticmethod
    def route_tables_for(subnets: Sequence[ec2.ISubnet]) -> list[ec2.IRouteTable]:
        """The route table of each subnet, in order."""
        return [s.route_table for s in subnets]
