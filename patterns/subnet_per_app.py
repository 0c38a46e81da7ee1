"""Reference deployment of egress pattern 1 (``-c pattern=subnet-per-app``)."""

from __future__ import annotations

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.egress.contract import Tenant
from eks_secure.egress.subnet_per_app import SubnetPerApp
from patterns.base import Deployment, build_base


def tenants(config: DeploymentConfig) -> list[Tenant]:
    """The config's apps as tenants (destinations default to all on-prem CIDRs)."""
    return [
        Tenant.from_app(app, config.on_prem_cidrs, f"apps[{i}]")
        for i, app in enumerate(config.apps)
    ]


def build(app: cdk.App, config: DeploymentConfig) -> Deployment:
    """Base stacks plus pattern 1 in the cluster stack."""
    deployment = build_base(app, config)
    deployment.egress = SubnetPerApp(
        deployment.cluster_stack,
        "Egress",
        cluster=deployment.cluster_stack.secure_cluster,
        tenants=tenants(config),
        kyverno=config.kyverno,
        nested=config.app_stacks == "nested",
    )
    return deployment
