"""Security groups for pods: each app's pods on branch ENIs with a security group of their own.

The vpc-cni gets :data:`POD_ENI_ENV`: ``ENABLE_POD_ENI`` makes ipamd attach a trunk ENI to each
node and label it; the VPC resource controller (EKS-managed, needs
``AmazonEKSVPCResourceController`` on the cluster role) then gives every pod matched by a
``SecurityGroupPolicy`` a branch ENI carrying that policy's security groups instead of the node's.
``POD_SECURITY_GROUP_ENFORCING_MODE=standard`` keeps the VPC CNI's SNAT and its network policy
agent working for those pods (``strict`` would bypass both), so the egress patterns' allow-lists
and the namespaces' NetworkPolicies stay as they are.

Limits (EKS documentation; only the family rule is checked offline, see
:func:`eks_secure.rules.trunk_eni_instance_type`): Nitro-based instances only, no ``t`` family,
Linux nodes; each instance type holds a fixed number of branch ENIs (``m5.large``: 9, ``m7i.large``:
9... the VPC resource controller's limits table), so pods with security groups per node are
capped below max-pods; a pod matched after it started keeps the node's groups until it is
recreated. Pure Python (no CDK).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eks_secure.egress.contract import Tenant

POD_ENI_ENV: dict[str, str] = {
    "ENABLE_POD_ENI": "true",
    "POD_SECURITY_GROUP_ENFORCING_MODE": "standard",
}
"""vpc-cni environment of security groups for pods."""
VPC_RESOURCE_CONTROLLER_POLICY = "AmazonEKSVPCResourceController"
"""AWS-managed policy the cluster role needs to manage trunk and branch ENIs."""
DNS_PORT = 53


@dataclass(frozen=True)
class EgressRule:
    """One egress rule of an app's pod security group."""

    cidr: str
    port: int
    protocol: str = "tcp"

    @property
    def description(self) -> str:
        """The rule's description (shown in the EC2 console and the template)."""
        return f"{self.protocol.upper()} {self.port} to {self.cidr}"


def egress_rules(tenant: Tenant) -> tuple[EgressRule, ...]:
    """The app's destinations times its ports, and nothing else (DNS is added separately, to
    the cluster security group that CoreDNS's nodes carry)."""
    return tuple(EgressRule(cidr, port) for cidr in tenant.destinations for port in tenant.ports)


def security_group_policy(tenant: Tenant, group_ids: Sequence[str]) -> dict[str, Any]:
    """The ``SecurityGroupPolicy`` giving every pod of the app's namespace ``group_ids``."""
    return {
        "apiVersion": "vpcresources.k8s.aws/v1beta1",
        "kind": "SecurityGroupPolicy",
        "metadata": {"name": f"{tenant.name}-pods", "namespace": tenant.namespace or tenant.name},
        "spec": {"podSelector": {}, "securityGroups": {"groupIds": list(group_ids)}},
    }


def selected(tenants: Sequence[Tenant], names: Sequence[str]) -> tuple[Tenant, ...]:
    """The tenants ``names`` lists, or every tenant when it is empty."""
    return tuple(t for t in tenants if not names or t.name in names)
