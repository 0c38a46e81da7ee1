"""Egress pattern 4, the CDK side: Istio (sidecar mode) with an egress gateway on its own nodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import cdk8s
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.cluster import SYSTEM_NODE_LABEL, SecureCluster
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.dedicated.construct import own_stack
from eks_secure.egress.fence import AppFence
from eks_secure.egress.istio import (
    CHART_VERSION,
    CNI_IMAGE_NAMES,
    EGRESS_NAMESPACE,
    EGRESS_POOL,
    GATEWAY_MEMBER,
    ISTIO_NAMESPACE,
    ISTIOD_IMAGE_NAMES,
    SETTINGS_KEY,
    WEBHOOK_PORT,
    XDS_PORT,
    IstioEgress,
    mesh,
)
from eks_secure.egress.pattern import EgressPattern
from eks_secure.errors import ConfigError
from eks_secure.helm.images import no_images
from eks_secure.helm.release import HelmRelease
from eks_secure.helm.source import ChartSource, EcrMirrorChart, RepositoryChart
from eks_secure.k8s import policies
from eks_secure.k8s.kyverno import APP_LABEL, app_toleration, placement_policies
from eks_secure.k8s.release_fence import ReleaseFenceChart, WebhookServer
from eks_secure.k8s.tenant import PodEgress
from eks_secure.preflight.flows import FLOWS_METADATA
from eks_secure.registry.ecr import default_mirror
from eks_secure.registry.mirror import ImageMirror

CHARTS = ("base", "cni", "istiod", "gateway")
"""The Istio charts, in install order."""
CNI_RELEASE = "istio-cni"
"""Release of the ``cni`` chart: the istio-cni node agent (DaemonSet ``istio-cni-node``)."""
CNI_NAMESPACE = "kube-system"
"""Namespace of istio-cni: its DaemonSet tolerates every taint (it must run on every node, the
egress nodes included), which the egress nodes' Kyverno isolation policy refuses outside the
trusted ``kube-system``; Istio also recommends it where ``system-node-critical`` pods are
limited to namespaces with a quota. Kyverno does not act on ``kube-system`` at all."""
ECR_CHART_NAMESPACE = "eks-secure/istio"
"""ECR repository namespace of the default chart mirror (``oci://<ECR>/eks-secure/istio/<chart>``)."""
GATEWAY_IDENTITY = mesh.GATEWAY_RELEASE
"""Value of the ``eks-secure.io/app`` label and taint of the egress nodes."""
ISTIO_IMAGES = tuple(f"docker.io/istio/{name}" for name in ISTIOD_IMAGE_NAMES + CNI_IMAGE_NAMES)
"""Images the charts run (istiod; the sidecars and the gateway, injected; the istio-cni node
agent), tag = chart version, all under ``global.hub``."""


def istio_chart_source(repository: str | None, version: str, chart: str) -> ChartSource:
    """Where ``chart`` comes from: ECR by default, ``<oci prefix>/<chart>``, or the https repo."""
    if repository is None:
        return EcrMirrorChart(version=version, namespace=ECR_CHART_NAMESPACE)
    if repository.startswith("oci://"):
        return RepositoryChart(repository=f"{repository.rstrip('/')}/{chart}", version=version)
    return RepositoryChart(repository=repository, version=version)


def istio_image_values(mirror: ImageMirror, tag: str) -> dict[str, Any]:
    """istiod's image values: ``global.hub`` in the mirror, ``global.tag`` the Istio version."""
    hubs = {mirror.mirror(f"{image}:{tag}").registry for image in ISTIO_IMAGES}
    (registry,) = hubs
    return {"global": {"hub": f"{registry}/istio", "tag": tag}}


def istiod_values() -> dict[str, Any]:
    """istiod's values besides the images: REGISTRY_ONLY, istio-cni, system nodes, HA."""
    return {
        "meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
        # sidecars without the NET_ADMIN init container: Pod Security restricted in app namespaces
        "cni": {"enabled": True},
        "autoscaleMin": 2,
        "replicaCount": 2,
        "nodeSelector": {SYSTEM_NODE_LABEL: "system"},
        "seccompProfile": {"type": "RuntimeDefault"},
        "global": {
            "istioNamespace": ISTIO_NAMESPACE,
            "proxy": {"seccompProfile": {"type": "RuntimeDefault"}},
        },
    }


def cni_values() -> dict[str, Any]:
    """istio-cni's values besides the images, for EKS with the Amazon VPC CNI.

    Chained: the plugin is appended to the VPC CNI's conflist in ``/etc/cni/net.d`` (the
    AL2023 node's paths, the chart's defaults, which Istio needs no platform profile for on
    EKS), so the VPC CNI keeps assigning addresses and enforcing NetworkPolicies and istio-cni
    only adds the sidecar's traffic redirection. Its DaemonSet tolerates every taint, so it runs
    on every node; ``kube-system`` pods are left alone. Pods that start on a node before its
    agent is ready fail ``istio-validation`` and are repaired by the agent (``repairPods``).
    """
    return {
        "chained": True,
        "cniBinDir": "/opt/cni/bin",
        "cniConfDir": "/etc/cni/net.d",
        "excludeNamespaces": [CNI_NAMESPACE],
        "repair": {"enabled": True, "repairPods": True},
    }


def gateway_values(spec: IstioEgress) -> dict[str, Any]:
    """The gateway chart's values: ClusterIP, HPA, PDB, egress nodes only, spread over zones
    and nodes, one Service port per listener."""
    settings = spec.settings.gateway
    selector = {"app": mesh.GATEWAY_RELEASE, **mesh.GATEWAY_SELECTOR}
    listeners = sorted({d.listener_port for d in spec.destinations})
    return {
        "service": {
            "type": "ClusterIP",
            "ports": [
                {"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
                *(
                    {"name": f"tls-{p}", "port": p, "targetPort": p, "protocol": "TCP"}
                    for p in listeners
                ),
            ],
        },
        "autoscaling": {
            "enabled": True,
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "targetCPUUtilizationPercentage": 80,
        },
        "podDisruptionBudget": {"minAvailable": 1},
        "nodeSelector": {APP_LABEL: GATEWAY_IDENTITY},
        "tolerations": [app_toleration(GATEWAY_IDENTITY)],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": when,
                "labelSelector": {"matchLabels": selector},
            }
            for key, when in (
                ("topology.kubernetes.io/zone", "DoNotSchedule"),
                ("kubernetes.io/hostname", "ScheduleAnyway"),
            )
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
        },
    }


