"""The CDK side of the isolation features (config section ``isolation``).

:class:`HostProtection` installs Calico in policy-only mode and its host-protection tier;
:class:`PodSecurityGroups` gives apps security groups for pods. Both are built by
:class:`~eks_secure.deployment.EksSecureDeployment` from ``isolation`` in the config, after the
egress pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import cdk8s
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.cluster import SYSTEM_NODE_LABEL, SecureCluster
from eks_secure.config.model import (
    HostProtectionSettings,
    PodSecurityGroupsSettings,
    SubnetNaclSettings,
    camel,
)
from eks_secure.egress.spec import ClusterOptions
from eks_secure.errors import ConfigError
from eks_secure.helm.release import HelmRelease
from eks_secure.helm.source import ChartSource, chart_source
from eks_secure.isolation.host_protection import (
    CALICO_CHART,
    CALICO_CHART_VERSION,
    CALICO_NAMESPACE,
    CALICO_RELEASE,
    calico_host_protection_policy,
    calico_image_values,
    calico_tier,
    calico_values,
)
from eks_secure.isolation.pod_security_groups import (
    DNS_PORT,
    POD_ENI_ENV,
    VPC_RESOURCE_CONTROLLER_POLICY,
    egress_rules,
    security_group_policy,
    selected,
)
from eks_secure.isolation.subnet_nacls import (
    ADMIN_MEMBER,
    ADMIN_POOL,
    node_nacl_entries,
)
from eks_secure.k8s.crd import custom_resource
from eks_secure.nag import acknowledge, acknowledge_managed_policies
from eks_secure.registry.ecr import configured_mirror

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.config.model import DeploymentConfig
    from eks_secure.egress.contract import Tenant

FIELD_HOST_PROTECTION = "isolation.host_protection"
FIELD_POD_SECURITY_GROUPS = "isolation.pod_security_groups"
FIELD_SUBNET_NACLS = "isolation.subnet_nacls"


def node_cidrs(cluster: SecureCluster) -> tuple[str, ...]:
    """The VPC's CIDR blocks: every node's address, node groups added later included."""
    return cluster.network.plan.vpc_cidrs


class ObjectsChart(cdk8s.Chart):
    """A chart of plain custom-resource dicts (``apiVersion``, ``kind``, ``metadata``, ``spec``)."""

    def __init__(self, scope: Construct, id: str, *, objects: Sequence[dict[str, Any]]) -> None:
        super().__init__(scope, id)
        for i, obj in enumerate(objects):
            custom_resource(
                self,
                f"{obj['kind']}{i}",
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                name=obj["metadata"]["name"],
                namespace=obj["metadata"].get("namespace"),
                spec=obj["spec"],
            )


class HostProtection(Construct):
    """Calico (tigera-operator chart, policy-only on the VPC CNI) and its host-protection tier.

    The chart comes from the configured source (default: the deployment's ECR,
    ``oci://<ECR>/eks-secure/tigera-operator``), every image from the mirror. The tier and policy
    manifest (``HostProtectionPolicy``) is applied after the release.

    :param cluster: the cluster (built with the VPC CNI).
    :param settings: chart source, version, mirror and exempt namespaces.
    :param source: chart source overriding ``settings`` (e.g. a ``LocalChart``). Default: from
        ``settings``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: HostProtectionSettings,
        source: ChartSource | None = None,
    ) -> None:
        rules.raise_problems(
            rules.host_protection_cni(
                cluster.options.vpc_cni, "of this cluster", FIELD_HOST_PROTECTION
            )
        )
        mirror = configured_mirror(
            cdk.Stack.of(scope), settings.image_registry, f"{FIELD_HOST_PROTECTION}.image_registry"
        )
        if source is None:
            source = chart_source(settings.chart_repository, settings.chart_version)
        super().__init__(scope, id)
        if getattr(source, "version", CALICO_CHART_VERSION) != CALICO_CHART_VERSION:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:calico-chart-version",
                f"tigera-operator chart {getattr(source, 'version', '')} is not the tested "
                f"{CALICO_CHART_VERSION}: mirror the images its operator deploys.",
            )
        self.release = HelmRelease(
            self,
            "Chart",
            cluster=cluster,
            chart=CALICO_CHART,
            release=CALICO_RELEASE,
            namespace=CALICO_NAMESPACE,
            source=source,
            mirror=mirror,
            image_values=calico_image_values,
            values=calico_values({SYSTEM_NODE_LABEL: "system"}),
            field=FIELD_HOST_PROTECTION,
        )
        """The tigera-operator release."""
        cidrs = node_cidrs(cluster)
        self.policy = ObjectsChart(
            cluster.cdk8s_app,
            "host-protection",
            objects=[
                calico_tier(),
                calico_host_protection_policy(cidrs, exempt_namespaces=settings.exempt_namespaces),
            ],
        )
        """The tier and GlobalNetworkPolicy."""
        self.policy_manifest: eks.KubernetesManifest = cluster.add_chart(
            "HostProtectionPolicy", self.policy
        )
        """The policy's manifest resource (after the release: its API comes with Calico)."""
        self.policy_manifest.node.add_dependency(self.release.chart)


