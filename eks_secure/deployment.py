"""``EksSecureDeployment``: a whole private EKS deployment in one construct.

The cluster stack *is* the construct (as Blueprints' ``EksBlueprint`` is its cluster's stack);
it adds its small creator stack beside itself. A user's app is a few lines::

    app = cdk.App()
    EksSecureDeployment(app, "Cluster", settings=settings, egress=PrivateNatEgress(...),
                        tenants=[Tenant(name="payments-api", destinations=["10.1.0.0/16"])])
    app.synth()

What it does that a user would otherwise have to wire by hand:

* the creator stack (creator, deployer and break-glass roles) deployed first, and the cluster
  stack deployed *by* the creator role (:func:`creator_stack_synthesizer`), with every resource
  tagged for the creator role's tag-scoped permissions (synthesis fails if one is not);
* availability zones pinned to the configured ones (no lookup, so no AWS call);
* the break-glass role referenced by its fixed ARN (no cross-stack export), trusted by the
  listed principals (default: the admins) and watched by :class:`BreakGlassAlerts`;
* the address plan from the egress pattern's needs (and the address-plan lock, if given);
* the cluster built with the options the pattern needs (CNI, vpc-cni settings, node taints);
* the egress pattern; its allow-list (and the control plane's, see ControlPlaneEgress) is
  published as stack outputs and written as
  ``<stack>.allowlist.json`` / ``.csv`` into the cloud assembly at synthesis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.break_glass_alerts import BreakGlassAlerts
from eks_secure.cluster.cluster import SecureCluster
from eks_secure.cluster.creator_role import (
    ClusterCreatorRole,
    break_glass_role_name,
    creator_stack_synthesizer,
    role_arn,
)
from eks_secure.cluster.tagging import CLUSTER_TAG, CreatorStackSynthesizer
from eks_secure.config.plan import plan_deployment
from eks_secure.egress.allowlist import to_csv, to_json
from eks_secure.egress.contract import Tenant, check_tenants
from eks_secure.egress.pattern import EgressPattern
from eks_secure.egress.spec import EgressSpec
from eks_secure.errors import ConfigError
from eks_secure.isolation.audit import AuditTrail
from eks_secure.isolation.construct import build_isolation
from eks_secure.isolation.load_balancers import LoadBalancerPolicy
from eks_secure.network.planner import NetworkPlan
from eks_secure.network.vpc import SecureVpc

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.config.model import DeploymentConfig

_STACK_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def stack_names(cluster_name: str) -> tuple[str, str]:
    """Names of the creator stack and the cluster stack of ``cluster_name``."""
    return f"{cluster_name}-creator", f"{cluster_name}-cluster"


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

    :param settings: the deployment's settings (cluster name, deployer and break-glass
        principals).
    """

    def __init__(
        self, scope: Construct, id: str, *, settings: DeploymentConfig, env: cdk.Environment
    ) -> None:
        creator_name, cluster_name = stack_names(settings.cluster_name)
        super().__init__(scope, id, stack_name=creator_name, env=env)
        deployers = settings.deployer_role_arns or settings.admin_role_arns
        self.roles = ClusterCreatorRole(
            self,
            "Roles",
            cluster_name=settings.cluster_name,
            cluster_stack_name=cluster_name,
            deployer_principals=_principals(deployers),
            # the admins by default: an explicit list either way, never the whole account
            break_glass_principals=_principals(
                settings.break_glass_trusted_arns or settings.admin_role_arns
            ),
            break_glass_session_tag=(
                (tag.key, tag.value)
                if (tag := settings.break_glass_session_tag) is not None
                else None
            ),
            audit_trail=settings.audit.cloudtrail,
        )
        """The creator, deployer and break-glass roles."""


class _AllowListWriter:
    """Writes a stack's allow-list next to its template when the assembly is synthesized."""

    def __init__(self, stack: EksSecureDeployment) -> None:
        self.stack = stack

    def __call__(self, outdir: str) -> None:
        egress = self.stack.egress
        entries = [
            *self.stack.secure_cluster.control_plane_egress.allow_list,
            *(egress.allow_list if egress is not None else ()),
        ]
        if not entries:
            return
        name = self.stack.stack_name
        Path(outdir, f"{name}.allowlist.json").write_text(to_json({name: entries}))
        Path(outdir, f"{name}.allowlist.csv").write_text(to_csv(entries))


