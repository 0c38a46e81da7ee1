"""Kyverno, installed from a pinned Helm chart, as the policy engine of tenant isolation.

Chart ``kyverno`` 3.9.0 (Kyverno v1.19.0) through :class:`~eks_secure.helm.release.HelmRelease`:

* **Every image from the mirror** (:data:`KYVERNO_IMAGES`, :func:`kyverno_image_values`): the
  four controllers, the admission controller's init container, the post-upgrade CRD migration
  Job (``kyverno-cli``), the two pre-delete hook Jobs (``readiness-checker``, which remove the
  webhooks and scale the controllers to zero; a hook stuck on an unreachable image would leave
  Kyverno's fail-closed webhooks behind) and the ``helm test`` pods. Each image is pinned by
  digest when ``kyverno.image_digests`` names it: the chart prints ``tag`` verbatim after the
  repository, so ``v1.19.0@sha256:...`` pulls by digest. Without a digest the tag is used.
* **Its own NetworkPolicies** (:class:`~eks_secure.k8s.release_fence.ReleaseFenceChart`,
  manifest ``KyvernoFence``, applied before the release): namespace ``kyverno`` with Pod Security
  ``restricted``, default-deny, DNS, HTTPS to the API server, and ingress from the
  control-plane subnets on :data:`WEBHOOK_PORT` to the admission and cleanup controllers (their
  webhook Services target it; ``ControlPlaneEgress`` opens it). The metrics port
  (:data:`METRICS_PORT`) stays closed: nothing in the cluster scrapes it.
* **Hardening** of every workload (controllers and hook Jobs): pod security context
  (:data:`POD_SECURITY_CONTEXT`), a projected, expiring service-account token instead of the
  automounted one, :data:`PULL_POLICY` and the controllers' :data:`CPU_LIMITS` (checkov scans the
  rendered chart, ``tests/test_checkov.py``).
* **Placement**: every pod of the chart (controllers, hooks, tests) on the system nodes
  (``global.nodeSelector``); admission controller with 3 replicas and a PodDisruptionBudget.
* **Timeout**: the chart runs one post-upgrade and two pre-delete hook Jobs
  (:data:`KYVERNO_HOOKS`), so a failed atomic install can wait 4 times; the Helm timeout is
  3 minutes (4 x 180 s + 120 s of overhead = the handler's 840 s).

The reports-server, Grafana dashboard and OpenReports parts stay disabled (pinned off), so their
images are neither rendered nor mirrored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.cluster import SYSTEM_NODE_LABEL, SecureCluster
from eks_secure.config.model import KyvernoSettings
from eks_secure.errors import ConfigError
from eks_secure.helm.images import (
    ChartImage,
    check_digests,
    merge,
    nested,
    registry_repository_tag,
)
from eks_secure.helm.release import HelmRelease, HookCounts
from eks_secure.helm.source import ChartSource, chart_source
from eks_secure.k8s.release_fence import ReleaseFenceChart, WebhookServer
from eks_secure.registry.ecr import configured_mirror
from eks_secure.registry.mirror import ImageMirror

CHART = "kyverno"
RELEASE = "kyverno"
NAMESPACE = "kyverno"
CHART_VERSION = "3.9.0"
"""The chart version eks-secure is built and tested for."""
APP_VERSION = "v1.19.0"
"""Kyverno version of :data:`CHART_VERSION`."""
WEBHOOK_PORT = 9443
"""Container port of the admission and cleanup controllers' webhook servers."""
METRICS_PORT = 8000
"""Container port of every controller's Prometheus metrics (not opened)."""

CONTROLLERS = (
    "admissionController",
    "backgroundController",
    "cleanupController",
    "reportsController",
)
"""Values keys of the four controllers."""

