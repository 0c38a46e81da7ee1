"""Egress pattern 1: subnet per app.

Each app gets dedicated subnets in every AZ and a node group in exactly those subnets, tainted so
only its pods run there; Kyverno enforces that placement. The VPC CNI SNATs pod traffic leaving
the VPC to the node's IP, and pod IPs come from the same subnets, so the on-premises firewall
sees the app's traffic from the app's subnet CIDRs and nothing else.
"""

from __future__ import annotations

from eks_secure.egress.tenants import DedicatedNodesPattern


class SubnetPerApp(DedicatedNodesPattern):
    """Dedicated subnets + tainted node group + fenced namespace per app.

    Allow-list: each app's node subnet CIDRs (read from the subnets created).

    Props as :class:`~eks_secure.egress.tenants.DedicatedNodesPattern`.
    """

    PATTERN = "subnet-per-app"

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """Nothing to add: each app's source CIDRs are its node subnets' CIDRs."""
        return {
            name: tuple(s.ipv4_cidr_block for s in app.subnets) for name, app in self.apps.items()
        }