class PodSecurityGroups(Construct):
    """Security groups for pods: pod ENIs on, one security group and policy per app.

    Each app's group allows egress only to the app's destinations on its ports, and DNS (TCP
    and UDP 53) to the cluster security group (CoreDNS runs on nodes that carry it); ingress
    only from the cluster security group (kubelet probes and in-cluster callers, which the
    namespace's NetworkPolicies narrow). The ``SecurityGroupPolicy`` objects ship in manifest
    ``PodSecurityGroupPolicies``; their namespaces come from the tenant charts.

    :param cluster: the cluster (VPC CNI, Nitro node groups).
    :param settings: which apps get a group.
    :param tenants: the apps.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: PodSecurityGroupsSettings,
        tenants: Sequence[Tenant],
    ) -> None:
        chosen = selected(tenants, settings.apps)
        if not chosen:
            raise ConfigError(
                FIELD_POD_SECURITY_GROUPS,
                "no app would get a security group",
                "declare apps, or leave pod_security_groups out",
            )
        cluster.require_options(
            FIELD_POD_SECURITY_GROUPS,
            ClusterOptions(vpc_cni=cluster.options.vpc_cni, vpc_cni_env=POD_ENI_ENV),
        )
        super().__init__(scope, id)
        cluster.cluster.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(VPC_RESOURCE_CONTROLLER_POLICY)
        )
        acknowledge_managed_policies(
            cluster.cluster,
            (VPC_RESOURCE_CONTROLLER_POLICY,),
            "EKS requires AmazonEKSVPCResourceController on the cluster role for security "
            "groups for pods (trunk and branch ENIs); AWS maintains it.",
        )
        cluster_sg = cluster.cluster.cluster_security_group
        self.security_groups: dict[str, ec2.SecurityGroup] = {}
        """Each app's pod security group, by app name."""
        policies = []
        for tenant in chosen:
            group = ec2.SecurityGroup(
                self,
                f"{camel(tenant.name)}Pods",
                vpc=cluster.network.vpc,
                allow_all_outbound=False,
                description=f"Pods of app {tenant.name}: its destinations and ports, DNS",
            )
            for rule in egress_rules(tenant):
                group.add_egress_rule(
                    ec2.Peer.ipv4(rule.cidr), ec2.Port.tcp(rule.port), rule.description
                )
            group.add_egress_rule(cluster_sg, ec2.Port.udp(DNS_PORT), "DNS to CoreDNS")
            group.add_egress_rule(cluster_sg, ec2.Port.tcp(DNS_PORT), "DNS over TCP to CoreDNS")
            group.add_ingress_rule(
                cluster_sg, ec2.Port.all_tcp(), "kubelet probes and in-cluster callers"
            )
            self.security_groups[tenant.name] = group
            policies.append(security_group_policy(tenant, [group.security_group_id]))
        self.chart = ObjectsChart(cluster.cdk8s_app, "pod-security-groups", objects=policies)
        """The SecurityGroupPolicy objects."""
        earlier = list(cluster.manifests.values())  # the tenant charts create the namespaces
        self.manifest = cluster.add_chart("PodSecurityGroupPolicies", self.chart)
        """Their manifest resource (after the namespaces and the vpc-cni settings)."""
        self.manifest.node.add_dependency(cluster.addons, *earlier)


