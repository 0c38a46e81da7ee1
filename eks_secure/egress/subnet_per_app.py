"""Egress pattern 1: subnet per app.

Each app gets dedicated subnets in every AZ and a node group in exactly those subnets, tainted so
only its pods run there; Kyverno enforces that placement. The VPC CNI SNATs pod traffic leaving
the VPC to the node's IP, and pod IPs come from the same subnets, so the on-premises firewall
sees the app's traffic from the app's subnet CIDRs and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.config.model import KyvernoSettings
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.tenants import DedicatedNodesPattern


class SubnetPerApp(DedicatedNodesPattern):
    """Dedicated subnets + tainted node group + fenced namespace per app.

    Allow-list: each app's node subnet CIDRs (read from the subnets created).

    :param cluster: the cluster to extend.
    :param tenants: the apps.
    :param kyverno: chart source/version of the policy engine.
    :param nested: each app in its own nested stack (default; stable at any scale).
    """

    PATTERN = "subnet-per-app"

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
        super().__init__(
            scope, id, cluster=cluster, tenants=tenants, kyverno=kyverno, nested=nested
        )
        self.complete(
            AllowListEntry(
                app=app.tenant.name,
                namespace=app.tenant.namespace,
                pattern=self.PATTERN,
                source_cidrs=tuple(s.ipv4_cidr_block for s in app.subnets),
                destination_cidrs=app.tenant.destinations,
                ports=app.tenant.ports,
            )
            for app in self.apps.values()
        )
