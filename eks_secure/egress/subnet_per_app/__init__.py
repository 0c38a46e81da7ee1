"""Egress pattern 1, subnet per app: the spec (pure Python) and, in ``construct``, the CDK side.

Each app gets dedicated subnets in every AZ and a node group in exactly those subnets, tainted
so only its pods run there; Kyverno enforces that placement. The VPC CNI SNATs pod traffic
leaving the VPC to the node's IP, and pod IPs come from the same subnets, so the on-premises
firewall sees the app's traffic from the app's subnet CIDRs and nothing else.
"""

from __future__ import annotations

from eks_secure.egress.dedicated.spec import DedicatedNodesApp, DedicatedNodesEgress

__all__ = ["DedicatedNodesApp", "SubnetPerAppEgress"]


class SubnetPerAppEgress(DedicatedNodesEgress):
    """Pattern ``subnet-per-app``: the firewall allow-lists each app's own subnet CIDRs.

    :param apps: per-app options (``slot``, ``nodes``) by app name. Default: every app gets
        ``DedicatedNodesApp()``.
    """

    name = "subnet-per-app"
    construct = "eks_secure.egress.subnet_per_app.construct:SubnetPerApp"
    title = "a subnet and node group per app; on-premises sees the app's subnet CIDRs"
