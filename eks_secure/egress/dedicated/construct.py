"""One app's dedicated slice of the cluster: subnets, tainted node group, placement; and the
base construct of the patterns that give every app one (``subnet-per-app``, ``private-nat``).

Every construct ID derives from the app's name, and with ``nested`` (the default) each app lives
in its own nested stack, so adding, removing or reordering apps never touches another app's
resources, and the cluster stack stays far below CloudFormation's 500-resource limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import cdk8s
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.cluster.kyverno import KyvernoInstall
from eks_secure.config.model import NodeGroupSize
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.dedicated.spec import DedicatedNodesEgress
from eks_secure.egress.fence import AppFence, camel
from eks_secure.egress.pattern import EgressPattern
from eks_secure.errors import ConfigError
from eks_secure.k8s.kyverno import APP_LABEL, placement_policies
from eks_secure.limits import LIMITS

CLOUDFORMATION_RESOURCE_LIMIT = LIMITS["resources"]

__all__ = ["AppTenant", "DedicatedNodesPattern", "camel", "check_stack_size", "own_stack"]


def own_stack(scope: Construct, nested: bool, description: str) -> Construct:
    """A nested stack ``Stack`` under ``scope`` when ``nested``, else ``scope`` itself."""
    return cdk.NestedStack(scope, "Stack", description=description) if nested else scope


class AppTenant(Construct):
    """An app with dedicated subnets (one per AZ), a tainted node group and its fence.

    :param cluster: the cluster (its VPC holds the app's slot of the address plan).
    :param tenant: the app.
    :param nodes: size of the app's node group.
    :param kyverno: the Kyverno release the app's placement policies need.
    :param route_on_prem: give the app subnets static on-prem routes (off when a pattern routes
        on-prem traffic differently, e.g. through a NAT gateway).
    :param nested: put the app's resources in their own nested stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenant: Tenant,
        nodes: NodeGroupSize,
        kyverno: KyvernoInstall,
        route_on_prem: bool = True,
        nested: bool = True,
    ) -> None:
        super().__init__(scope, id)
        self.tenant = tenant
        self.container: Construct = own_stack(self, nested, f"eks-secure app {tenant.name}")
        """Where the app's resources live: its nested stack, or this construct."""
        try:
            slot = cluster.network.plan.app(tenant.name)
        except KeyError:
            raise ConfigError(
                tenant.path("name"),
                f"app '{tenant.name}' has no slot in the cluster's address plan",
                "plan the network with this tenant (plan_deployment(..., tenants=...)) or use "
                "EksSecureDeployment, which does",
            ) from None
        subnets_scope = Construct(self.container, "Subnets")
        self.subnets: list[ec2.ISubnet] = cluster.network.add_subnets(
            subnets_scope, slot, route_on_prem=route_on_prem
        )
        """The app's dedicated subnets, one per AZ."""
        trusted = kyverno.trusted_namespaces

        def add_placement(chart: cdk8s.Chart) -> None:
            placement_policies(chart, tenant.name, tenant.namespace, trusted_namespaces=trusted)

        self.fence = AppFence(
            self,
            "Fence",
            cluster=cluster,
            tenant=tenant,
            container=self.container,
            extra_objects=add_placement,
            depends_on=[kyverno.chart],
        )
        """Namespace, policies, team access and the placement policies of the app."""
        self.chart = self.fence.chart
        self.manifest = self.fence.manifest
        self.team_access = self.fence.team_access
        self.nodes = cluster.add_nodegroup(
            "Nodes",
            scope=self.container,
            subnets=self.subnets,
            size=nodes,
            labels={APP_LABEL: tenant.name},
            taints=[
                eks.TaintSpec(key=APP_LABEL, value=tenant.name, effect=eks.TaintEffect.NO_SCHEDULE)
            ],
            field=f"{tenant.field}.nodes",
            subnet_field="subnets.app_prefix",
        )
        """The app's node group: label and NoSchedule taint ``eks-secure.io/app=<name>``."""
        # Nodes need their subnets' route tables (S3) and routes; and the placement policy must
        # exist before any node that could carry the app's identity.
        self.nodes.node.add_dependency(subnets_scope)
        self.nodes.nodegroup.node.add_dependency(self.manifest)


class DedicatedNodesPattern(EgressPattern):
    """Base of the patterns that give each app its own subnets and node group (1 and 2).

    Uses the cluster's Kyverno release and builds one :class:`AppTenant` per app (sorted by
    name, construct ID ``App-<name>``), then calls :meth:`build_egress`, which a subclass
    implements to add its egress path and return each app's source CIDRs; the allow-list is
    completed from those.

    :param cluster: the cluster to extend.
    :param tenants: the apps.
    :param spec: the pattern's spec (per-app node sizes and slots, pattern settings).
    :param nested: each app (and pattern resource group) in its own nested stack (default;
        stable at any scale).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        spec: DedicatedNodesEgress,
        nested: bool = True,
    ) -> None:
        super().__init__(scope, id, cluster=cluster, tenants=tenants, spec=spec)
        self.spec: DedicatedNodesEgress = spec
        self.nested = nested
        """Whether app (and pattern) resources live in nested stacks."""
        self.kyverno = cluster.policy_engine()
        """The policy engine enforcing app placement (one per cluster)."""
        self.apps: dict[str, AppTenant] = {
            t.name: AppTenant(
                self,
                f"App-{t.name}",
                cluster=cluster,
                tenant=t,
                nodes=spec.options(t.name).nodes,
                kyverno=self.kyverno,
                route_on_prem=spec.route_apps_on_prem,
                nested=nested,
            )
            for t in sorted(self.tenants, key=lambda t: t.name)
        }
        """Each app's subnets, node group and chart, by name."""
        sources = self.build_egress()
        self.complete(
            (
                AllowListEntry(
                    app=app.tenant.name,
                    namespace=app.tenant.namespace,
                    pattern=self.spec.name,
                    source_cidrs=sources[name],
                    destination_cidrs=app.tenant.destinations,
                    ports=app.tenant.ports,
                )
                for name, app in self.apps.items()
            ),
            homes={name: app.container for name, app in self.apps.items()} if nested else None,
        )
        if not nested:
            check_stack_size(cluster.stack)

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """Build the egress path; return each app's source CIDRs, read from what was built."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_egress()")


def check_stack_size(stack: cdk.Stack) -> None:
    """Raise a field-named error when ``stack`` holds more resources or outputs than
    CloudFormation allows in one template (:data:`eks_secure.limits.LIMITS`)."""
    mine = [c for c in stack.node.find_all() if cdk.Stack.of(c) is stack]
    for what, kind in (("resources", cdk.CfnResource), ("outputs", cdk.CfnOutput)):
        count = sum(1 for c in mine if isinstance(c, kind))
        limit = LIMITS[what]
        if count > limit:
            raise ConfigError(
                "app_stacks",
                f"with app_stacks: inline the stack {stack.stack_name} holds {count} {what}, "
                f"over CloudFormation's limit of {limit}",
                "use app_stacks: nested (each app in its own nested stack) or fewer apps",
            )
