"""``SecureCluster``: private-endpoint EKS with ``CUSTOMER_ROUTED`` control-plane egress."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import aws_cdk as cdk
import cdk8s
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.lambda_layer_kubectl_v34 import KubectlV34Layer
from constructs import Construct, IConstruct, IDependable

from eks_secure import rules
from eks_secure.cluster.access import AccessEntries
from eks_secure.cluster.addons import ManagedAddons
from eks_secure.cluster.control_plane_egress import ControlPlaneEgress
from eks_secure.cluster.creator_role import (
    boundary_policy_arn_expression,
    function_name_prefix,
    stack_role_path,
)
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.cluster.nodegroup import HardenedNodegroup
from eks_secure.cluster.tagging import tag_for_cluster
from eks_secure.config.model import (
    ControlPlaneDestination,
    CustomNetworkingSettings,
    KyvernoSettings,
    NodeGroupSize,
    require_supported_version,
)
from eks_secure.egress.spec import ClusterOptions
from eks_secure.errors import ConfigError
from eks_secure.k8s.baseline import BaselineChart
from eks_secure.keys import allow_cloudwatch_logs, rotating_key
from eks_secure.nag import acknowledge, acknowledge_compliance, acknowledge_managed_policies
from eks_secure.network.vpc import SecureVpc, is_cidr
from eks_secure.resource_types import cfn_resource_type

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.cluster.kyverno import KyvernoInstall
    from eks_secure.egress.contract import Tenant
    from eks_secure.isolation.construct import CustomNetworking

CONTROL_PLANE_EGRESS_MODE = "CUSTOMER_ROUTED"
KUBECTL_PROVIDER_TIMEOUT = 900
"""Timeout (s) of the provider-framework Lambda aws_eks_v2 creates (Lambda's maximum)."""
KUBECTL_HANDLER_TIMEOUT = 840
"""Timeout (s) of the kubectl handler: below the framework's, so the framework outlives a handler
that times out and reports the failure to CloudFormation instead of leaving it waiting."""
KUBECTL_WAIT_BUDGET = 780
"""Longest Helm/kubectl wait (s) a chart may ask of the handler (60 s margin below its timeout)."""
CUSTOM_RESOURCE_SERVICE_TIMEOUT = 960
"""``ServiceTimeout`` (s) of the stack's Lambda-backed custom resources: a dead handler fails the
resource after this, not after CloudFormation's default hour (framework timeout + 60 s)."""
ADMIN_GROUP = "eks-secure:admins"
VIEWER_GROUP = "eks-secure:viewers"
SYSTEM_NODE_LABEL = "eks-secure.io/pool"

ALL_LOG_TYPES: tuple[eks.ClusterLoggingTypes, ...] = (
    eks.ClusterLoggingTypes.API,
    eks.ClusterLoggingTypes.AUDIT,
    eks.ClusterLoggingTypes.AUTHENTICATOR,
    eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    eks.ClusterLoggingTypes.SCHEDULER,
)


class SecureCluster(Construct):
    """A fully private EKS cluster whose control-plane egress is routed through the VPC.

    Secure by construction, with no prop to weaken it:

    * API endpoint private only, from the first deploy;
    * ``ResourcesVpcConfig.ControlPlaneEgressMode = CUSTOMER_ROUTED`` (set on the L1, as the
      L2 has no prop yet), with the security group, NACL and route checks that mode needs;
    * cluster ENIs in the dedicated control-plane subnets;
    * secrets envelope-encrypted with a rotating KMS key; all five control-plane log types;
    * authentication mode API with access entries, bootstrap creator admin OFF, admins and
      viewers mapped to EKS access policies and Kubernetes groups, never ``system:masters``;
    * a hardened system node group, pinned managed add-ons (vpc-cni with network policy on);
    * the kubectl handler inside the VPC's private subnets;
    * a baseline cdk8s chart (default-deny NetworkPolicies, RBAC for the access-entry groups).

    :param network: the private VPC (subnet tiers, endpoints, on-prem routing).
    :param cluster_name: the EKS cluster name.
    :param kubernetes_version: e.g. ``"1.34"``.
    :param admin_roles: roles given cluster admin (``AmazonEKSClusterAdminPolicy``, group
        ``eks-secure:admins``).
    :param viewer_roles: roles given read access (``AmazonEKSViewPolicy``, group
        ``eks-secure:viewers``).
    :param break_glass_role: MFA-protected emergency role; gets its own cluster-admin entry.
    :param control_plane_destinations: external webhook/OIDC/aggregated-API destinations.
    :param api_access_cidrs: routed networks besides the VPC (operators, CI on-premises) allowed
        to reach the private API endpoint.
    :param system_nodes: size of the system node group (cluster add-ons, Kyverno, gateways).
    :param addon_versions: per-add-on overrides of the pinned versions.
    :param vpc_cni_env: extra vpc-cni environment variables. Default: none (egress patterns
        add what they need themselves).
    :param managed_namespaces: namespaces the baseline chart creates and locks down.
    :param options: what the cluster's egress pattern needs (CNI, taints on every node group,
        vpc-cni settings). Default: ``ClusterOptions()`` (VPC CNI, no taints).
    :param kyverno: chart source, version and image mirror of the cluster's policy engine,
        installed on first use (:meth:`policy_engine`). Default: ``KyvernoSettings()``.
    :param log_retention_days: retention of the control-plane log group
        ``/aws/eks/<cluster>/cluster``, created KMS-encrypted before the cluster (EKS would
        otherwise create it unencrypted, never expiring). Default: 365.
    :param custom_networking: pods in the pod subnets of the plan's pool ``pods``
        (:class:`~eks_secure.isolation.construct.CustomNetworking`): the vpc-cni add-on with
        custom networking and the ``ENIConfig`` objects come before every node group, each node
        group's launch template sets ``maxPods``. Default: off.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: SecureVpc,
        cluster_name: str,
        kubernetes_version: str,
        admin_roles: Sequence[iam.IRole] = (),
        viewer_roles: Sequence[iam.IRole] = (),
        break_glass_role: iam.IRole | None = None,
        control_plane_destinations: Sequence[ControlPlaneDestination] = (),
        api_access_cidrs: Sequence[str] = (),
        system_nodes: NodeGroupSize | None = None,
        addon_versions: Mapping[str, str] | None = None,
        vpc_cni_env: Mapping[str, str] | None = None,
        managed_namespaces: Sequence[str] = (),
        options: ClusterOptions | None = None,
        kyverno: KyvernoSettings | None = None,
        log_retention_days: int = 365,
        custom_networking: CustomNetworkingSettings | None = None,
    ) -> None:
        super().__init__(scope, id)
        rules.raise_problems(rules.cluster_name(cluster_name, "SecureCluster.cluster_name"))
        rules.raise_problems(
            rules.log_retention_days(log_retention_days, "SecureCluster.log_retention_days")
        )
        require_supported_version(kubernetes_version, "SecureCluster.kubernetes_version")
        if not isinstance(network, SecureVpc):
            raise ConfigError(
                "SecureCluster.network",
                f"is a {type(network).__name__}, not a SecureVpc",
                "pass the SecureVpc the cluster runs in",
            )
        if custom_networking is not None and not isinstance(
            custom_networking, CustomNetworkingSettings
        ):
            raise ConfigError(
                "SecureCluster.custom_networking",
                f"is a {type(custom_networking).__name__}, not a CustomNetworkingSettings",
                "pass CustomNetworkingSettings(...) (or leave it out: custom networking off)",
            )
        admin_roles = _roles("SecureCluster.admin_roles", admin_roles)
        viewer_roles = _roles("SecureCluster.viewer_roles", viewer_roles)
        if break_glass_role is not None:
            (break_glass_role,) = _roles("SecureCluster.break_glass_role", [break_glass_role])
        if not admin_roles and break_glass_role is None:
            raise ConfigError(
                "admin_role_arns",
                "no principal would have admin access (bootstrap creator admin is off)",
                "declare at least one admin role",
            )
        self.network = network
        """The VPC the cluster runs in."""
        self.stack = cdk.Stack.of(self)
        """The stack holding the cluster."""
        self.cluster_name = cluster_name
        self.kubernetes_version = kubernetes_version
        self.options: ClusterOptions = options or ClusterOptions()
        """What the cluster was built for (CNI, node taints, vpc-cni settings)."""
        self._vpc_cni_env: dict[str, str] = self.options.merged_vpc_cni_env(vpc_cni_env or {})
        self._custom_networking = custom_networking
        self._pod_demand: list[tuple[str, int]] = []
        if custom_networking is not None:
            from eks_secure.isolation.custom_networking import CUSTOM_NETWORK_ENV
            from eks_secure.isolation.custom_networking import FIELD as CN_FIELD

            rules.raise_problems(
                rules.custom_networking_cni(
                    self.options.vpc_cni, self._vpc_cni_env, "of this cluster", CN_FIELD
                )
            )
            self._vpc_cni_env.update(CUSTOM_NETWORK_ENV)
        self._kyverno_settings = kyverno or KyvernoSettings()
        self._kyverno: KyvernoInstall | None = None
        self._node_prerequisites: list[IDependable] = []
        self._tenants: dict[str, str] = {}
        self.nodegroups: list[HardenedNodegroup] = []
        """Every node group added through :meth:`add_nodegroup` (system nodes first)."""
        tag_for_cluster(cdk.Stack.of(self), cluster_name)
        routed_on_prem = network.on_prem_cidrs if network.on_prem_routing is not None else ()

        self.control_plane_egress = ControlPlaneEgress(
            self,
            "ControlPlaneEgress",
            vpc=network.vpc,
            vpc_cidr=network.vpc_cidr_block,
            subnets=network.control_plane_subnets,
            destinations=control_plane_destinations,
            routed_on_prem_cidrs=routed_on_prem,
            api_access_cidrs=api_access_cidrs,
            webhook_ports=self.options.control_plane_ports,
            pod_cidrs=_pod_cidrs_outside(network, custom_networking),
        )
        """Security group and NACL of the control-plane ENIs."""

        self.secrets_key = rotating_key(
            self,
            "SecretsKey",
            description=f"Envelope encryption of Kubernetes secrets of {cluster_name}",
        )
        """KMS key encrypting Kubernetes secrets (rotation on)."""

        self.log_key, self.control_plane_logs = _control_plane_logs(
            self, cluster_name, log_retention_days
        )

        self.kubectl_security_group = ec2.SecurityGroup(
            self,
            "KubectlHandlerSecurityGroup",
            vpc=network.vpc,
            allow_all_outbound=False,
            description="kubectl handler: HTTPS to the private API endpoint and VPC endpoints",
        )
        """Security group of the in-VPC kubectl handler."""
        # HTTPS to any address: the API endpoint and interface endpoints are in the VPC, but the
        # CloudFormation replies and ECR layers go to S3's own addresses through the gateway
        # endpoint. Routing, not this rule, keeps the traffic private (no internet path exists).
        self.kubectl_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: private API, VPC endpoints, S3 gateway"
        )

        self.cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            version=eks.KubernetesVersion.of(kubernetes_version),
            vpc=network.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=list(network.control_plane_subnets))],
            endpoint_access=eks.EndpointAccess.PRIVATE,
            security_group=self.control_plane_egress.security_group,
            secrets_encryption_key=self.secrets_key,
            cluster_logging=list(ALL_LOG_TYPES),
            bootstrap_cluster_creator_admin_permissions=False,
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            bootstrap_self_managed_addons=None if self.options.vpc_cni else False,
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=KubectlV34Layer(self, "KubectlLayer"),
                private_subnets=list(network.system_node_subnets),
                security_groups=[self.kubectl_security_group],
            ),
            output_config_command=False,
            tags={"eks-secure:cluster": cluster_name},
        )
        """The ``aws_eks_v2`` cluster (a native ``AWS::EKS::Cluster``)."""
        self._acknowledge_cdk_managed_findings()
        self._place_kubectl_handler(network.system_node_subnets)
        self._encrypt_kubectl_logs(cluster_name)
        _guard_deployment(self.stack, cluster_name, self.cluster)
        cfn_cluster = self.cluster.node.default_child
        assert isinstance(cfn_cluster, eks.CfnCluster)
        # EKS writes into the group it finds; created first, it has our retention and key
        cfn_cluster.add_resource_dependency(self.control_plane_logs)
        cfn_cluster.add_property_override(
            "ResourcesVpcConfig.ControlPlaneEgressMode", CONTROL_PLANE_EGRESS_MODE
        )
        cdk.Annotations.of(self).add_warning_v2(
            "eks-secure:customer-routed-is-one-way",
            f"Cluster {cluster_name} uses control-plane egress mode CUSTOMER_ROUTED. EKS can "
            "never switch a cluster back to AWS_MANAGED; webhook and OIDC calls need the routes "
            "declared in control_plane_egress. See docs/security-posture.md.",
        )

        self.access = AccessEntries(
            self,
            "Access",
            cluster=self.cluster,
            admin_roles=admin_roles,
            viewer_roles=viewer_roles,
            break_glass_role=break_glass_role,
            admin_group=ADMIN_GROUP,
            viewer_group=VIEWER_GROUP,
        )
        """Access entries of admins, viewers and the break-glass role."""

        self.cdk8s_app = cdk8s.App()
        """cdk8s app holding every chart shipped into this cluster."""
        self.system_nodes = self.add_nodegroup(
            "SystemNodes",
            subnets=network.system_node_subnets,
            size=system_nodes or NodeGroupSize(),
            labels={SYSTEM_NODE_LABEL: "system"},
            field="system_nodes",
            subnet_field="subnets.system_node_prefix",
        )
        """The system node group (no app taint) for add-ons and platform controllers."""

        self.addons = ManagedAddons(
            self,
            "Addons",
            cluster=self.cluster,
            kubernetes_version=kubernetes_version,
            versions=addon_versions,
            vpc_cni_env=self._vpc_cni_env,
            vpc_cni=self.options.vpc_cni,
        )
        """Pinned managed add-ons."""
        for name, addon in self.addons.addons.items():
            if name == "vpc-cni" and custom_networking is not None:
                continue  # before every node: each boots with custom networking
            addon.node.add_dependency(self.system_nodes.nodegroup)
        self.custom_networking: CustomNetworking | None = None
        """The pod subnets and ENIConfig objects (``custom_networking``), if on."""
        if custom_networking is not None:
            from eks_secure.isolation.construct import CustomNetworking

            self.custom_networking = CustomNetworking(
                self, "CustomNetworking", cluster=self, settings=custom_networking
            )
            self.add_node_prerequisite(self.custom_networking.manifest)

        self.charts: dict[str, cdk8s.Chart] = {}
        """Charts shipped into the cluster, by construct ID (for tests and snapshots)."""
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        """The CloudFormation manifest resource of each chart."""
        if self.custom_networking is not None:
            self.charts["EniConfigs"] = self.custom_networking.eni_configs
            self.manifests["EniConfigs"] = self.custom_networking.manifest
        self.baseline = BaselineChart(
            self.cdk8s_app,
            "baseline",
            managed_namespaces=managed_namespaces,
            admin_group=ADMIN_GROUP,
            viewer_group=VIEWER_GROUP,
        )
        """Default-deny NetworkPolicies and RBAC bindings for the access-entry groups."""
        self.add_chart("Baseline", self.baseline)

    def add_nodegroup(
        self,
        id: str,
        *,
        subnets: Sequence[ec2.ISubnet],
        size: NodeGroupSize,
        scope: Construct | None = None,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[eks.TaintSpec] = (),
        field: str = "nodes",
        subnet_field: str = "the subnets' prefix",
        addresses_per_node: int | None = None,
    ) -> HardenedNodegroup:
        """Add a hardened managed node group that keeps the system nodes' invariants.

        The node group gets the hardened launch template (IMDSv2 hop limit 1, encrypted root, no
        SSH), the taints every node of this cluster needs (:attr:`ClusterOptions.node_taints`)
        besides ``taints``, and waits for the VPC endpoints it bootstraps through and for every
        node prerequisite (e.g. a CNI installed before the first node). ``scope`` places it
        elsewhere than this construct, e.g. in an app's nested stack; ``id`` must be unique there.

        Synthesis fails (:func:`eks_secure.rules.node_subnet_capacity`, naming ``field`` and
        ``subnet_field``) when a subnet cannot hold the group at ``max_size`` plus the update
        surge with the VPC CNI's address allocation; subnets whose CIDR is a token are not sized.
        ``addresses_per_node`` replaces that allocation for nodes whose pods take their addresses
        elsewhere (a CNI with its own pod subnets); the preflight reads it from the node group's
        metadata.
        """
        prefixes = {
            int(cidr.split("/")[1])
            for cidr in (s.ipv4_cidr_block for s in subnets)
            if is_cidr(cidr)
        }
        prefix_delegation = self._vpc_cni_env.get("ENABLE_PREFIX_DELEGATION", "").lower() == "true"
        user_data: ec2.UserData | None = None
        node_addresses = addresses_per_node
        if self._custom_networking is not None:
            # the node subnet holds the primary address only; pods take the pod subnets
            node_addresses = 1 if addresses_per_node is None else addresses_per_node
            user_data = self._custom_networking_user_data(size, len(subnets), field)
        if prefixes:  # the smallest subnet counts
            rules.raise_problems(
                rules.node_subnet_capacity(
                    size.instance_types,
                    size.max_size,
                    len(subnets),
                    max(prefixes),
                    field=field,
                    prefix_field=subnet_field,
                    prefix_delegation=prefix_delegation,
                    addresses_per_node=node_addresses,
                )
            )
        cluster_taints = [
            eks.TaintSpec(key=t.key, value=t.value, effect=eks.TaintEffect(_EFFECTS[t.effect]))
            for t in self.options.node_taints
        ]
        nodegroup = HardenedNodegroup(
            scope or self,
            id,
            cluster=self.cluster,
            subnets=subnets,
            size=size,
            labels=labels,
            taints=[*cluster_taints, *taints],
            field=field,
            user_data=user_data,
        )
        endpoints = self.network.endpoints
        if endpoints is not None:
            # nodes bootstrap through the endpoints (ECR, S3, EC2, STS); from a nested stack
            # through their one barrier resource (a short DependsOn on the nested stack)
            nested = cdk.Stack.of(nodegroup) is not cdk.Stack.of(endpoints)
            nodegroup.node.add_dependency(endpoints.ready() if nested else endpoints)
        for prerequisite in self._node_prerequisites:
            nodegroup.nodegroup.node.add_dependency(prerequisite)
        if addresses_per_node is not None:
            from eks_secure.preflight.check_capacity import ADDRESSES_METADATA

            cfn = nodegroup.nodegroup.node.default_child
            assert isinstance(cfn, cdk.CfnResource)
            cfn.add_metadata(ADDRESSES_METADATA, addresses_per_node)
        self.nodegroups.append(nodegroup)
        return nodegroup

    def _custom_networking_user_data(
        self, size: NodeGroupSize, subnets: int, field: str
    ) -> ec2.UserData:
        """Check the pod subnets hold this node group too; its ``maxPods`` user data."""
        from eks_secure.isolation.custom_networking import (
            FIELD as CN_FIELD,
        )
        from eks_secure.isolation.custom_networking import (
            node_config,
            node_max_pods,
            pod_addresses_per_node,
        )
        from eks_secure.network import capacity

        settings = self._custom_networking
        assert settings is not None
        # unknown instance types fail here, naming the field, not later in the lazy value
        node_max_pods(size.instance_types, pod_eni=False, field=field, override=settings.max_pods)
        known = [n for t in size.instance_types if (n := pod_addresses_per_node(t)) is not None]
        if known:
            nodes = capacity.nodes_per_subnet(size.max_size, subnets)
            self._pod_demand.append((field, nodes * max(known)))
            rules.raise_problems(
                rules.pod_subnet_capacity(
                    self._pod_demand,
                    settings.pod_subnet_prefix,
                    field=field,
                    prefix_field=f"{CN_FIELD}.pod_subnet_prefix",
                )
            )
        env = self._vpc_cni_env

        def produce() -> str:
            pod_eni = env.get("ENABLE_POD_ENI", "").lower() == "true"
            return node_config(
                node_max_pods(
                    size.instance_types, pod_eni=pod_eni, field=field, override=settings.max_pods
                )
            )

        user_data = ec2.MultipartUserData()
        user_data.add_part(
            ec2.MultipartBody.from_raw_body(
                content_type="application/node.eks.aws",
                body=cdk.Lazy.string(_Producer(produce)),
            )
        )
        return user_data

    def add_node_prerequisite(self, dependable: IDependable) -> None:
        """Make every node group (those added already and later) wait for ``dependable``."""
        self._node_prerequisites.append(dependable)
        for nodegroup in self.nodegroups:
            nodegroup.nodegroup.node.add_dependency(dependable)

    def policy_engine(self) -> KyvernoInstall:
        """The cluster's Kyverno release (construct ``Kyverno``), installed on first use.

        One per cluster: every pattern and isolation feature that needs admission policies
        shares it.
        """
        if self._kyverno is None:
            from eks_secure.cluster.kyverno import KyvernoInstall

            KyvernoInstall(self, "Kyverno", cluster=self, settings=self._kyverno_settings)
        assert self._kyverno is not None
        return self._kyverno

    @property
    def has_policy_engine(self) -> bool:
        """Whether the cluster has its Kyverno release already."""
        return self._kyverno is not None

    def use_policy_engine(self, kyverno: KyvernoInstall) -> None:
        """Record ``kyverno`` as the cluster's one Kyverno release (called by KyvernoInstall)."""
        if self._kyverno is not None and self._kyverno is not kyverno:
            raise ConfigError(
                "KyvernoInstall.cluster",
                f"cluster {self.cluster_name} already has a Kyverno release",
                "use cluster.policy_engine()",
            )
        self._kyverno = kyverno

    @property
    def vpc_cni_env(self) -> Mapping[str, str]:
        """The vpc-cni environment the add-on is configured with."""
        return dict(self._vpc_cni_env)

    def require_options(self, pattern: str, needed: ClusterOptions) -> None:
        """Make the cluster fit a pattern's :class:`ClusterOptions`, or say why it cannot.

        vpc-cni settings are added to the add-on (it is configured lazily); the CNI choice and
        node taints are fixed when the cluster is created, so a mismatch is an error.
        """
        field = f"{pattern}: SecureCluster.options"
        if (
            needed.vpc_cni != self.options.vpc_cni
            or set(needed.node_taints) - set(self.options.node_taints)
            or set(needed.control_plane_ports) - set(self.control_plane_egress.webhook_ports)
        ):
            raise ConfigError(
                field,
                f"pattern {pattern} needs a cluster built with {needed}, but it was built with "
                f"{self.options}",
                "build the cluster with options=<spec>.cluster_options() (EksSecureDeployment "
                "does this)",
            )
        if needed.vpc_cni_env:
            merged = ClusterOptions(vpc_cni_env=needed.vpc_cni_env).merged_vpc_cni_env(
                self._vpc_cni_env
            )
            if self._custom_networking is not None:
                from eks_secure.isolation.custom_networking import FIELD as CN_FIELD

                rules.raise_problems(rules.custom_networking_cni(True, merged, pattern, CN_FIELD))
            self._vpc_cni_env.update(merged)

    def egress_sources(
        self, node_cidrs: Sequence[str], destinations: Sequence[str], *, app: str
    ) -> tuple[str, ...]:
        """The source CIDRs on-premises sees from ``app``'s pods on nodes in ``node_cidrs``
        (for the allow-list): the node subnets while the VPC CNI SNATs to the node; with custom
        networking, the pod subnets for destinations it does not SNAT
        (:func:`eks_secure.isolation.custom_networking.egress_sources`), with a warning."""
        from eks_secure.isolation.custom_networking import egress_sources

        pods = self.custom_networking.pod_cidrs if self.custom_networking is not None else ()
        sources = egress_sources(node_cidrs, pods, self._vpc_cni_env, destinations)
        if set(pods) & set(sources):
            cdk.Annotations.of(self).add_warning_v2(
                f"eks-secure:pod-subnet-sources-{app}",
                f"app {app}: the VPC CNI does not SNAT some of its destinations, so with custom "
                "networking they see the shared pod subnets as its source (listed on the "
                "allow-list), which other apps' pods share too",
            )
        return sources

    def claim_tenants(self, pattern: str, tenants: Sequence[Tenant]) -> None:
        """Record that ``pattern`` serves ``tenants``; one app is served by one pattern only."""
        problems = []
        for tenant in tenants:
            owner = self._tenants.get(tenant.name)
            if owner is not None:
                problems.append(
                    ConfigError(
                        tenant.path("name"),
                        f"app '{tenant.name}' is already served by pattern {owner} on cluster "
                        f"{self.cluster_name}",
                        "give each app one egress pattern",
                    )
                )
        rules.raise_problems(problems)
        for tenant in tenants:
            self._tenants[tenant.name] = pattern

    def _place_kubectl_handler(self, subnets: Sequence[ec2.ISubnet]) -> None:
        """Run the kubectl handler and its provider Lambda in ``subnets``.

        aws_eks_v2 2.275 ignores ``KubectlProviderOptions.private_subnets`` when the endpoint is
        private and puts both Lambdas in the cluster's subnets, which would spend the small
        control-plane subnets' addresses on Lambda ENIs. Override the placement on the L1s.
        """
        subnet_ids = [s.subnet_id for s in subnets]
        placed = 0
        for child in self.cluster.node.find_all():
            if isinstance(child, lambda_.CfnFunction) and "KubectlProvider" in child.node.path:
                child.add_property_override("VpcConfig.SubnetIds", subnet_ids)
                placed += 1
        if placed == 0:
            raise RuntimeError("aws_eks_v2 created no kubectl provider Lambda to place")

    def _encrypt_kubectl_logs(self, cluster_name: str) -> None:
        """Encrypt the log groups of the kubectl handler and provider Lambdas with the
        control-plane log key (aws_eks_v2 creates them with retention but without a key).

        The groups exist when the app sets the feature flag
        ``@aws-cdk/aws-lambda:useCdkManagedLogGroup`` (the project's ``cdk.json`` does);
        without it Lambda creates them on first use, unencrypted."""
        stack = cdk.Stack.of(self)
        allow_cloudwatch_logs(
            self.log_key,
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/lambda/"
            f"{function_name_prefix(cluster_name)}kubectl-*",
            sid="KubectlLogGroupsOnly",
        )
        for child in self.cluster.node.find_all():
            if isinstance(child, logs.CfnLogGroup) and "KubectlProvider" in child.node.path:
                child.kms_key_id = self.log_key.key_arn

    def _acknowledge_cdk_managed_findings(self) -> None:
        """Acknowledge findings on resources aws_eks_v2 itself creates (cluster role, handler)."""
        acknowledge_managed_policies(
            self.cluster,
            ("AmazonEKSClusterPolicy",),
            "EKS requires AmazonEKSClusterPolicy on the cluster role; AWS maintains it.",
        )
        acknowledge_managed_policies(
            self.cluster,
            (
                "service-role/AWSLambdaBasicExecutionRole",
                "service-role/AWSLambdaVPCAccessExecutionRole",
                "AmazonEC2ContainerRegistryReadOnly",
            ),
            "The kubectl handler created by aws_eks_v2 runs in the VPC, logs to CloudWatch and "
            "pulls chart images from ECR; these AWS-managed policies are exactly that.",
        )
        stack = cdk.Stack.of(self)
        for child in self.cluster.node.find_all():
            if isinstance(child, cdk.CfnCondition) and child.node.id == "HasEcrPublic":
                condition = stack.get_logical_id(child)
                policy = {
                    "Fn::If": [
                        condition,
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly",
                                ],
                            ]
                        },
                        {"Ref": "AWS::NoValue"},
                    ]
                }
                acknowledge(
                    self.cluster,
                    f"AwsSolutions-IAM4[Policy::{json.dumps(policy, separators=(',', ':'))}]",
                    "aws_eks_v2 adds ECR-public read access to the kubectl handler only in "
                    "regions that have ECR public; the policy is AWS-managed and read-only.",
                )
            if isinstance(child, lambda_.CfnFunction) and "KubectlProvider" in child.node.path:
                acknowledge(
                    self.cluster,
                    f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(child)}.Arn>:*]",
                    "The provider framework may invoke every version of the kubectl handler.",
                )
                acknowledge_compliance(
                    child,
                    "LambdaConcurrency",
                    "a CloudFormation custom-resource handler, invoked a few times per stack "
                    "operation; reserved concurrency would add no protection and could only "
                    "throttle a deployment.",
                )
                acknowledge_compliance(
                    child,
                    "LambdaDLQ",
                    "invoked synchronously (by CloudFormation's provider framework, which "
                    "reports every failure back to CloudFormation); a dead-letter queue only "
                    "receives failed asynchronous invocations, so it would stay empty.",
                )
            if isinstance(child, iam.CfnPolicy) and "KubectlProvider" in child.node.path:
                acknowledge_compliance(
                    child,
                    "IAMNoInlinePolicy",
                    "aws_eks_v2 writes the grants of the kubectl handler and provider framework "
                    "as their roles' DefaultPolicy; single-purpose roles created and deleted "
                    "with the cluster stack, so the policy attaches to nothing else (the "
                    "creator role may not create or delete customer-managed policies).",
                )
        acknowledge(
            self.cluster,
            "AwsSolutions-L1",
            "The provider-framework Lambda runtime is chosen by aws-cdk-lib; it moves with "
            "aws-cdk-lib upgrades.",
        )

    def add_chart(
        self, id: str, chart: cdk8s.Chart, *, scope: Construct | None = None
    ) -> eks.KubernetesManifest:
        """Ship a cdk8s chart into the cluster (applied by the in-VPC kubectl handler).

        ``scope`` places the manifest resource elsewhere than this construct, e.g. in an app's
        nested stack; ``id`` must be unique there.
        """
        if id in self.charts:
            raise ValueError(f"a chart with id {id!r} was already added to {self.cluster_name}")
        manifest = eks.KubernetesManifest(
            scope or self,
            id,
            cluster=as_icluster(self.cluster),
            manifest=chart.to_json(),
            prune=True,
        )
        manifest.node.add_dependency(self.system_nodes.nodegroup)
        self.charts[id] = chart
        self.manifests[id] = manifest
        return manifest