class SubnetNacls(Construct):
    """The admin subnets and the node-subnet NACL (``isolation.subnet_nacls``, seed 003).

    Creates the admin pool's subnets (one per AZ, their own route tables with the on-prem routes
    and the S3 gateway endpoint, the VPC's default NACL) and one NACL (construct ``NodeAcl``,
    entries from :func:`~eks_secure.isolation.subnet_nacls.node_nacl_entries`) associated with
    the subnets of every node group the cluster has when this is built (system nodes and the
    pattern's node groups); each association sits next to its subnet, in the app's nested stack
    for an app subnet.

    :param cluster: the cluster whose node subnets get the NACL (build after the pattern).
    :param settings: the admin ports.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: SubnetNaclSettings,
    ) -> None:
        network = cluster.network
        if not network.plan.has_pool(ADMIN_POOL):
            raise ConfigError(
                FIELD_SUBNET_NACLS,
                "the address plan has no admin pool",
                "plan the network with the isolation settings (plan_deployment(..., "
                "isolation=...); EksSecureDeployment does this)",
            )
        super().__init__(scope, id)
        slot = network.plan.pool(ADMIN_POOL).member(ADMIN_MEMBER)
        self.admin_subnets: list[ec2.ISubnet] = network.add_subnets(
            Construct(self, "AdminSubnets"), slot
        )
        """The admin (bastion) subnets, one per AZ."""
        self.admin_cidr: str = slot.block
        """The block holding every admin subnet (the NACL's SSH source)."""
        self.network_acl = ec2.NetworkAcl(self, "NodeAcl", vpc=network.vpc)
        """The NACL of the node subnets."""
        acknowledge(
            self.network_acl,
            "AwsSolutions::AwsSolutions-VPC3",
            "Deliberate (isolation.subnet_nacls, seed 003): the node subnets admit the admin "
            "ports only from the admin subnets, with an explicit DENY from anywhere else.",
        )
        for entry in node_nacl_entries(self.admin_cidr, settings.admin_ports):
            self.network_acl.add_entry(
                f"{'Egress' if entry.egress else 'Ingress'}{entry.name}",
                cidr=ec2.AclCidr.ipv4(entry.cidr),
                rule_number=entry.number,
                traffic=ec2.AclTraffic.all_traffic()
                if entry.port is None
                else ec2.AclTraffic.tcp_port(entry.port),
                direction=ec2.TrafficDirection.EGRESS
                if entry.egress
                else ec2.TrafficDirection.INGRESS,
                rule_action=ec2.Action.ALLOW if entry.allow else ec2.Action.DENY,
            )
        self.node_subnets: list[ec2.ISubnet] = []
        """The subnets associated with the NACL (each once)."""
        holders: dict[str, Construct] = {}
        for nodegroup in cluster.nodegroups:
            for subnet in nodegroup.subnets:
                path = subnet.node.path
                if any(known.node.path == path for known in self.node_subnets):
                    continue
                self.node_subnets.append(subnet)
                # next to the subnet, in its own (nested) stack; the ID follows its path, which
                # depends on the app's name and the AZ position only
                stack = cdk.Stack.of(subnet)
                holder = holders.get(stack.node.path)
                if holder is None:
                    holder = holders[stack.node.path] = Construct(stack, "NodeAclAssociations")
                ec2.CfnSubnetNetworkAclAssociation(
                    holder,
                    cdk.Names.node_unique_id(subnet.node),
                    subnet_id=subnet.subnet_id,
                    network_acl_id=self.network_acl.network_acl_id,
                )


class Isolation(Construct):
    """The isolation features a config turns on (construct ``Isolation`` of the deployment).

    :param cluster: the cluster they protect.
    :param settings: the deployment's settings (its ``isolation`` section).
    :param tenants: the apps.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: DeploymentConfig,
        tenants: Sequence[Tenant] = (),
    ) -> None:
        super().__init__(scope, id)
        isolation = settings.isolation
        self.host_protection: HostProtection | None = None
        """Calico and its host-protection tier (``isolation.host_protection``)."""
        if isolation.host_protection is not None:
            self.host_protection = HostProtection(
                self, "HostProtection", cluster=cluster, settings=isolation.host_protection
            )
        self.pod_security_groups: PodSecurityGroups | None = None
        """Security groups for pods (``isolation.pod_security_groups``)."""
        if isolation.pod_security_groups is not None:
            self.pod_security_groups = PodSecurityGroups(
                self,
                "PodSecurityGroups",
                cluster=cluster,
                settings=isolation.pod_security_groups,
                tenants=tenants,
            )
        self.subnet_nacls: SubnetNacls | None = None
        """Admin subnets and the node-subnet NACL (``isolation.subnet_nacls``)."""
        if isolation.subnet_nacls is not None:
            self.subnet_nacls = SubnetNacls(
                self, "SubnetNacls", cluster=cluster, settings=isolation.subnet_nacls
            )


def build_isolation(
    scope: Construct,
    id: str,
    *,
    cluster: SecureCluster,
    settings: DeploymentConfig,
    tenants: Sequence[Tenant] = (),
) -> Isolation | None:
    """The :class:`Isolation` construct when ``settings.isolation`` turns a feature on."""
    isolation = settings.isolation
    if all(
        section is None
        for section in (
            isolation.host_protection,
            isolation.pod_security_groups,
            isolation.subnet_nacls,
        )
    ):
        return None
    return Isolation(scope, id, cluster=cluster, settings=settings, tenants=tenants)
