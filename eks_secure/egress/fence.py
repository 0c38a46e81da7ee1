"""An app's namespace fence: its namespace, NetworkPolicies, quota, RBAC and team access.

Every pattern fences its apps the same way; patterns differ in where the fence lets traffic
out (straight to the app's on-prem destinations, or only to an egress gateway's pods) and in
what they add to the chart (the dedicated-nodes patterns' placement policies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cdk8s
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct, IDependable

from eks_secure.cluster.access import entry_id
from eks_secure.cluster.cluster import ADMIN_GROUP, SecureCluster
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.egress.contract import Tenant
from eks_secure.k8s.tenant import PodEgress, TenantChart, app_group


def camel(name: str) -> str:
    """``payments-api`` -> ``PaymentsApi`` (for construct and output IDs)."""
    return "".join(part.capitalize() for part in name.split("-"))


class AppFence(Construct):
    """The in-cluster fence of one app, shipped as its own manifest.

    * the app's ``TenantChart`` (namespace with Pod Security ``restricted``, default-deny, DNS,
      the egress the pattern allows, the AWS APIs of ``tenant.aws_services`` through the
      endpoint subnets and the Pod Identity agent, admin and team RoleBindings, quota and
      limits), applied as
      manifest ``Tenant<Name>`` in ``container``;
    * one access entry per role of ``tenant.team_roles``: Kubernetes group
      ``eks-secure:app:<name>`` and no EKS access policy. ``AmazonEKSEditPolicy`` would be
      authorized by EKS alongside RBAC (either allows), and it lets the team delete its
      NetworkPolicies; the group's RoleBinding to ``eks-secure-app-team`` is the team's only
      right.

    :param cluster: the cluster.
    :param tenant: the app.
    :param container: where the manifest and access entries live (the app's nested stack).
        Default: this construct.
    :param egress_cidrs: CIDRs the app's pods may reach directly on the app's ports. Default: the
        app's destinations. Pass ``()`` when the app must go through a gateway.
    :param pod_egress: pod-selector egress the app's pods may use (e.g. an egress gateway).
        Default: none.
    :param extra_objects: adds objects to the app's chart (e.g. placement policies).
    :param depends_on: what the manifest must wait for (e.g. the Kyverno release whose CRDs the
        extra objects use). Default: nothing beyond the system nodes.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenant: Tenant,
        container: Construct | None = None,
        egress_cidrs: Sequence[str] | None = None,
        pod_egress: Sequence[PodEgress] = (),
        extra_objects: Callable[[cdk8s.Chart], None] | None = None,
        depends_on: Sequence[IDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        home = container or self
        self.tenant = tenant
        self.chart = TenantChart(
            cluster.cdk8s_app,
            f"tenant-{tenant.name}",
            tenant=tenant,
            egress_cidrs=egress_cidrs,
            pod_egress=pod_egress,
            extra_objects=extra_objects,
            admin_group=ADMIN_GROUP,
            endpoint_cidrs=cluster.network.plan.endpoint_cidrs,
        )
        """Namespace, RBAC, quota, NetworkPolicies (and extra objects) of the app."""
        self.manifest = cluster.add_chart(f"Tenant{camel(tenant.name)}", self.chart, scope=home)
        """The manifest resource applying :attr:`chart`."""
        for dependency in depends_on:
            self.manifest.node.add_dependency(dependency)
        self.team_access: list[eks.AccessEntry] = []
        """Access entries of the app team's roles (group only; rights come from RBAC)."""
        for arn in tenant.team_roles:
            entry = eks.AccessEntry(
                home,
                entry_id("TeamAccess", arn.rsplit("/", 1)[-1]),
                cluster=as_icluster(cluster.cluster),
                principal=arn,
                access_entry_type=eks.AccessEntryType.STANDARD,
                # no access policy: RBAC only (see the class docstring)
                access_policies=[],
            )
            cfn = entry.node.default_child
            assert isinstance(cfn, eks.CfnAccessEntry)
            cfn.add_property_override("KubernetesGroups", [app_group(tenant.name)])
            self.team_access.append(entry)
