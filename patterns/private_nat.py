"""Reference deployment of egress pattern 2 (``-c pattern=private-nat``)."""

from __future__ import annotations

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.egress.private_nat import PrivateNat
from patterns.base import Deployment, build_dedicated_nodes_pattern

VPC_CNI_ENV: dict[str, str] = {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}
"""External SNAT on: the VPC CNI leaves pod IPs untranslated, the private NAT gateway does it."""


def build(app: cdk.App, config: DeploymentConfig) -> Deployment:
    """Base stacks (vpc-cni with external SNAT) plus pattern 2 in the cluster stack."""
    return build_dedicated_nodes_pattern(app, config, PrivateNat, vpc_cni_env=dict(VPC_CNI_ENV))
