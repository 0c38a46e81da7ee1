"""Egress pattern 1, the CDK side: dedicated subnets + tainted node group + fence per app."""

from __future__ import annotations

from eks_secure.egress.dedicated.construct import DedicatedNodesPattern


class SubnetPerApp(DedicatedNodesPattern):
    """Dedicated subnets + tainted node group + fenced namespace per app.

    Allow-list: each app's node subnet CIDRs (read from the subnets created), or the pod
    subnets of custom networking for destinations the VPC CNI does not SNAT.

    Props as :class:`~eks_secure.egress.dedicated.construct.DedicatedNodesPattern`, with
    ``spec`` a :class:`~eks_secure.egress.subnet_per_app.SubnetPerAppEgress`.
    """

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """Nothing to add: each app's source CIDRs are its node subnets' CIDRs (with custom
        networking, the pod subnets for destinations the VPC CNI does not SNAT to the node:
        :meth:`~eks_secure.cluster.cluster.SecureCluster.egress_sources`)."""
        return {
            name: self.cluster.egress_sources(
                [s.ipv4_cidr_block for s in app.subnets], app.tenant.destinations, app=name
            )
            for name, app in self.apps.items()
        }
