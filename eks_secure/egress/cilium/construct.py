"""Egress pattern 3, the CDK side: Cilium (before the nodes), egress groups, policies, fences."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import cdk8s
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.cluster import SecureCluster
from eks_secure.cluster.nodegroup import HardenedNodegroup
from eks_secure.egress.cilium import (
    GATEWAY_POOL,
    SETTINGS_KEY,
    VXLAN_PORT,
    CiliumEgress,
    EgressGroup,
)
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.dedicated.construct import own_stack
from eks_secure.egress.fence import AppFence
from eks_secure.egress.pattern import EgressPattern
from eks_secure.errors import ConfigError
from eks_secure.helm.images import merge, nested
from eks_secure.helm.release import HelmRelease
from eks_secure.helm.source import ChartSource, chart_source
from eks_secure.k8s.crd import custom_resource
from eks_secure.k8s.kyverno import isolation_conditions
from eks_secure.nag import acknowledge_compliance, acknowledge_wildcards
from eks_secure.network.planner import SlotPlan
from eks_secure.network.services import POD_IDENTITY_AGENT_PORT
from eks_secure.network.vpc import TIER_TAG
from eks_secure.preflight.flows import FLOWS_METADATA
from eks_secure.registry.ecr import default_mirror
from eks_secure.registry.mirror import ImageMirror

CHART = "cilium"
RELEASE = "cilium"
NAMESPACE = "kube-system"
OPERATOR_SERVICE_ACCOUNT = "cilium-operator"
GROUP_LABEL = "eks-secure.io/egress-group"
"""Pod label (set by Kyverno in the group's namespaces) and gateway node label/taint key."""
ZONE_LABEL = "topology.kubernetes.io/zone"
EGRESS_ENI_TAG = "eks-secure.io/egress-ip"
"""Tag of the dedicated fixed-egress-IP ENIs; Cilium IPAM excludes interfaces carrying it."""
POD_SUBNET_TAG = f"{TIER_TAG}=system-nodes"
"""ENIs Cilium creates for pod IPs come from the system-node subnets, never the small gateway
subnets (``eni.nodeSpec.subnetTags``; the gateway node's own eth0 is not used for pods)."""

CILIUM_IMAGES: dict[tuple[str, ...], str] = {
    ("image",): "quay.io/cilium/cilium:v1.20.0"
    "@sha256:383968cd5e8873f7976fa76aa6196045643558f4cc9518a207b9335cb24a0e93",
    ("operator", "image"): "quay.io/cilium/operator-aws:v1.20.0"
    "@sha256:a0e50fa611fa3e2e8b1c9521a3e813576034a0b3d626e9c128ac01f8f7dfd0fa",
    ("envoy", "image"): "quay.io/cilium/cilium-envoy:"
    "v1.37.5-1782911245-7cffc778c923f68a77954a53b1a98d6b5353f004"
    "@sha256:583057dd4f7d54cd41efff3c413aa0b148ac201f522e2c3336851fa89c78b039",
}
"""Every image chart 1.20.0 renders with eks-secure's values (upstream reference with the
chart's own digest), by values path of its image block (set through ``override``)."""

OPERATOR_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:AttachNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:CreateTags",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeManagedPrefixLists",
    "ec2:GetManagedPrefixListEntries",
    "ec2:DescribeTags",
    "ec2:DescribeInstances",
)
"""The Cilium operator's EC2 rights in ENI mode (eni.rst "Required Privileges", with the
conditional ENI GC, release and instance-lookup rights)."""
OPERATOR_WRITE_RESOURCES: tuple[str, ...] = (
    "network-interface",
    "instance",
    "subnet",
    "security-group",
)
"""EC2 resource types the operator's writes touch (ENIs, the nodes they attach to, their subnets
and security groups), in this stack's account and region: no write on ``*``. Its tags go on
ENIs only."""


