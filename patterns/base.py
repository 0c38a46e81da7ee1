"""The base reference deployment: creator stack + cluster stack (private VPC, cluster, baseline).

Every egress pattern builds on this: it receives the :class:`ClusterStack` and adds its own
constructs to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.cluster.creator_role import (
    ClusterCreatorRole,
    break_glass_role_name,
    creator_stack_synthesizer,
    role_arn,
)
from eks_secure.config.model import DeploymentConfig
from eks_secure.config.plan import plan_for
from eks_secure.egress.contract import Tenant
from eks_secure.egress.pattern import EgressPattern
from eks_secure.egress.tenants import DedicatedNodesPattern
from eks_secure.network.planner import NetworkPlan
from eks_secure.network.vpc import SecureVpc

CLUSTER_TAG = "eks-secure:cluster"


def stack_names(config: DeploymentConfig) -> tuple[str, str]:
    """Names of the creator stack and the cluster stack of ``config``."""
    return f"{config.cluster_name}-creator", f"{config.cluster_name}-cluster"


def _roles(scope: Construct, prefix: str, arns: Sequence[str]) -> list[iam.IRole]:
    return [
        iam.Role.from_role_arn(scope, f"{prefix}{i}", arn, mutable=False)
        for i, arn in enumerate(arns)
    ]


def _principals(arns: Sequence[str]) -> list[iam.IPrincipal]:
    return [iam.ArnPrincipal(arn) for arn in arns]


class CreatorStack(cdk.Stack):
    """Small stack holding the cluster's creator, deployer and break-glass roles.

    Deployed with the ordinary CDK bootstrap roles, before the cluster stack.
    """

    def __init__(
        self, scope: Construct, id: str, *, config: DeploymentConfig, env: cdk.Environment
    ) -> None:
        creator_name, cluster_name = stack_names(config)
        super().__init__(scope, id, stack_name=creator_name, env=env)
        deployers = config.deployer_role_arns or config.admin_role_arns
        self.roles = ClusterCreatorRole(
            self,
            "Roles",
            cluster_name=config.cluster_name,
            cluster_stack_name=cluster_name,
            deployer_principals=_principals(deployers),
            break_glass_principals=_principals(config.break_glass_trusted_arns),
        )
        """The creator, deployer and break-glass roles."""


class ClusterStack(cdk.Stack):
    """The cluster stack: private VPC, private CUSTOMER_ROUTED cluster and baseline chart.

    Deployed by the dedicated creator role (its CloudFormation execution role).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DeploymentConfig,
        plan: NetworkPlan,
        creator: CreatorStack,
        env: cdk.Environment,
        vpc_cni_env: dict[str, str] | None = None,
    ) -> None:
        _, cluster_stack_name = stack_names(config)
        super().__init__(
            scope,
            id,
            stack_name=cluster_stack_name,
            env=env,
            synthesizer=creator_stack_synthesizer(config.cluster_name),
        )
        self._azs = list(config.availability_zones)
        self.config = config
        self.plan = plan
        self.add_stack_dependency(creator, reason="the creator role must exist before it deploys")
        self.network = SecureVpc(
            self,
            "Network",
            plan=plan,
            on_prem_cidrs=config.on_prem_cidrs,
            on_prem_route=config.on_prem_route,
            existing_vpc=config.existing_vpc,
        )
        """The private VPC."""
        self.secure_cluster = SecureCluster(
            self,
            "Eks",
            network=self.network,
            cluster_name=config.cluster_name,
            kubernetes_version=config.kubernetes_version,
            admin_roles=_roles(self, "AdminRole", config.admin_role_arns),
            viewer_roles=_roles(self, "ViewerRole", config.viewer_role_arns),
            # by its fixed name: no cross-stack output the creator role would have to read
            break_glass_role=iam.Role.from_role_arn(
                self,
                "BreakGlassRole",
                role_arn(self, break_glass_role_name(config.cluster_name)),
                mutable=False,
            ),
            control_plane_destinations=config.control_plane_egress,
            api_access_cidrs=config.api_access_cidrs,
            system_nodes=config.system_nodes,
            addon_versions=dict(config.addon_versions),
            vpc_cni_env=vpc_cni_env,
        )
        """The private cluster."""
        for key, value in (*config.tags, (CLUSTER_TAG, config.cluster_name)):
            cdk.Tags.of(self).add(key, value)
            cdk.Tags.of(creator).add(key, value)

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs: never looked up, so synthesis makes no AWS calls."""
        return self._azs


@dataclass
class Deployment:
    """One synthesized deployment: its config, plan and stacks."""

    config: DeploymentConfig
    plan: NetworkPlan
    creator_stack: CreatorStack
    cluster_stack: ClusterStack
    egress: EgressPattern | None = None
    """The egress pattern (``None`` for pattern ``base``)."""


def environment(config: DeploymentConfig) -> cdk.Environment:
    """The explicit account/region of ``config`` (never looked up from credentials)."""
    return cdk.Environment(account=config.account, region=config.region)


def build_base(
    app: cdk.App, config: DeploymentConfig, *, vpc_cni_env: dict[str, str] | None = None
) -> Deployment:
    """Add the creator and cluster stacks of ``config`` to ``app``."""
    plan = plan_for(config)
    env = environment(config)
    creator = CreatorStack(app, "Creator", config=config, env=env)
    cluster = ClusterStack(
        app, "Cluster", config=config, plan=plan, creator=creator, env=env, vpc_cni_env=vpc_cni_env
    )
    return Deployment(config=config, plan=plan, creator_stack=creator, cluster_stack=cluster)


def tenants(config: DeploymentConfig) -> list[Tenant]:
    """The config's apps as tenants (destinations default to all on-prem CIDRs)."""
    return [
        Tenant.from_app(app, config.on_prem_cidrs, f"apps[{i}]")
        for i, app in enumerate(config.apps)
    ]


def build_dedicated_nodes_pattern(
    app: cdk.App,
    config: DeploymentConfig,
    pattern: type[DedicatedNodesPattern],
    *,
    vpc_cni_env: dict[str, str] | None = None,
) -> Deployment:
    """Base stacks plus ``pattern`` (construct ID ``Egress``) in the cluster stack."""
    deployment = build_base(app, config, vpc_cni_env=vpc_cni_env)
    deployment.egress = pattern(
        deployment.cluster_stack,
        "Egress",
        cluster=deployment.cluster_stack.secure_cluster,
        tenants=tenants(config),
        kyverno=config.kyverno,
        nested=config.app_stacks == "nested",
    )
    return deployment