def _declare_flows(resource: Construct, flows: Sequence[Mapping[str, Any]]) -> None:
    """Declare ``flows`` on the CloudFormation resource under ``resource`` (for the preflight)."""
    (cfn,) = [c for c in resource.node.find_all() if isinstance(c, cdk.CfnResource)]
    cfn.add_metadata(FLOWS_METADATA, [dict(f) for f in flows])


class IstioEgressGateway(EgressPattern):
    """Istio in sidecar mode, an egress gateway on dedicated nodes, and no way around it.

    * **Mesh**: HelmReleases ``istio-base`` (CRDs), ``istio-cni`` (the node agent, chained to
      the VPC CNI, in ``kube-system`` on every node, before istiod), ``istiod``
      (``REGISTRY_ONLY``, istio-cni mode, on the system nodes) and ``istio-egressgateway``
      (namespace ``istio-egress``, ClusterIP, HPA, PodDisruptionBudget, spread over zones and
      nodes), each namespace fenced
      (:class:`~eks_secure.k8s.release_fence.ReleaseFenceChart`), every image from the mirror.
    * **Egress nodes**: the egress pool's subnets (one per AZ, routed on-premises) and a node
      group labelled and tainted ``eks-secure.io/app=istio-egressgateway``, with Kyverno
      placement and isolation policies so only the gateway's pods run there.
    * **Per destination**: the five Istio objects (:mod:`eks_secure.egress.istio.mesh`).
    * **Per app**: its fence (:class:`~eks_secure.egress.fence.AppFence`), namespace labelled
      for injection, egress only to DNS, istiod (xDS) and the gateway pods on its destinations'
      ports; Kyverno policy :data:`~eks_secure.egress.istio.mesh.MESH_POLICY` for all of them.

    Allow-list: each app's destinations from the egress subnets' CIDRs (read from the subnets
    built), with the destination hosts.

    :param cluster: the cluster; its plan must hold the egress pool (``plan_deployment``).
    :param tenants: the apps.
    :param spec: the :class:`~eks_secure.egress.istio.IstioEgress` (settings, destinations).
    :param nested: the egress subnets and nodes in their own nested stack. Default: True.
    :param sources: chart sources by chart name overriding ``istio.chart_repository`` (e.g.
        :class:`~eks_secure.helm.source.LocalChart`). Default: from the settings.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        spec: IstioEgress,
        nested: bool = True,
        sources: Mapping[str, ChartSource] | None = None,
    ) -> None:
        if not isinstance(spec, IstioEgress):
            raise ConfigError(
                "IstioEgressGateway.spec",
                f"is a {type(spec).__name__}, not IstioEgress",
                "pass IstioEgress(settings=IstioSettings(...))",
            )
        plan = cluster.network.plan
        if not plan.has_pool(EGRESS_POOL):
            raise ConfigError(
                f"{SETTINGS_KEY}.egress_subnet_prefix",
                "the cluster's address plan has no egress-gateway pool",
                "plan the network with this spec (plan_deployment) or use EksSecureDeployment",
            )
        super().__init__(scope, id, cluster=cluster, tenants=tenants, spec=spec)
        self.spec: IstioEgress = spec
        settings = spec.settings
        sources = dict(sources or {})
        for name in sources:
            if name not in CHARTS:
                raise ConfigError(
                    f"IstioEgressGateway.sources[{name}]",
                    "is not an Istio chart",
                    f"use one of {', '.join(CHARTS)}",
                )
        self.mirror = default_mirror(cdk.Stack.of(self))
        """The registry every Istio image is pulled from."""
        if settings.image_registry:
            try:
                self.mirror = ImageMirror(root=settings.image_registry)
            except ConfigError as exc:
                raise ConfigError(f"{SETTINGS_KEY}.image_registry", exc.problem, exc.fix) from None
        if settings.chart_version != CHART_VERSION:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:istio-chart-version",
                f"Istio charts {settings.chart_version} are not the tested {CHART_VERSION}: "
                "check their values against eks-secure's (docs/patterns/istio.md, upgrades).",
            )
        kyverno = cluster.policy_engine()
        control_plane = [s.cidr for s in plan.control_plane]
        app_namespaces = sorted(t.namespace for t in self.tenants)
        namespace_of = {t.name: t.namespace for t in self.tenants}

        # -- egress subnets and nodes ------------------------------------------------------
        self.container: Construct = own_stack(
            Construct(self, "Gateway"), nested, "eks-secure Istio egress gateway"
        )
        """Where the egress subnets and nodes live: their nested stack, or a construct."""
        subnets_scope = Construct(self.container, "Subnets")
        self.subnets: list[ec2.ISubnet] = cluster.network.add_subnets(
            subnets_scope, plan.pool(EGRESS_POOL).member(GATEWAY_MEMBER), route_on_prem=True
        )
        """The egress-gateway subnets, one per AZ (routed on-premises)."""

        # -- namespaces and their fences ---------------------------------------------------
        self.istio_fence = ReleaseFenceChart(
            cluster.cdk8s_app,
            "istio-system-fence",
            namespace=ISTIO_NAMESPACE,
            control_plane_cidrs=control_plane,
            webhooks=(WebhookServer("istiod", dict(mesh.ISTIOD_SELECTOR), WEBHOOK_PORT),),
            field=SETTINGS_KEY,
        )
        """Namespace ``istio-system``: default-deny, DNS, API, webhook, xDS from the mesh."""
        policies.allow_ingress_from_namespaces(
            self.istio_fence,
            ISTIO_NAMESPACE,
            "allow-xds",
            [*app_namespaces, EGRESS_NAMESPACE],
            [XDS_PORT],
            pod_labels=mesh.ISTIOD_SELECTOR,
        )
        self.egress_fence = ReleaseFenceChart(
            cluster.cdk8s_app,
            "istio-egress-fence",
            namespace=EGRESS_NAMESPACE,
            control_plane_cidrs=control_plane,
            field=SETTINGS_KEY,
        )
        """Namespace ``istio-egress``: default-deny, DNS, API, xDS, apps in, on-prem out."""
        chart = self.egress_fence
        policies.allow_egress_to_pods(
            chart,
            EGRESS_NAMESPACE,
            "allow-xds",
            namespace_labels={policies.NAMESPACE_NAME_LABEL: ISTIO_NAMESPACE},
            pod_labels=mesh.ISTIOD_SELECTOR,
            ports=[XDS_PORT],
        )
        self.gateway_flows: list[dict[str, Any]] = []
        """The gateway's on-prem flows (declared for ``eks-secure preflight``)."""
        for dest in spec.destinations:
            addresses = spec.addresses_of(dest, self.tenants)
            policies.allow_egress_to_cidrs(
                chart,
                EGRESS_NAMESPACE,
                f"allow-on-prem-{dest.name}",
                addresses,
                [dest.port],
                pod_labels=mesh.GATEWAY_SELECTOR,
            )
            policies.allow_ingress_from_namespaces(
                chart,
                EGRESS_NAMESPACE,
                f"allow-apps-{dest.name}",
                [namespace_of[a] for a in dest.apps],
                [dest.listener_port],
                pod_labels=mesh.GATEWAY_SELECTOR,
            )
            self.gateway_flows += [
                {
                    "from": f"nodes:{APP_LABEL}={GATEWAY_IDENTITY}",
                    "to": f"cidr:{c}",
                    "port": dest.port,
                    "protocol": "tcp",
                }
                for c in addresses
            ]
        placement_policies(
            chart, GATEWAY_IDENTITY, EGRESS_NAMESPACE, trusted_namespaces=kyverno.trusted_namespaces
        )
        self.istio_fence_manifest = cluster.add_chart("IstioSystemFence", self.istio_fence)
        self.egress_fence_manifest = cluster.add_chart("IstioEgressFence", self.egress_fence)
        self.egress_fence_manifest.node.add_dependency(kyverno.chart)

        self.nodes = cluster.add_nodegroup(
            "Nodes",
            scope=self.container,
            subnets=self.subnets,
            size=settings.gateway.nodes,
            labels={APP_LABEL: GATEWAY_IDENTITY},
            taints=[
                eks.TaintSpec(
                    key=APP_LABEL, value=GATEWAY_IDENTITY, effect=eks.TaintEffect.NO_SCHEDULE
                )
            ],
            field=f"{SETTINGS_KEY}.gateway.nodes",
        )
        """The egress node group: label and NoSchedule taint ``eks-secure.io/app=<gateway>``."""
        self.nodes.node.add_dependency(subnets_scope)
        # placement and isolation exist before the first node that carries the gateway's IPs
        self.nodes.nodegroup.node.add_dependency(self.egress_fence_manifest)

        # -- the three releases ------------------------------------------------------------
        def source(name: str) -> ChartSource:
            return sources.get(name) or istio_chart_source(
                settings.chart_repository, settings.chart_version, name
            )

        tag = settings.chart_version
        self.base = HelmRelease(
            self,
            "Base",
            cluster=cluster,
            chart="base",
            release="istio-base",
            namespace=ISTIO_NAMESPACE,
            source=source("base"),
            mirror=self.mirror,
            image_values=no_images,
            values={"defaultRevision": "default"},
            field=f"{SETTINGS_KEY}.base",
        )
        """Istio's CRDs and the default-revision validation webhook."""
        self.cni = HelmRelease(
            self,
            "Cni",
            cluster=cluster,
            chart="cni",
            release=CNI_RELEASE,
            namespace=CNI_NAMESPACE,
            source=source("cni"),
            mirror=self.mirror,
            image_values=lambda m: istio_image_values(m, tag),
            values=cni_values(),
            field=f"{SETTINGS_KEY}.cni",
        )
        """istio-cni on every node: sets up each sidecar pod's redirection, so the injected pods
        need no ``NET_ADMIN`` init container (Pod Security ``restricted`` in app namespaces)."""
        self.istiod = HelmRelease(
            self,
            "Istiod",
            cluster=cluster,
            chart="istiod",
            release="istiod",
            namespace=ISTIO_NAMESPACE,
            source=source("istiod"),
            mirror=self.mirror,
            image_values=lambda m: istio_image_values(m, tag),
            values=istiod_values(),
            field=f"{SETTINGS_KEY}.istiod",
        )
        """The control plane (injection and validation webhooks on 15017, xDS on 15012)."""
        self.gateway = HelmRelease(
            self,
            "EgressGateway",
            cluster=cluster,
            chart="gateway",
            release=mesh.GATEWAY_RELEASE,
            namespace=EGRESS_NAMESPACE,
            source=source("gateway"),
            mirror=self.mirror,
            image_values=no_images,
            values=gateway_values(spec),
            field=f"{SETTINGS_KEY}.gateway",
        )
        """The egress gateway (proxy image injected by istiod, from the mirror)."""
        for release, fence in (
            (self.base, self.istio_fence_manifest),
            (self.istiod, self.istio_fence_manifest),
            (self.gateway, self.egress_fence_manifest),
        ):
            release.node.add_dependency(fence)
        self.istiod.node.add_dependency(self.base)
        # istiod injects the CNI variant (an istio-validation init container): no pod is
        # injected before the agent runs on every node the release waited for
        self.istiod.node.add_dependency(self.cni)
        self.gateway.node.add_dependency(self.istiod)
        self.gateway.node.add_dependency(self.nodes.nodegroup)
        listeners = sorted({d.listener_port for d in spec.destinations})
        _declare_flows(
            self.istiod.chart,
            [
                {
                    "from": "control-plane",
                    "to": f"nodes:{SYSTEM_NODE_LABEL}=system",
                    "port": WEBHOOK_PORT,
                    "protocol": "tcp",
                },
                {
                    "from": "nodes",
                    "to": f"nodes:{SYSTEM_NODE_LABEL}=system",
                    "port": XDS_PORT,
                    "protocol": "tcp",
                },
            ],
        )
        _declare_flows(
            self.gateway.chart,
            [
                *(
                    {
                        "from": "nodes",
                        "to": f"nodes:{APP_LABEL}={GATEWAY_IDENTITY}",
                        "port": p,
                        "protocol": "tcp",
                    }
                    for p in listeners
                ),
                *self.gateway_flows,
            ],
        )

        # -- the Istio objects and the mesh policy -----------------------------------------
        self.mesh_chart = cdk8s.Chart(
            cluster.cdk8s_app, "istio-egress-mesh", disable_resource_name_hashes=True
        )
        """The Istio objects of every destination, ``allow-nothing`` and the mesh policy."""
        self.objects: dict[str, list[cdk8s.ApiObject]] = {}
        """Each destination's Istio objects, by destination name."""
        for dest in spec.destinations:
            self.objects[dest.name] = mesh.destination_objects(
                self.mesh_chart,
                dest,
                namespaces=[namespace_of[a] for a in dest.apps],
                addresses=spec.addresses_of(dest, self.tenants),
            )
        mesh.allow_nothing(self.mesh_chart)
        mesh.mesh_policy(self.mesh_chart, app_namespaces)
        self.mesh_manifest = cluster.add_chart("IstioEgressMesh", self.mesh_chart)
        self.mesh_manifest.node.add_dependency(self.istiod)
        self.mesh_manifest.node.add_dependency(kyverno.chart)

        # -- the apps ----------------------------------------------------------------------
        self.fences: dict[str, AppFence] = {}
        """Each app's fence, by name."""
        for tenant in sorted(self.tenants, key=lambda t: t.name):
            ports = tuple(sorted({d.listener_port for d in spec.destinations_of(tenant.name)}))

            def label(chart: cdk8s.Chart, ns: str = tenant.namespace) -> None:
                mesh.label_namespace(chart, ns, *mesh.INJECTION_LABEL)

            self.fences[tenant.name] = AppFence(
                Construct(self, f"App-{tenant.name}"),
                "Fence",
                cluster=cluster,
                tenant=tenant,
                egress_cidrs=(),
                pod_egress=[
                    PodEgress(
                        "allow-istiod",
                        {policies.NAMESPACE_NAME_LABEL: ISTIO_NAMESPACE},
                        dict(mesh.ISTIOD_SELECTOR),
                        (XDS_PORT,),
                    ),
                    PodEgress(
                        "allow-egress-gateway",
                        {policies.NAMESPACE_NAME_LABEL: EGRESS_NAMESPACE},
                        dict(mesh.GATEWAY_SELECTOR),
                        ports,
                    ),
                ],
                extra_objects=label,
            )

        for tenant in self.tenants:
            if not spec.destinations_of(tenant.name):
                cdk.Annotations.of(self).add_warning_v2(
                    "eks-secure:istio-app-without-destination",
                    f"app {tenant.name} is listed for no istio destination: its pods reach "
                    "nothing outside the cluster. Add it to some istio.destinations[].apps.",
                )
        # the apps' declared destinations and ports: every destination's addresses and port
        # lie within those of each app listed for it (IstioEgress.check)
        self.complete(
            AllowListEntry(
                app=t.name,
                namespace=t.namespace,
                pattern=spec.name,
                source_cidrs=self.cluster.egress_sources(
                    [s.ipv4_cidr_block for s in self.subnets], t.destinations, app=t.name
                ),
                destination_cidrs=t.destinations,
                ports=t.ports,
                destination_hosts=tuple(sorted({d.host for d in spec.destinations_of(t.name)})),
            )
            for t in self.tenants
        )