def _resources(requests: tuple[str, str], limits: tuple[str, str]) -> dict[str, dict[str, str]]:
    """A container's resources from ``(cpu, memory)`` requests and limits."""
    return {
        "requests": {"cpu": requests[0], "memory": requests[1]},
        "limits": {"cpu": limits[0], "memory": limits[1]},
    }


CILIUM_RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "agent": _resources(("100m", "512Mi"), ("2", "2Gi")),
    "envoy": _resources(("50m", "128Mi"), ("1", "1Gi")),
    "init": _resources(("10m", "32Mi"), ("1", "256Mi")),
    "operator": _resources(("50m", "128Mi"), ("1", "1Gi")),
}
"""Requests and limits of the agent, its init containers (short file and sysctl set-up), its
Envoy and the operator (the chart sets none): the requests reserve what they use at rest on a
reference cluster; the limits, several times that, keep a runaway agent from starving a node
while leaving room for policy recomputation bursts
(an agent killed at its memory limit restarts; the eBPF datapath keeps forwarding meanwhile)."""


def cilium_image_values(mirror: ImageMirror) -> dict[str, Any]:
    """The chart's image values for ``mirror``: every image of :data:`CILIUM_IMAGES`."""
    return merge(
        nested(path, {"override": str(mirror.mirror(ref))}) for path, ref in CILIUM_IMAGES.items()
    )


def cilium_values(service_host: str) -> dict[str, Any]:
    """Helm values besides the images: ENI IPAM, native routing, kube-proxy replacement, egress
    gateway with both masquerade settings (the agent refuses the egress gateway without them)."""
    return {
        "eni": {
            "enabled": True,
            "nodeSpec": {
                "firstInterfaceIndex": 1,
                "subnetTags": [POD_SUBNET_TAG],
                "excludeInterfaceTags": [f"{EGRESS_ENI_TAG}=true"],
            },
        },
        "ipam": {"mode": "eni"},
        "routingMode": "native",
        "kubeProxyReplacement": True,
        "k8sServiceHost": service_host,
        "k8sServicePort": 443,
        "bpf": {"masquerade": True},
        "enableIPv4Masquerade": True,
        "egressGateway": {"enabled": True},
        "identityAllocationMode": "crd",
        "operator": {"replicas": 2, "resources": dict(CILIUM_RESOURCES["operator"])},
        "resources": dict(CILIUM_RESOURCES["agent"]),
        "initResources": dict(CILIUM_RESOURCES["init"]),
        "envoy": {"resources": dict(CILIUM_RESOURCES["envoy"])},
    }


def endpoint_host(cluster: SecureCluster) -> str:
    """The private API endpoint's host name (the endpoint URL without ``https://``)."""
    return cdk.Fn.select(2, cdk.Fn.split("/", cluster.cluster.cluster_endpoint))


def gateway_zones(spec: CiliumEgress, group: str, plan: SlotPlan) -> list[tuple[int, str]]:
    """(index into ``plan.subnets``, AZ) of each of the group's gateway zones."""
    settings = spec.group_settings(group)
    planned = [s.az for s in plan.subnets]
    if not settings.zones:
        return list(enumerate(planned))
    result = []
    problems = []
    for i, zone in enumerate(settings.zones):
        if zone not in planned:
            problems.append(
                ConfigError(
                    f"{spec.group_field(group)}.zones[{i}]",
                    f"{zone} is not one of the planned AZs ({', '.join(planned)})",
                    f"{rules.suggest(zone, planned)}use zones of availability_zones",
                )
            )
        else:
            result.append((planned.index(zone), zone))
    rules.raise_problems(problems)
    return result


