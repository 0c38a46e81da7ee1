"""``HelmRelease``: the one way eks-secure installs a Helm chart (aws_eks_v2.HelmChart inside).

Every install through it gets the same guarantees, checked at synthesis:

* **A chart source from** :mod:`eks_secure.helm.source`: the deployment's own ECR by default,
  another pinned ``oci://`` / ``https://`` repository, or a local chart directory (CDK asset).
* **Every image from the mirror.** The chart's image values come from its own rewrite function
  (:data:`~eks_secure.helm.images.ImageValues`) applied to an
  :class:`~eks_secure.registry.mirror.ImageMirror`; other values that would touch them are a
  field-named error.
* **Failing before the Lambda does.** The kubectl handler of aws_eks_v2 runs ``helm`` inside a
  Lambda whose timeout ``SecureCluster`` sets to 14 minutes
  (:data:`KUBECTL_HANDLER_TIMEOUT_SECONDS`, below the provider framework's 15). Helm's
  ``--timeout`` bounds each wait separately: the release's resources, then every hook Job/Pod
  one after the other, and with ``--atomic`` the uninstall (failed install) or rollback (failed
  upgrade) that follows a failure waits again. :func:`worst_case_waits` counts those waits from
  the chart's hooks; ``timeout x waits + HANDLER_OVERHEAD_SECONDS`` must fit in the Lambda's
  timeout, or the Lambda is killed mid-``helm``: no reply reaches CloudFormation, the release is
  left ``pending-*``, and fail-closed webhooks may stay behind.
* **Atomic and waiting.** ``wait`` and ``atomic`` are on by default: Helm waits until the
  release's Deployments, StatefulSets, Jobs... are ready; a failed install is uninstalled and a
  failed upgrade rolled back, inside the same handler run, so CloudFormation sees a clean failure
  and rolls back its own side. (Helm 4 calls ``--atomic`` ``--rollback-on-failure`` and still
  accepts the old flag, which the handler passes.) A CNI installed before any node exists
  (``before_nodes``) turns both off: its pods cannot be scheduled until the node groups it
  precedes exist, and ``--atomic`` would turn ``--wait`` back on.
* **A bounded CloudFormation wait.** The custom resource gets ``ServiceTimeout``
  (:data:`SERVICE_TIMEOUT_SECONDS`), so a handler that dies fails the stack in minutes instead
  of CloudFormation's default hour.
* **Ordering.** The release depends on the system node group and every managed add-on (its pods
  need nodes, DNS and the CNI), unless ``before_nodes`` (the CNI itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from eks_secure.cluster.cluster import (
    CUSTOM_RESOURCE_SERVICE_TIMEOUT,
    KUBECTL_HANDLER_TIMEOUT,
    SecureCluster,
)
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.errors import ConfigError
from eks_secure.helm.images import ImageValues, merge, overlapping_paths
from eks_secure.helm.source import (
    ChartSource,
    EcrMirrorChart,
    LocalChart,
    RepositoryChart,
    check_chart_name,
)
from eks_secure.registry.ecr import ecr_registry
from eks_secure.registry.mirror import ImageMirror

KUBECTL_HANDLER_TIMEOUT_SECONDS = KUBECTL_HANDLER_TIMEOUT
"""Timeout of the kubectl handler Lambda that runs ``helm`` (set by :class:`SecureCluster` below
the provider framework's 15 minutes). ``tests/test_helm_release.py`` checks the synthesized
handler against this value."""

HANDLER_OVERHEAD_SECONDS = 120
"""Margin for what the handler does besides waiting: Lambda start, ``aws eks
update-kubeconfig``, registry login, ``helm pull`` (retried on broken pipes), the release apply."""

SERVICE_TIMEOUT_SECONDS = CUSTOM_RESOURCE_SERVICE_TIMEOUT
"""``ServiceTimeout`` of every custom resource, Helm releases included (set on the whole stack by
:class:`SecureCluster`)."""

MAX_RELEASE_NAME = 53
"""Helm's limit on release names."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class HookCounts:
    """How many hook Jobs/Pods a chart runs per Helm event (other hook kinds do not wait)."""

    pre_install: int = 0
    post_install: int = 0
    pre_upgrade: int = 0
    post_upgrade: int = 0
    pre_delete: int = 0
    post_delete: int = 0
    pre_rollback: int = 0
    post_rollback: int = 0


def worst_case_waits(hooks: HookCounts, *, atomic: bool = True) -> int:
    """The most ``--timeout`` periods one handler run can spend waiting.

    Install: pre-install hooks, the resources, post-install hooks; with ``atomic`` a failure then
    uninstalls (pre-delete hooks, the deletion, post-delete hooks). Upgrade: likewise, and a
    failure rolls back (pre-rollback hooks, the rollback, post-rollback hooks). Delete:
    pre-delete hooks, the deletion, post-delete hooks. Every hook Job/Pod is waited for on its
    own, one after the other.
    """
    delete = hooks.pre_delete + 1 + hooks.post_delete
    install = hooks.pre_install + 1 + hooks.post_install + (delete if atomic else 0)
    rollback = hooks.pre_rollback + 1 + hooks.post_rollback
    upgrade = hooks.pre_upgrade + 1 + hooks.post_upgrade + (rollback if atomic else 0)
    return max(install, upgrade, delete)


def max_timeout_seconds(hooks: HookCounts) -> int:
    """The longest Helm ``--timeout`` (whole seconds) that fits the handler for ``hooks``."""
    return (KUBECTL_HANDLER_TIMEOUT_SECONDS - HANDLER_OVERHEAD_SECONDS) // worst_case_waits(hooks)


def check_timeout(timeout_seconds: float, hooks: HookCounts, field: str) -> None:
    """Raise a field-named error unless ``timeout_seconds`` fits the handler's Lambda."""
    waits = worst_case_waits(hooks)
    limit = max_timeout_seconds(hooks)
    if timeout_seconds < 60:
        raise ConfigError(
            field,
            f"{timeout_seconds:g} s is too short for pods to pull their images and start",
            f"use at least 60 s and at most {limit} s",
        )
    if timeout_seconds > limit:
        raise ConfigError(
            field,
            f"{timeout_seconds:g} s x {waits} sequential waits (resources, hooks, atomic "
            f"rollback) + {HANDLER_OVERHEAD_SECONDS} s overhead exceeds the kubectl handler's "
            f"{KUBECTL_HANDLER_TIMEOUT_SECONDS} s Lambda timeout",
            f"use at most {limit} s, so a failed install fails instead of hanging",
        )


def default_timeout(hooks: HookCounts) -> cdk.Duration:
    """The longest whole-minute timeout that fits the handler for ``hooks`` (at least 1 min)."""
    return cdk.Duration.minutes(max(1, max_timeout_seconds(hooks) // 60))


def validated_values(
    *,
    chart: str,
    release: str,
    namespace: str,
    source: ChartSource,
    timeout: cdk.Duration,
    hooks: HookCounts,
    values: Mapping[str, Any],
    image_tree: Mapping[str, Any],
    field: str,
) -> dict[str, Any]:
    """Check a release's inputs (field-named errors); return its values with the image values."""
    check_chart_name(chart, f"{field}.chart")
    if len(release) > MAX_RELEASE_NAME or not _DNS_LABEL.match(release):
        raise ConfigError(
            f"{field}.release",
            f"{release!r} is not a valid Helm release name",
            f"use at most {MAX_RELEASE_NAME} lower-case letters, digits and '-'",
        )
    if len(namespace) > 63 or not _DNS_LABEL.match(namespace):
        raise ConfigError(
            f"{field}.namespace",
            f"{namespace!r} is not a valid namespace name",
            "use at most 63 lower-case letters, digits and '-'",
        )
    source.check(chart, field)
    if not timeout.is_unresolved():
        check_timeout(timeout.to_seconds(), hooks, f"{field}.timeout")
    clashes = overlapping_paths(values, image_tree)
    if clashes:
        raise ConfigError(
            f"{field}.values",
            f"{', '.join(clashes)} would override the chart's mirrored image values",
            "set images only through the mirror (ImageMirror) and the image digests",
        )
    return merge([values, image_tree])


class HelmRelease(Construct):
    """A pinned Helm release in the cluster, every image from the mirror (see the module doc).

    :param cluster: the cluster to install into.
    :param chart: the chart's name (as in its ``Chart.yaml``).
    :param namespace: namespace of the release (created by Helm when missing, see
        ``create_namespace``).
    :param source: where the chart comes from (:mod:`eks_secure.helm.source`).
    :param mirror: the registry every image is pulled from.
    :param image_values: the chart's image rewrite (its images' values for ``mirror``).
    :param values: the chart's other values; none may touch an image value.
    :param release: release name. Default: ``chart``.
    :param hooks: the chart's hook Jobs/Pods per event (sizes the timeout budget).
    :param timeout: Helm ``--timeout``. Default: the longest whole minute that fits.
    :param create_namespace: let Helm create ``namespace`` if it is missing. Default: true.
    :param skip_crds: install without the chart's ``crds/`` directory. Default: false.
    :param before_nodes: the release is a node prerequisite (a CNI): no dependency on the system
        nodes and add-ons, and Helm neither waits nor rolls back (see the module doc). Default:
        false.
    :param field: config path or prop name used in error messages.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        chart: str,
        namespace: str,
        source: ChartSource,
        mirror: ImageMirror,
        image_values: ImageValues,
        values: Mapping[str, Any] | None = None,
        release: str | None = None,
        hooks: HookCounts | None = None,
        timeout: cdk.Duration | None = None,
        create_namespace: bool = True,
        skip_crds: bool = False,
        before_nodes: bool = False,
        field: str = "HelmRelease",
    ) -> None:
        # Validate before the construct joins the tree: a rejected release leaves no node.
        release = release or chart
        hooks = hooks or HookCounts()
        timeout = timeout or default_timeout(hooks)
        merged = validated_values(
            chart=chart,
            release=release,
            namespace=namespace,
            source=source,
            timeout=timeout,
            hooks=hooks,
            values=values or {},
            image_tree=image_values(mirror),
            field=field,
        )
        super().__init__(scope, id)
        self.hooks = hooks
        """The chart's hook Jobs/Pods per event."""
        self.timeout = timeout
        """Helm ``--timeout`` of every wait."""
        self.values: dict[str, Any] = merged
        """The Helm values as installed (image values included)."""
        self.source = source
        """Where the chart comes from."""
        self.mirror = mirror
        """The registry every image is pulled from."""
        self.release_name = release
        """The Helm release name."""
        self.namespace = namespace
        """The release's namespace."""

        stack = cdk.Stack.of(self)
        location: dict[str, Any]
        if isinstance(source, LocalChart):
            location = {
                "chart_asset": s3_assets.Asset(self, "ChartAsset", path=str(Path(source.directory)))
            }
        elif isinstance(source, EcrMirrorChart):
            location = {
                "chart": chart,
                "repository": f"oci://{ecr_registry(stack)}/{source.namespace}/{chart}",
                "version": source.version,
            }
        else:
            assert isinstance(source, RepositoryChart)
            location = {"chart": chart, "repository": source.repository, "version": source.version}

        # ID "Default": the HelmChart is this construct's default child, and its logical ID is
        # the one a HelmChart created directly at this construct's path would have.
        self.chart = eks.HelmChart(
            self,
            "Default",
            cluster=as_icluster(cluster.cluster),
            release=release,
            namespace=namespace,
            create_namespace=create_namespace,
            skip_crds=skip_crds,
            wait=not before_nodes,
            atomic=not before_nodes,
            timeout=self.timeout,
            values=self.values,
            **location,
        )
        """The ``Custom::AWSCDK-EKS-HelmChart`` of the release."""
        if not before_nodes:
            self.chart.node.add_dependency(cluster.system_nodes.nodegroup)
            for addon in cluster.addons.addons.values():
                self.chart.node.add_dependency(addon)