PULL_POLICY = "Always"
"""Pull policy of every Kyverno image: each pod start checks the mirror, so a re-pushed tag or a
removed image is noticed (the mirror is reached through the cluster's ECR endpoints)."""
POD_SECURITY_CONTEXT: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Pod-level security context of every Kyverno workload (the chart sets only the containers')."""
CPU_LIMITS: Mapping[str, str] = {
    "admissionController": "2",
    "backgroundController": "1",
    "cleanupController": "1",
    "reportsController": "1",
}
"""CPU limits of the controllers (the chart sets memory limits only): several times the
chart's requests, so a runaway controller cannot starve the system nodes, with headroom for the
fail-closed admission webhook's bursts."""

KYVERNO_HOOKS = HookCounts(post_upgrade=1, pre_delete=2)
"""Hook Jobs of chart 3.9.0: CRD migration (post-upgrade), webhook removal and scale-to-zero
(pre-delete); ``tests/test_kyverno_chart.py`` counts them in the rendered chart."""

HELM_TIMEOUT = cdk.Duration.minutes(3)
"""Helm ``--timeout``: fits the handler for :data:`KYVERNO_HOOKS` (checked by HelmRelease)."""

_KYVERNO = "reg.kyverno.io/kyverno"
_GHCR = "ghcr.io/kyverno"
KYVERNO_IMAGES: tuple[ChartImage, ...] = tuple(
    ChartImage(f"{registry}/{name}:{APP_VERSION}", path)
    for registry, name, path in (
        (_KYVERNO, "kyvernopre", ("admissionController", "initContainer", "image")),
        (_KYVERNO, "kyverno", ("admissionController", "container", "image")),
        (_KYVERNO, "background-controller", ("backgroundController", "image")),
        (_KYVERNO, "cleanup-controller", ("cleanupController", "image")),
        (_KYVERNO, "reports-controller", ("reportsController", "image")),
        (_KYVERNO, "kyverno-cli", ("crds", "migration", "image")),
        (_GHCR, "readiness-checker", ("webhooksCleanup", "image")),
        (_GHCR, "readiness-checker", ("test", "image")),
    )
)
"""Every image chart 3.9.0 renders with eks-secure's values, as the chart names it by default
(``reg.kyverno.io`` is mirrored as ``ghcr.io``; the test pods default to ``:latest`` and are
pinned to the app version)."""


def kyverno_image_values(
    mirror: ImageMirror, digests: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The chart's image values for ``mirror``: every image of :data:`KYVERNO_IMAGES`.

    ``global.image.registry`` is set too, so an image a later chart version adds without its own
    registry still resolves inside the mirror (the render test would still report it).
    """
    digests = digests or {}
    trees = [registry_repository_tag(i, mirror, digests.get(i.upstream)) for i in KYVERNO_IMAGES]
    trees += [nested(i.values_path, {"pullPolicy": PULL_POLICY}) for i in KYVERNO_IMAGES]
    trees.append({"global": {"image": {"registry": mirror.registry_for("ghcr.io")}}})
    return merge(trees)


def _pod_hardening(service_account: tuple[str, ...], cpu_limit: str | None) -> dict[str, Any]:
    """A workload's pod security context, projected token instead of the automounted one and,
    when given, its CPU limit."""
    values: dict[str, Any] = {
        "podSecurityContext": dict(POD_SECURITY_CONTEXT),
        **nested(service_account, {"automountServiceAccountToken": False}),
    }
    if cpu_limit is not None:
        values["resources"] = {"limits": {"cpu": cpu_limit}}
    return values


def kyverno_values() -> dict[str, Any]:
    """Helm values besides the images: system nodes, HA admission controller, extras off, and
    every workload hardened (:data:`POD_SECURITY_CONTEXT`, projected service-account tokens,
    :data:`CPU_LIMITS`)."""
    hardening = [
        {c: _pod_hardening(("rbac", "serviceAccount"), CPU_LIMITS[c])} for c in CONTROLLERS
    ]
    # The admission controller's main container takes its resources under ``container``.
    admission = hardening[0]["admissionController"]
    admission["container"] = {"resources": admission.pop("resources")}
    hardening += [
        {"crds": {"migration": _pod_hardening(("serviceAccount",), None)}},
        {"webhooksCleanup": _pod_hardening(("serviceAccount",), None)},
    ]
    values: dict[str, Any] = merge(
        [
            {
                "global": {"nodeSelector": {SYSTEM_NODE_LABEL: "system"}},
                "admissionController": {
                    "replicas": 3,
                    "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                },
                "reportsServer": {"enabled": False},
                "grafana": {"enabled": False},
            },
            *hardening,
        ]
    )
    return values


def kyverno_webhooks() -> tuple[WebhookServer, ...]:
    """The admission and cleanup controllers' webhook servers (pod labels and port)."""
    return tuple(
        WebhookServer(
            name=component,
            pod_labels={
                "app.kubernetes.io/component": component,
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/part-of": RELEASE,
            },
            port=WEBHOOK_PORT,
        )
        for component in ("admission-controller", "cleanup-controller")
    )


class KyvernoInstall(Construct):
    """Kyverno from a pinned chart on the system node group, fenced, every image mirrored.

    A private cluster reaches no public registry: by default the chart comes from
    ``oci://<account>.dkr.ecr.<region>.<url suffix>/eks-secure/kyverno`` and the images from
    ``<account>.dkr.ecr.<region>.<url suffix>/eks-secure/<upstream>/...`` (see
    ``docs/helm-and-images.md``: push the chart, and mirror the images or create the
    pull-through cache rules, before the first deploy).

    :param cluster: the cluster to install into.
    :param settings: chart source, version, image mirror and digests.
    :param source: chart source overriding ``settings.chart_repository`` (for example a
        :class:`~eks_secure.helm.source.LocalChart`). Default: from ``settings``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: KyvernoSettings,
        source: ChartSource | None = None,
    ) -> None:
        digests = check_digests(
            KYVERNO_IMAGES, dict(settings.image_digests), "kyverno.image_digests"
        )
        mirror = configured_mirror(
            cdk.Stack.of(scope), settings.image_registry, "kyverno.image_registry"
        )
        if source is None:
            source = chart_source(settings.chart_repository, settings.chart_version)
        source.check(CHART, "kyverno")
        if cluster.has_policy_engine:
            raise ConfigError(
                "KyvernoInstall.cluster",
                f"cluster {cluster.cluster_name} already has a Kyverno release; two would fight "
                "over the same webhooks and CRDs",
                "use cluster.policy_engine(), which returns the cluster's one release",
            )
        super().__init__(scope, id)
        cluster.use_policy_engine(self)
        self.trusted_namespaces: tuple[str, ...] = settings.trusted_namespaces
        """Namespaces exempt from the isolation policies (node agents)."""
        self.mirror = mirror
        """The registry every Kyverno image is pulled from."""
        version = getattr(source, "version", None)
        if version is not None and version != CHART_VERSION:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:kyverno-chart-version",
                f"Kyverno chart {version} is not the tested {CHART_VERSION}: its images may "
                "differ from the mirrored list (KYVERNO_IMAGES) and its values from eks-secure's.",
            )
        control_plane = [s.cidr for s in cluster.network.plan.control_plane]
        self.fence = ReleaseFenceChart(
            cluster.cdk8s_app,
            "kyverno-fence",
            namespace=NAMESPACE,
            control_plane_cidrs=control_plane,
            webhooks=kyverno_webhooks(),
            field="kyverno",
        )
        """Namespace ``kyverno`` and its NetworkPolicies."""
        self.fence_manifest = cluster.add_chart("KyvernoFence", self.fence)
        """The fence's manifest resource; the release waits for it."""
        self.release = HelmRelease(
            self,
            "Chart",
            cluster=cluster,
            chart=CHART,
            release=RELEASE,
            namespace=NAMESPACE,
            source=source,
            mirror=self.mirror,
            image_values=lambda mirror: kyverno_image_values(mirror, digests),
            values=kyverno_values(),
            hooks=KYVERNO_HOOKS,
            timeout=HELM_TIMEOUT,
            field="kyverno",
        )
        """The Helm release."""
        self.release.node.add_dependency(self.fence_manifest)
        self.chart: eks.HelmChart = self.release.chart
        """The Helm chart resource; policies must depend on it (their CRDs come with it)."""
