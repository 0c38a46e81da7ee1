"""Egress pattern 1, the CDK side: dedicated subnets + tainted node group + fence per app."""

from __future__ import annotations

from eks_secure.egress.dedicated.construct import DedicatedNodesPattern


class SubnetPerApp(DedicatedNodesPattern):
    """Dedicated subnets + tainted node group + fenced namespace per app.

    Allow-list: each app's node subnet CIDRs (read from the subnets created).

    Props as :class:`~eks_secure.egress.dedicated.construct.DedicatedNodesPattern`, with
    ``spec`` a :class:`~eks_secure.egress.subnet_per_app.SubnetPerAppEgress`.
    """

    def build_egress(self) -> dict[str, tuple[str, ...]]:
        """Nothing to add: each app's source CIDRs are its node subnets' CIDRs."""
        return {
            name: tuple(s.ipv4_cidr_block for s in app.subnets) for name, app in self.apps.items()
        }