class EksSecureDeployment(cdk.Stack):
    """The cluster stack of one private EKS deployment, with its creator stack beside it.

    :param scope: the app (or stage) both stacks live in.
    :param id: construct ID of the cluster stack (its stack name is ``<cluster>-cluster``).
    :param settings: cluster name, account, region, AZs, VPC and on-prem networks, access
        principals, node sizes... (a validated
        :class:`~eks_secure.config.model.DeploymentConfig`).
    :param egress: the egress pattern, chosen by object (``SubnetPerAppEgress()``,
        ``PrivateNatEgress(...)``). Default: none (the VPC and cluster alone).
    :param tenants: the apps that need fixed egress IPs. Default: none (a pattern needs one).
    :param address_lock: recorded slots (pool -> member -> slot, see
        :mod:`eks_secure.network.lock`) that the address plan keeps. Default: none (slots from
        name hashes, pins honoured).
    :param creator_stack_id: construct ID of the creator stack. Default: ``<id>Creator``.
    :param nested: each app (and NAT group) in its own nested stack. Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: DeploymentConfig,
        egress: EgressSpec | None = None,
        tenants: Sequence[Tenant] = (),
        address_lock: Mapping[str, Mapping[str, int]] | None = None,
        creator_stack_id: str | None = None,
        nested: bool = True,
    ) -> None:
        if egress is not None and not isinstance(egress, EgressSpec):
            raise ConfigError(
                "EksSecureDeployment.egress",
                f"is a {type(egress).__name__}, not an egress pattern spec",
                "pass e.g. SubnetPerAppEgress() or PrivateNatEgress(...)",
            )
        checked = check_tenants(tenants, "EksSecureDeployment.tenants")
        if checked and egress is None:
            raise ConfigError(
                "EksSecureDeployment.tenants",
                "tenants are given but no egress pattern serves them",
                "pass egress=<pattern spec>, e.g. SubnetPerAppEgress()",
            )
        rules.raise_problems(
            rules.availability_zones(
                list(settings.availability_zones), settings.region, "availability_zones"
            )
        )
        env = cdk.Environment(account=settings.account, region=settings.region)
        _, cluster_stack_name = stack_names(settings.cluster_name)
        creator_id = creator_stack_id or f"{id}Creator"
        for field, value in (("id", id), ("creator_stack_id", creator_id)):
            if not _STACK_ID.match(value):
                raise ConfigError(
                    f"EksSecureDeployment.{field}",
                    f"'{value}' is not a valid stack construct ID",
                    "use letters, digits and '-', starting with a letter",
                )
        self.creator_stack = CreatorStack(scope, creator_id, settings=settings, env=env)
        """The stack of the creator, deployer and break-glass roles (deployed first)."""
        synthesizer = creator_stack_synthesizer(settings.cluster_name)
        super().__init__(scope, id, stack_name=cluster_stack_name, env=env, synthesizer=synthesizer)
        self._azs = list(settings.availability_zones)
        self.settings = settings
        """The deployment's settings."""
        self.egress_spec = egress
        """The egress pattern's spec (``None``: VPC and cluster alone)."""
        self.tenants = checked
        """The apps."""
        self.add_stack_dependency(
            self.creator_stack, reason="the creator role must exist before it deploys"
        )
        self.plan: NetworkPlan = plan_deployment(
            vpc_cidr=settings.vpc_cidr,
            availability_zones=settings.availability_zones,
            on_prem_cidrs=settings.on_prem_cidrs,
            subnet_sizes=settings.subnet_sizes,
            egress=egress,
            tenants=checked,
            lock=address_lock,
            isolation=settings.isolation,
        )
        """The address plan."""
        self.network = SecureVpc(
            self,
            "Network",
            plan=self.plan,
            on_prem_cidrs=settings.on_prem_cidrs,
            on_prem_route=settings.on_prem_route,
            existing_vpc=settings.existing_vpc,
        )
        """The private VPC."""
        break_glass_role = iam.Role.from_role_arn(
            self,
            "BreakGlassRole",
            role_arn(self, break_glass_role_name(settings.cluster_name)),
            mutable=False,
        )
        self.secure_cluster = SecureCluster(
            self,
            "Eks",
            network=self.network,
            cluster_name=settings.cluster_name,
            kubernetes_version=settings.kubernetes_version,
            admin_roles=_roles(self, "AdminRole", settings.admin_role_arns),
            viewer_roles=_roles(self, "ViewerRole", settings.viewer_role_arns),
            # by its fixed name: no cross-stack output the creator role would have to read
            break_glass_role=break_glass_role,
            control_plane_destinations=settings.control_plane_egress,
            api_access_cidrs=settings.api_access_cidrs,
            system_nodes=settings.system_nodes,
            addon_versions=dict(settings.addon_versions),
            options=egress.cluster_options() if egress is not None else None,
            kyverno=settings.kyverno,
            log_retention_days=settings.audit.control_plane_log_retention_days,
            custom_networking=settings.isolation.custom_networking,
        )
        """The private cluster."""
        topic_arn = settings.break_glass_alert_topic_arn
        self.break_glass_alerts = BreakGlassAlerts(
            self,
            "BreakGlassAlerts",
            cluster_name=settings.cluster_name,
            break_glass_role=break_glass_role,
            topic=(
                sns.Topic.from_topic_arn(self, "AlertTopic", topic_arn)
                if topic_arn is not None
                else None
            ),
        )
        """Alerts on every break-glass assumption and access-entry change."""
        self.load_balancer_policy: LoadBalancerPolicy | None = None
        """The internal-load-balancer policy (``isolation.load_balancers``), if on."""
        lb = settings.isolation.load_balancers
        if lb.internal_only:
            self.load_balancer_policy = LoadBalancerPolicy(
                self,
                "LoadBalancerPolicy",
                cluster=self.secure_cluster,
                internet_facing_namespaces=lb.internet_facing_namespaces,
            )
        self.audit_trail: AuditTrail | None = None
        """The CloudTrail trail (``audit.cloudtrail``), if on."""
        if settings.audit.cloudtrail:
            self.audit_trail = AuditTrail(
                self,
                "AuditTrail",
                cluster_name=settings.cluster_name,
                retention_days=settings.audit.cloudtrail_retention_days,
            )
        self.egress: EgressPattern | None = None
        """The egress pattern's constructs (construct ``Egress``), if any."""
        if egress is not None:
            self.egress = egress.build(
                self, "Egress", cluster=self.secure_cluster, tenants=checked, nested=nested
            )
        self.isolation = build_isolation(
            self, "Isolation", cluster=self.secure_cluster, settings=settings, tenants=checked
        )
        """The isolation features' constructs (construct ``Isolation``), if any is on."""
        for key, value in (
            *sorted(dict(settings.tags).items()),
            (CLUSTER_TAG, settings.cluster_name),
        ):
            cdk.Tags.of(self).add(key, value)
            cdk.Tags.of(self.creator_stack).add(key, value)
        assert isinstance(synthesizer, CreatorStackSynthesizer)
        synthesizer.after_synthesis(_AllowListWriter(self))

    @classmethod
    def from_config(
        cls,
        scope: Construct,
        config: DeploymentConfig,
        *,
        id: str = "Cluster",
        creator_stack_id: str = "Creator",
        address_lock: Mapping[str, Mapping[str, int]] | None = None,
    ) -> EksSecureDeployment:
        """The deployment of a validated YAML config (what the reference app builds)."""
        return cls(
            scope,
            id,
            settings=config,
            egress=config.egress,
            tenants=config.tenants,
            address_lock=address_lock,
            creator_stack_id=creator_stack_id,
            nested=config.app_stacks == "nested",
        )

    @property
    def cluster_stack(self) -> EksSecureDeployment:
        """The cluster stack (this stack)."""
        return self

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs: never looked up, so synthesis makes no AWS calls."""
        return self._azs