def check_fixed_ips(spec: CiliumEgress, group: str, plan: SlotPlan) -> list[str]:
    """The group's fixed egress IPs, each checked to be a usable address of its zone's subnet."""
    settings: EgressGroup = spec.group_settings(group)
    zones = gateway_zones(spec, group, plan)
    ips = list(settings.fixed_egress_ips)
    if not ips:
        return []
    field = f"{spec.group_field(group)}.fixed_egress_ips"
    if len(ips) != len(zones):
        raise ConfigError(
            field,
            f"lists {len(ips)} IPs for {len(zones)} gateway zones",
            "give one IP per gateway zone, in zone order",
        )
    problems = []
    for i, (ip, (index, zone)) in enumerate(zip(ips, zones, strict=True)):
        subnet = ipaddress.IPv4Network(plan.subnets[index].cidr)
        address = ipaddress.IPv4Address(ip)
        hosts = list(subnet.hosts())
        usable = hosts[3:]  # AWS reserves .1-.3 besides the network and broadcast addresses
        if address not in subnet:
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"{ip} is not inside the group's gateway subnet {subnet} in {zone}",
                    f"pick an address of {subnet} from {usable[0]} to {usable[-1]}",
                )
            )
        elif address not in usable:
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"{ip} is reserved by AWS in {subnet}",
                    f"pick an address from {usable[0]} to {usable[-1]}",
                )
            )
    rules.raise_problems(problems)
    return ips


class EgressGroupGateways(Construct):
    """One egress group's gateway subnets, gateway node groups and optional fixed-IP ENIs.

    :param cluster: the cluster (its plan holds the group's gateway pool slot).
    :param spec: the pattern spec.
    :param plan: the group's slot of the gateway pool.
    :param nested: put the group's resources in their own nested stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        spec: CiliumEgress,
        plan: SlotPlan,
        nested: bool = True,
    ) -> None:
        super().__init__(scope, id)
        group = plan.name
        settings = spec.group_settings(group)
        self.name = group
        self.plan = plan
        """The group's gateway subnets as planned."""
        self.zones = gateway_zones(spec, group, plan)
        """(subnet index, AZ) of each gateway zone."""
        self.fixed_ips: list[str] = check_fixed_ips(spec, group, plan)
        """The opt-in fixed egress IPs, in zone order (empty: the nodes' primary IPs)."""
        self.container: Construct = own_stack(self, nested, f"eks-secure egress group {group}")
        subnets_scope = Construct(self.container, "Subnets")
        self.subnets: list[ec2.ISubnet] = cluster.network.add_subnets(
            subnets_scope, plan, route_on_prem=True
        )
        """The group's gateway subnets, one per AZ (on-prem routes to the TGW/VGW)."""
        self.nodegroups: list[HardenedNodegroup] = []
        """One gateway node group per gateway zone, in zone order."""
        for index, _zone in self.zones:
            nodes = cluster.add_nodegroup(
                f"Gateway{plan.subnets[index].az_position + 1}",
                scope=self.container,
                subnets=[self.subnets[index]],
                size=settings.nodes,
                labels={GROUP_LABEL: group},
                taints=[
                    eks.TaintSpec(key=GROUP_LABEL, value=group, effect=eks.TaintEffect.NO_SCHEDULE)
                ],
                field=f"{spec.group_field(group)}.nodes",
                # pods take their IPs from the system-node subnets (eni.nodeSpec), so a gateway
                # node takes only its primary IP of the gateway subnet
                addresses_per_node=1,
            )
            nodes.node.add_dependency(subnets_scope)
            self.nodegroups.append(nodes)
        self.enis: list[ec2.CfnNetworkInterface] = []
        """The dedicated ENIs holding the fixed egress IPs (attached at run time)."""
        for ip, (index, zone) in zip(self.fixed_ips, self.zones, strict=False):
            self.enis.append(
                ec2.CfnNetworkInterface(
                    self.container,
                    f"EgressIp{plan.subnets[index].az_position + 1}",
                    subnet_id=self.subnets[index].subnet_id,
                    private_ip_address=ip,
                    group_set=[cluster.cluster.cluster_security_group_id],
                    description=f"eks-secure fixed egress IP of group {group} in {zone}",
                    tags=[
                        cdk.CfnTag(key=EGRESS_ENI_TAG, value="true"),
                        cdk.CfnTag(key=GROUP_LABEL, value=group),
                        cdk.CfnTag(
                            key="Name", value=f"{cluster.cluster_name}-egress-{group}-{zone}"
                        ),
                    ],
                )
            )
        if len({zone for _, zone in self.zones}) < 2:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:cilium-single-az-gateways",
                f"Egress group {group} has gateways in one AZ only ({self.zones[0][1]}): losing "
                "that AZ or its gateway node drops the group's on-prem traffic (open-source "
                "Cilium has no egress gateway failover). List two or more zones.",
            )

    @property
    def source_cidrs(self) -> tuple[str, ...]:
        """What on-premises sees: the fixed IPs (``/32``) or the gateway subnets, zone order."""
        if self.fixed_ips:
            return tuple(f"{ip}/32" for ip in self.fixed_ips)
        return tuple(self.plan.subnets[index].cidr for index, _ in self.zones)

    def gateways(self) -> list[dict[str, Any]]:
        """The CEGP gateway entries: one per zone (node selector, fixed IP when opted in)."""
        entries = []
        for i, (_, zone) in enumerate(self.zones):
            entry: dict[str, Any] = {
                "nodeSelector": {"matchLabels": {GROUP_LABEL: self.name, ZONE_LABEL: zone}}
            }
            if self.fixed_ips:
                entry["egressIP"] = self.fixed_ips[i]
            entries.append(entry)
        return entries