@jsii.implements(cdk.IStableStringProducer)
class _Producer:
    """A lazy string from a Python callable (read at synthesis)."""

    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self) -> str:
        return self._produce()


def _pod_cidrs_outside(
    network: SecureVpc, settings: CustomNetworkingSettings | None
) -> tuple[str, ...]:
    """The block of the pod subnets when it is outside the primary VPC CIDR (a secondary
    CIDR's)."""
    if settings is None or settings.secondary_cidr is None:
        return ()
    from eks_secure.isolation.custom_networking import POD_MEMBER, POD_POOL

    if not network.plan.has_pool(POD_POOL):
        return ()  # CustomNetworking names the missing pool
    return (network.plan.pool(POD_POOL).member(POD_MEMBER).block,)


def control_plane_log_group_name(cluster_name: str) -> str:
    """The log group EKS writes the control-plane logs of ``cluster_name`` to."""
    return f"/aws/eks/{cluster_name}/cluster"


def _control_plane_logs(
    scope: Construct, cluster_name: str, retention_days: int
) -> tuple[kms.Key, logs.CfnLogGroup]:
    """The control-plane log group (retention, KMS) and its key, created before the cluster.

    The group is kept when the stack is deleted (audit evidence) but removed when its own
    creation is rolled back (``RetainExceptOnCreate``), so a failed first deploy can be retried.
    """
    stack = cdk.Stack.of(scope)
    name = control_plane_log_group_name(cluster_name)
    key = rotating_key(
        scope,
        "ControlPlaneLogKey",
        description=f"Encryption of the control-plane and kubectl handler logs of {cluster_name}",
    )
    allow_cloudwatch_logs(
        key,
        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}",
        sid="ControlPlaneLogGroupOnly",
    )
    group = logs.CfnLogGroup(
        scope,
        "ControlPlaneLogs",
        log_group_name=name,
        retention_in_days=retention_days,
        kms_key_id=key.key_arn,
    )
    group.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
    group.node.add_dependency(key)
    return key, group


