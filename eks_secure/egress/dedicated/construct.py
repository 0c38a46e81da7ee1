"""One app's dedicated slice of the cluster: subnets, tainted node group, fenced namespace.

Shared by the patterns that give each app its own subnets (``subnet-per-app``, ``private-nat``).
Every construct ID derives from the app's name, and with ``nested`` (the default) each app lives
in its own nested stack, so adding, removing or reordering apps never touches another app's
resources, and the cluster stack stays far below CloudFormation's 500-resource limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.access import entry_id
from eks_secure.cluster.cluster import ADMIN_GROUP, SecureCluster
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.cluster.kyverno import KyvernoInstall
from eks_secure.cluster.nodegroup import HardenedNodegroup
from eks_secure.config.model import KyvernoSettings
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.pattern import EgressPattern
from eks_secure.errors import ConfigError
from eks_secure.k8s.kyverno import APP_LABEL
from eks_secure.k8s.tenant import TenantChart, app_group

CLOUDFORMATION_RESOURCE_LIMIT = 500


def own_stack(scope: Construct, nested: bool, description: str) -> Construct:
    """A nested stack ``Stack`` under ``scope`` when ``nested``, else ``scope`` itself."""
    return cdk.NestedStack(scope, "Stack", description=description) if nested else scope


def camel(name: str) -> str:
    """``payments-api`` -> ``PaymentsApi`` (for construct and output IDs)."""
    return "".join(part.capitalize() for part in name.split("-"))


class AppTenant(Construct):
    """Dedicated subnets (one per AZ), a tainted node group and the app's in-cluster fence.

    :param cluster: the cluster (its VPC holds the address plan of the app).
    :param tenant: the app.
    :param kyverno: the Kyverno release the app's placement policy needs.
    :param route_on_prem: give the app subnets static on-prem routes (off when a pattern routes
        on-prem traffic differently, e.g. through a NAT gateway).
    :param egress_cidrs: where the app's pods may connect (default: the app's destinations).
    :param nested: put the app's resources in their own nested stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenant: Tenant,
        kyverno: KyvernoInstall,
        route_on_prem: bool = True,
        egress_cidrs: Sequence[str] | None = None,
        nested: bool = True,
    ) -> None:
        super().__init__(scope, id)
        self.tenant = tenant
        self.container: Construct = own_stack(self, nested, f"eks-secure app {tenant.name}")
        """Where the app's resources live: its nested stack, or this construct."""
        slot = cluster.network.plan.app(tenant.name)
        subnets_scope = Construct(self.container, "Subnets")
        self.subnets: list[ec2.ISubnet] = cluster.network.add_subnets(
            subnets_scope, slot, route_on_prem=route_on_prem
        )
        """The app's dedicated subnets, one per AZ."""
        self.nodes = HardenedNodegroup(
            self.container,
            "Nodes",
            cluster=cluster.cluster,
            subnets=self.subnets,
            size=tenant.nodes,
            labels={APP_LABEL: tenant.name},
            taints=[
                eks.TaintSpec(key=APP_LABEL, value=tenant.name, effect=eks.TaintEffect.NO_SCHEDULE)
            ],
            field=f"{tenant.field}.nodes",
        )
        """The app's node group: label and NoSchedule taint ``eks-secure.io/app=<name>``."""
        # Nodes bootstrap through the VPC endpoints and need their subnets' route tables (S3).
        self.nodes.node.add_dependency(subnets_scope)
        if cluster.network.endpoints is not None:
            self.nodes.node.add_dependency(cluster.network.endpoints)
        self.chart = TenantChart(
            cluster.cdk8s_app,
            f"tenant-{tenant.name}",
            tenant=tenant,
            egress_cidrs=egress_cidrs,
            placement=True,
            trusted_namespaces=kyverno.trusted_namespaces,
            admin_group=ADMIN_GROUP,
        )
        """Namespace, RBAC, quota, NetworkPolicies and placement policy of the app."""
        self.manifest = cluster.add_chart(
            f"Tenant{camel(tenant.name)}", self.chart, scope=self.container
        )
        self.manifest.node.add_dependency(kyverno.chart)
        self.team_access = [
            eks.AccessEntry(
                self.container,
                entry_id("TeamAccess", arn.rsplit("/", 1)[-1]),
                cluster=as_icluster(cluster.cluster),
                principal=arn,
                access_entry_type=eks.AccessEntryType.STANDARD,
                access_policies=[
                    eks.AccessPolicy.from_access_policy_name(
                        "AmazonEKSEditPolicy",
                        access_scope_type=eks.AccessScopeType.NAMESPACE,
                        namespaces=[tenant.namespace],
                    )
                ],
            )
            for arn in tenant.team_roles
        ]
        """Access entries of the app team's roles: ``edit`` in the app's namespace only."""
        for entry in self.team_access:
            cfn = entry.node.default_child
            assert isinstance(cfn, eks.CfnAccessEntry)
            cfn.add_property_override("KubernetesGroups", [app_group(tenant.name)])
        # The placement policy must exist before any node that could carry the app's identity.
        self.nodes.nodegroup.node.add_dependency(self.manifest)