def egress_policy_spec(
    gateways: Sequence[dict[str, Any]], tenants: Sequence[Tenant], group: str
) -> dict[str, Any]:
    """A group's ``CiliumEgressGatewayPolicy`` spec: its apps' pods to their destinations.

    ``egressGateway`` repeats the first of ``egressGateways``: the 1.20 CRD still requires it
    (upstream ignores it when the list is set).
    """
    destinations = sorted({d for t in tenants for d in t.destinations})
    return {
        "selectors": [
            {
                "podSelector": {
                    "matchLabels": {
                        "io.kubernetes.pod.namespace": t.namespace,
                        GROUP_LABEL: group,
                    }
                }
            }
            for t in sorted(tenants, key=lambda t: t.name)
        ],
        "destinationCIDRs": destinations,
        "egressGateway": dict(gateways[0]),
        "egressGateways": [dict(g) for g in gateways],
    }


POD_IDENTITY_HOST_POLICY = "allow-aws-pod-identity-host"
"""CiliumNetworkPolicy of an app with ``aws_services``: the Pod Identity agent as entity
``host``."""


def pod_identity_host_policy(chart: cdk8s.Chart, namespace: str) -> cdk8s.ApiObject:
    """Allow the namespace's pods TCP 80 to their own node (entity ``host``).

    Cilium gives ``169.254.170.23``, the Pod Identity agent's hostNetwork address, the identity
    ``host``, which no Kubernetes ``ipBlock`` matches (cilium/cilium#34387): the
    ``allow-aws-pod-identity`` NetworkPolicy alone does not let the SDK fetch credentials.
    The node runs nothing else on port 80; SSH and the kubelet stay denied.
    """
    port = {"port": str(POD_IDENTITY_AGENT_PORT), "protocol": "TCP"}
    return custom_resource(
        chart,
        f"CiliumNetworkPolicy:{namespace}:{POD_IDENTITY_HOST_POLICY}",
        api_version="cilium.io/v2",
        kind="CiliumNetworkPolicy",
        name=POD_IDENTITY_HOST_POLICY,
        namespace=namespace,
        spec={
            "endpointSelector": {},
            "egress": [{"toEntities": ["host"], "toPorts": [{"ports": [port]}]}],
        },
    )


