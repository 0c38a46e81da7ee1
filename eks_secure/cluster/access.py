"""EKS access entries: admins, viewers and break-glass mapped to access policies and groups.

Authentication mode is API (``aws_eks_v2`` sets it), so no ``aws-auth`` ConfigMap exists and
nothing is ever mapped to ``system:masters``. Kubernetes groups on the entries let RBAC in the
baseline chart grant namespace-level rights on top of the cluster-level access policies.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.errors import ConfigError

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "AmazonEKSViewPolicy"


class AccessEntries(Construct):
    """Access entries of one cluster.

    :param cluster: the cluster.
    :param admin_roles: get ``AmazonEKSClusterAdminPolicy`` (cluster scope) and ``admin_group``.
    :param viewer_roles: get ``AmazonEKSViewPolicy`` (cluster scope) and ``viewer_group``.
    :param break_glass_role: gets its own ``AmazonEKSClusterAdminPolicy`` entry.
    :param admin_group: Kubernetes group of admins (bound to ``admin`` in managed namespaces).
    :param viewer_group: Kubernetes group of viewers (bound to ``view``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: eks.Cluster,
        admin_roles: Sequence[iam.IRole],
        viewer_roles: Sequence[iam.IRole],
        break_glass_role: iam.IRole | None,
        admin_group: str,
        viewer_group: str,
    ) -> None:
        super().__init__(scope, id)
        self.entries: list[eks.AccessEntry] = []
        """Every access entry created."""
        for i, role in enumerate(admin_roles):
            self._entry(
                _entry_id("Admin", role, i), cluster, role, CLUSTER_ADMIN_POLICY, admin_group
            )
        for i, role in enumerate(viewer_roles):
            self._entry(_entry_id("Viewer", role, i), cluster, role, VIEW_POLICY, viewer_group)
        if break_glass_role is not None:
            self._entry("BreakGlass", cluster, break_glass_role, CLUSTER_ADMIN_POLICY, None)

    def _entry(
        self,
        id: str,
        cluster: eks.Cluster,
        role: iam.IRole,
        policy: str,
        group: str | None,
    ) -> None:
        if self.node.try_find_child(id) is not None:
            raise ConfigError(
                "AccessEntries",
                f"two roles map to the access entry ID '{id}' (same role name)",
                "use roles with distinct names; EKS also allows one entry per principal",
            )
        entry = eks.AccessEntry(
            self,
            id,
            cluster=as_icluster(cluster),
            principal=role.role_arn,
            access_entry_type=eks.AccessEntryType.STANDARD,
            access_policies=[
                eks.AccessPolicy.from_access_policy_name(
                    policy, access_scope_type=eks.AccessScopeType.CLUSTER
                )
            ],
        )
        if group is not None:
            cfn = entry.node.default_child
            assert isinstance(cfn, eks.CfnAccessEntry)
            cfn.add_property_override("KubernetesGroups", [group])
        self.entries.append(entry)


def entry_id(prefix: str, role_name: str) -> str:
    """Access-entry construct ID from a role name: removing one role never replaces another's."""
    return prefix + "".join(c for c in role_name.title() if c.isalnum())


def _entry_id(prefix: str, role: iam.IRole, index: int) -> str:
    name = role.role_name
    if cdk.Token.is_unresolved(name):
        return f"{prefix}{index}"
    return entry_id(prefix, name)
