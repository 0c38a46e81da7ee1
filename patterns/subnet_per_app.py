"""Reference deployment of egress pattern 1 (``-c pattern=subnet-per-app``)."""

from __future__ import annotations

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.egress.subnet_per_app import SubnetPerApp
from patterns.base import Deployment, build_dedicated_nodes_pattern


def build(app: cdk.App, config: DeploymentConfig) -> Deployment:
    """Base stacks plus pattern 1 in the cluster stack."""
    return build_dedicated_nodes_pattern(app, config, SubnetPerApp)