def label_policy_spec(group: str, namespaces: Sequence[str]) -> dict[str, Any]:
    """Kyverno spec making the group label unforgeable: set in the group's namespaces, refused
    elsewhere and refused with another value inside."""
    label = f'request.object.metadata.labels."{GROUP_LABEL}"'
    pods: dict[str, Any] = {"any": [{"resources": {"kinds": ["Pod"]}}]}
    inside: dict[str, Any] = {
        "any": [{"resources": {"kinds": ["Pod"], "namespaces": list(namespaces)}}]
    }
    return {
        "background": True,
        "rules": [
            {
                "name": "label-group-pods",
                "match": inside,
                "mutate": {"patchStrategicMerge": {"metadata": {"labels": {GROUP_LABEL: group}}}},
            },
            {
                "name": "require-group-label",
                "match": inside,
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"pods of {', '.join(namespaces)} carry {GROUP_LABEL}={group}",
                    "pattern": {"metadata": {"labels": {GROUP_LABEL: group}}},
                },
            },
            {
                "name": "deny-forged-group-label",
                "match": pods,
                "exclude": inside,
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"only pods of {', '.join(namespaces)} may carry "
                    f"{GROUP_LABEL}={group} (it selects egress group {group}'s source IPs)",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": f"{{{{ {label} || '' }}}}",
                                    "operator": "Equals",
                                    "value": group,
                                }
                            ]
                        }
                    },
                },
            },
            {
                "name": "deny-pods-on-gateway-nodes",
                "match": pods,
                "exclude": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": [NAMESPACE]}}]},
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"only node agents ({NAMESPACE}) may run on egress group "
                    f"{group}'s gateway nodes",
                    "deny": {"conditions": {"any": isolation_conditions(group, GROUP_LABEL)}},
                },
            },
        ],
    }