_EFFECTS = {
    "NoSchedule": "NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
}


def _roles(field: str, roles: Sequence[iam.IRole]) -> list[iam.IRole]:
    """``roles`` as a list of IAM role objects; strings (ARNs) get a clear error."""
    if isinstance(roles, str) or not isinstance(roles, Sequence):
        raise ConfigError(
            field, "must be a list of IAM roles", "pass [iam.Role.from_role_arn(...)]"
        )
    for i, role in enumerate(roles):
        if isinstance(role, str) or not hasattr(role, "role_arn"):
            raise ConfigError(
                f"{field}[{i}]",
                f"is a {type(role).__name__}, not an IAM role",
                "pass a role object: iam.Role.from_role_arn(scope, id, arn, mutable=False)",
            )
    return list(roles)


@jsii.implements(cdk.IAspect)
class _StackGuards:
    """Role paths, the permissions boundary, layer names and custom-resource service timeouts
    on every resource of the stack.

    Added to a leaf construct of the stack (:func:`_guard_deployment`), so CDK calls
    :meth:`visit` once, at synthesis, and it walks the stack itself: a Python aspect on the
    stack would be a jsii callback per construct (about 3,000 at 60 apps, most of the synthesis
    time they took). CDK invokes aspects construct by construct in tree order (the priority,
    :data:`GUARDS_PRIORITY`, orders the aspects of one construct), so the walk sees every
    construct built before synthesis and those an aspect adds while visiting the stack or the
    constructs before the leaf; a resource an aspect adds while visiting a construct created
    after the cluster is not guarded. That fails closed: the creator role refuses a role
    without the boundary, and ``eks-secure preflight`` (checks ``iam``, ``names``, ``timeouts``)
    reports it before a deploy.
    """

    def __init__(self, stack: cdk.Stack, role_path: str, boundary_arn: str, layer_prefix: str):
        self.stack = stack
        self.role_path = role_path
        self.boundary_arn = boundary_arn
        self.layer_prefix = layer_prefix

    def visit(self, node: IConstruct) -> None:
        for child in self.stack.node.find_all():
            self._guard(child)

    def _guard(self, node: IConstruct) -> None:
        kind = cfn_resource_type(node)
        if kind is None:
            return
        assert isinstance(node, cdk.CfnResource)
        if kind in ("AWS::IAM::Role", "AWS::IAM::InstanceProfile"):
            typed = node if isinstance(node, iam.CfnRole | iam.CfnInstanceProfile) else None
            if typed is None or typed.path is None:
                node.add_property_override("Path", self.role_path)
        if kind == "AWS::IAM::Role":
            # the creator may create and change roles only with this boundary
            node.add_property_override("PermissionsBoundary", {"Fn::Sub": self.boundary_arn})
        elif kind == "AWS::Lambda::LayerVersion" and (
            not isinstance(node, lambda_.CfnLayerVersion)
            or node.stack.resolve(node.layer_name) is None  # the L2 passes an unset token
        ):
            # explicit <cluster>-<layer> names: the creator's KubectlHandler statement names them
            scope = node.node.scope
            layer = scope.node.id if scope is not None else node.node.id
            node.add_property_override("LayerName", f"{self.layer_prefix}{_layer_name(layer)}")
        elif kind.startswith("Custom::"):
            node.add_property_override("ServiceTimeout", CUSTOM_RESOURCE_SERVICE_TIMEOUT)