class DedicatedNodesPattern(EgressPattern):
    """Base of the patterns that give each app its own subnets and node group (1 and 2).

    Builds the Kyverno release and one :class:`AppTenant` per app (sorted by name, construct ID
    ``App-<name>``), then calls :meth:`build_egress`, which a subclass implements to add its
    egress path and return each app's source CIDRs; the allow-list is completed from those.

    :param cluster: the cluster to extend.
    :param tenants: the apps.
    :param kyverno: chart source/version of the policy engine.
    :param nested: each app (and pattern resource group) in its own nested stack (default;
        stable at any scale).
    """

    ROUTE_APPS_ON_PREM: ClassVar[bool] = True
    """Whether app subnets get direct static on-prem routes."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        kyverno: KyvernoSettings | None = None,
        nested: bool = True,
    ) -> None:
        type(self).check_tenants(cluster, tenants)
        super().__init__(scope, id, cluster=cluster, tenants=tenants)
        self.nested = nested
        """Whether app (and pattern) resources live in nested stacks."""
        self.kyverno = KyvernoInstall(
            self, "Kyverno", cluster=cluster, settings=kyverno or KyvernoSettings()
        )
        """The policy engine enforcing app placement."""
        self.apps: dict[str, AppTenant] = {
            t.name: AppTenant(
                self,
                f"App-{t.name}",
                cluster=cluster,
                tenant=t,
                kyverno=self.kyverno,
                route_on_prem=self.ROUTE_APPS_ON_PREM,
                nested=nested,
            )
            for t in sorted(self.tenants, key=lambda t: t.name)
        }
        """Each app's subnets, node group and chart, by name."""
        sources = self.build_egress()
        if not nested:
            check_stack_size(cluster.stack)
        self.complete(
            AllowListEntry(
                app=app.tenant.name,
                namespace=app.tenant.namespace,
                pattern=self.PATTERN,
                source_cidrs=sources[name],
                destination_cidrs=app.tenant.destinations,
                ports=app.tenant.ports,
            )
            for name, app in self.apps.items()
        )

    @classmethod
    def check_tenants(cls, cluster: SecureCluster, tenants: Sequence[Tenant]) -> None:
        """Raise a field-named ``ConfigError`` for tenants this pattern cannot serve."""

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """Build the egress path; return each app's source CIDRs, read from what was built."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_egress()")


def check_stack_size(stack: cdk.Stack) -> None:
    """Raise a field-named error when ``stack`` holds more resources than CloudFormation allows."""
    count = sum(
        1
        for c in stack.node.find_all()
        if isinstance(c, cdk.CfnResource) and cdk.Stack.of(c) is stack
    )
    if count > CLOUDFORMATION_RESOURCE_LIMIT:
        raise ConfigError(
            "app_stacks",
            f"with app_stacks: inline the stack {stack.stack_name} holds {count} resources, "
            f"over CloudFormation's limit of {CLOUDFORMATION_RESOURCE_LIMIT}",
            "use app_stacks: nested (each app in its own nested stack) or fewer apps",
        )