class CiliumEgressGateway(EgressPattern):
    """Cilium in ENI mode with egress gateways: apps grouped behind gateway nodes.

    * Cilium (chart :data:`~eks_secure.egress.cilium.CHART_VERSION`, every image from the
      mirror) installed before every node group, Helm neither waiting nor rolling back (nothing
      can schedule before the nodes exist; see :class:`~eks_secure.helm.release.HelmRelease`);
      the operator's EC2 rights through an EKS Pod Identity association created before it.
    * Per egress group: gateway subnets (one per AZ), one gateway node group per gateway zone
      (label and NoSchedule taint ``eks-secure.io/egress-group=<group>``), optional fixed-IP
      ENIs, and a ``CiliumEgressGatewayPolicy`` selecting the group's apps (namespace + group
      label) towards their destinations.
    * Per app: the :class:`~eks_secure.egress.fence.AppFence` (default deny, DNS, destinations),
      enforced by Cilium.
    * Kyverno: the group label is set on the group's pods and refused elsewhere; only
      ``kube-system`` agents may run on gateway nodes.
    * Preflight: VXLAN (UDP 8472) between all nodes is declared as a flow, as are the gateway
      nodes' flows to each app's destinations.

    Allow-list: each app's group's gateway subnet CIDRs (or its fixed IPs), from the plan the
    subnets were built from.

    :param cluster: the cluster, built with ``spec.cluster_options()``.
    :param tenants: the apps.
    :param spec: the pattern spec.
    :param nested: each egress group and app fence in its own nested stack. Default: true.
    :param source: chart source overriding ``cilium.chart_repository`` (e.g. a LocalChart).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        spec: CiliumEgress,
        nested: bool = True,
        source: ChartSource | None = None,
    ) -> None:
        super().__init__(scope, id, cluster=cluster, tenants=tenants, spec=spec)
        self.spec: CiliumEgress = spec
        settings = spec.settings
        stack = cdk.Stack.of(self)
        mirror = default_mirror(stack)
        if settings.image_registry:
            try:
                mirror = ImageMirror(root=settings.image_registry)
            except ConfigError as exc:
                raise ConfigError(f"{SETTINGS_KEY}.image_registry", exc.problem, exc.fix) from None
        source = source or chart_source(settings.chart_repository, settings.chart_version)

        self.operator_role = iam.Role(
            self,
            "OperatorRole",
            assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com"),
            description=f"Cilium operator of {cluster.cluster_name}: ENI IPAM (EKS Pod Identity)",
        )
        """The Cilium operator's role (EKS Pod Identity)."""
        assert self.operator_role.assume_role_policy is not None
        self.operator_role.assume_role_policy.add_statements(
            iam.PolicyStatement(
                actions=["sts:TagSession"],
                principals=[iam.ServicePrincipal("pods.eks.amazonaws.com")],
            )
        )
        reads = [a for a in OPERATOR_ACTIONS if a.split(":")[1].startswith(("Describe", "Get"))]
        writes = [a for a in OPERATOR_ACTIONS if a not in reads and a != "ec2:CreateTags"]

        def ec2_arns(*kinds: str) -> list[str]:
            return [stack.format_arn(service="ec2", resource=k, resource_name="*") for k in kinds]

        operator_statements = [
            (
                iam.PolicyStatement(sid="CiliumEniIpamRead", actions=reads, resources=["*"]),
                "Cilium's ENI IPAM reads instances, subnets, ENIs and prefix lists; EC2's "
                "Describe and Get calls have no resource-level permissions (eni.rst).",
            ),
            (
                iam.PolicyStatement(
                    sid="CiliumEniIpamWrite",
                    actions=writes,
                    resources=ec2_arns(*OPERATOR_WRITE_RESOURCES),
                ),
                "Cilium's ENI IPAM creates, attaches and changes ENIs of nodes that do not "
                "exist at synthesis: any ENI, instance, subnet or security group of this "
                "account and region (eni.rst).",
            ),
            (
                iam.PolicyStatement(
                    sid="CiliumEniIpamTagEnis",
                    actions=["ec2:CreateTags"],
                    resources=ec2_arns("network-interface"),
                ),
                "Cilium tags the ENIs it creates, whose IDs are not known at synthesis.",
            ),
        ]
        for statement, _ in operator_statements:
            self.operator_role.add_to_policy(statement)
        acknowledge_wildcards(self.operator_role, operator_statements)
        acknowledge_compliance(
            self.operator_role,
            "IAMNoInlinePolicy",
            "the operator role's single-purpose grant, created and deleted with it; the creator "
            "role writes role policies only through boundary-conditioned role writes, has no "
            "iam:CreatePolicy and is denied iam:DeletePolicy (NoRetrustNoUnboundedRoles), so "
            "a customer-managed policy is not an option in the cluster stack.",
        )
        self.pod_identity = eks.CfnPodIdentityAssociation(
            self,
            "OperatorPodIdentity",
            cluster_name=cluster.cluster.cluster_name,
            namespace=NAMESPACE,
            service_account=OPERATOR_SERVICE_ACCOUNT,
            role_arn=self.operator_role.role_arn,
        )
        """The operator service account's Pod Identity association (before the release)."""
        self.release = HelmRelease(
            self,
            "Cilium",
            cluster=cluster,
            chart=CHART,
            release=RELEASE,
            namespace=NAMESPACE,
            source=source,
            mirror=mirror,
            image_values=cilium_image_values,
            values=cilium_values(endpoint_host(cluster)),
            create_namespace=False,
            before_nodes=True,
            field=SETTINGS_KEY,
        )
        """The Cilium release; every node group waits for it."""
        self.release.node.add_dependency(self.pod_identity)
        cluster.add_node_prerequisite(self.release.chart)
        (chart_cfn,) = [
            c for c in self.release.chart.node.find_all() if isinstance(c, cdk.CfnResource)
        ]
        chart_cfn.add_metadata(
            FLOWS_METADATA,
            [{"from": "nodes", "to": "nodes", "port": VXLAN_PORT, "protocol": "udp"}],
        )

        self.kyverno = cluster.policy_engine()
        plan = cluster.network.plan
        members = plan.pool(GATEWAY_POOL).members if plan.has_pool(GATEWAY_POOL) else ()
        groups = spec.groups(self.tenants)
        planned = {m.name: m for m in members}
        missing = sorted(set(groups) - set(planned))
        if missing:
            raise ConfigError(
                spec.group_field(missing[0]),
                f"egress group(s) {', '.join(missing)} have no gateway subnets in the plan",
                "plan the network with the same spec and tenants (plan_deployment)",
            )
        by_name = {t.name: t for t in self.tenants}
        self.groups: dict[str, EgressGroupGateways] = {}
        """Each egress group's gateways, by name."""
        self.policy_chart = cdk8s.Chart(cluster.cdk8s_app, "cilium-egress")
        """The CEGPs and Kyverno label policies of every group."""
        for group, apps in groups.items():
            gateways = EgressGroupGateways(
                self,
                f"Group-{group}",
                cluster=cluster,
                spec=spec,
                plan=planned[group],
                nested=nested,
            )
            self.groups[group] = gateways
            members_of = [by_name[a] for a in apps]
            custom_resource(
                self.policy_chart,
                f"Cegp:{group}",
                api_version="cilium.io/v2",
                kind="CiliumEgressGatewayPolicy",
                name=f"eks-secure-{group}",
                spec=egress_policy_spec(gateways.gateways(), members_of, group),
                labels={GROUP_LABEL: group},
            )
            custom_resource(
                self.policy_chart,
                f"ClusterPolicy:{group}",
                api_version="kyverno.io/v1",
                kind="ClusterPolicy",
                name=f"eks-secure-egress-group-{group}",
                spec=label_policy_spec(group, sorted(t.namespace for t in members_of)),
                labels={GROUP_LABEL: group},
            )
            flows = [
                {"from": f"nodes:{GROUP_LABEL}={group}", "to": f"cidr:{d}", "port": p}
                for t in members_of
                for d in t.destinations
                for p in t.ports
            ]
            for nodes in gateways.nodegroups:
                cfn = nodes.nodegroup.node.default_child
                assert isinstance(cfn, cdk.CfnResource)
                cfn.add_metadata(FLOWS_METADATA, flows)
        self.policy_manifest = cluster.add_chart("CiliumEgress", self.policy_chart)
        """The policies' manifest: after Kyverno, and after the gateway nodes exist."""
        self.policy_manifest.node.add_dependency(self.kyverno.chart)
        for gateways in self.groups.values():
            for nodes in gateways.nodegroups:
                self.policy_manifest.node.add_dependency(nodes.nodegroup)

        self.fences: dict[str, AppFence] = {}
        """Each app's fence, by name."""
        for tenant in sorted(self.tenants, key=lambda t: t.name):
            container = own_stack(
                Construct(self, f"App-{tenant.name}"), nested, f"eks-secure app {tenant.name}"
            )

            def host_policy(chart: cdk8s.Chart, ns: str = tenant.namespace) -> None:
                pod_identity_host_policy(chart, ns)

            fence = AppFence(
                self,
                f"Fence-{tenant.name}",
                cluster=cluster,
                tenant=tenant,
                container=container,
                extra_objects=host_policy if tenant.aws_services else None,
                depends_on=[self.policy_manifest],
            )
            self.fences[tenant.name] = fence
        self.complete(
            AllowListEntry(
                app=t.name,
                namespace=t.namespace,
                pattern=spec.name,
                source_cidrs=self.groups[spec.egress_group_of(t.name)].source_cidrs,
                destination_cidrs=t.destinations,
                ports=t.ports,
            )
            for t in self.tenants
        )
        count = sum(len(g.nodegroups) for g in self.groups.values())
        cdk.Annotations.of(self).add_info(
            f"eks-secure cilium: {count} gateway node group(s) for {len(self.groups)} egress "
            "group(s). Open-source Cilium has no egress gateway failover: a failed gateway drops "
            "its share of the group's connections until it is replaced. Each egress IP carries "
            "at most 32768 concurrent connections per destination IP and port. "
            + json.dumps({g: list(v.source_cidrs) for g, v in self.groups.items()})
        )