GUARDS_PRIORITY = 900
"""Aspect priority of the deployment guards: among the aspects of their construct, after
MUTATING (200) and DEFAULT (500) ones, before READONLY (1000) checks."""


def _layer_name(construct_id: str) -> str:
    """A Lambda layer name part from a construct ID (letters, digits, ``-`` and ``_``)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in construct_id).lower()


def _guard_deployment(stack: cdk.Stack, cluster_name: str, cluster: eks.Cluster) -> None:
    """What a first deploy (and its rollback) needs of names, paths and timeouts.

    * every IAM role (and instance profile) of the stack and its nested stacks under
      ``stack_role_path(cluster_name)``: CloudFormation truncates generated role names, so the
      creator policy scopes the path; every role with the cluster's permissions boundary
      (``<cluster>-boundary``, created by the creator stack), which the creator requires;
    * explicit names ``<cluster>-kubectl-handler``, ``<cluster>-kubectl-provider`` and
      ``<cluster>-default-sg`` for the stack's Lambda functions, for the same reason;
    * the kubectl handler's timeout below the provider framework's, and a ``ServiceTimeout`` on
      every custom resource (checked by ``eks-secure preflight``, check ``timeouts``).
    """
    cdk.Aspects.of(Construct(stack, "DeploymentGuards")).add(
        _StackGuards(
            stack,
            stack_role_path(cluster_name),
            boundary_policy_arn_expression(cluster_name),
            function_name_prefix(cluster_name),
        ),
        priority=GUARDS_PRIORITY,
    )
    prefix = function_name_prefix(cluster_name)
    for child in cluster.node.find_all():
        if isinstance(child, lambda_.CfnFunction) and "KubectlProvider/Handler" in child.node.path:
            child.add_property_override("FunctionName", f"{prefix}kubectl-handler")
            child.add_property_override("Timeout", KUBECTL_HANDLER_TIMEOUT)
        elif isinstance(child, lambda_.CfnFunction) and "framework-onEvent" in child.node.path:
            child.add_property_override("FunctionName", f"{prefix}kubectl-provider")
            child.add_property_override("Timeout", KUBECTL_PROVIDER_TIMEOUT)
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if isinstance(handler, cdk.CfnResource):
        handler.add_property_override("FunctionName", f"{prefix}default-sg")
