"""Kyverno, installed from a pinned Helm chart, as the policy engine of tenant isolation."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.cluster import SYSTEM_NODE_LABEL, SecureCluster
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.config.model import KyvernoSettings

NAMESPACE = "kyverno"
CONTROLLERS = (
    "admissionController",
    "backgroundController",
    "cleanupController",
    "reportsController",
)


def default_chart_repository(stack: cdk.Stack) -> str:
    """The ECR OCI repository of the deployment's own account and region."""
    return f"oci://{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}/eks-secure/kyverno"


def kyverno_values(image_registry: str | None) -> dict[str, Any]:
    """Helm values: controllers on the system nodes, HA admission controller, optional mirror."""
    values: dict[str, Any] = {
        controller: {"nodeSelector": {SYSTEM_NODE_LABEL: "system"}} for controller in CONTROLLERS
    }
    values["admissionController"]["replicas"] = 3
    values["admissionController"]["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
    if image_registry:
        values["global"] = {"image": {"registry": image_registry}}
    return values


class KyvernoInstall(Construct):
    """Kyverno from a pinned chart on the system node group.

    :param cluster: the cluster to install into.
    :param settings: chart source, version and image mirror.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        settings: KyvernoSettings,
    ) -> None:
        super().__init__(scope, id)
        repository = settings.chart_repository or default_chart_repository(cdk.Stack.of(self))
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=as_icluster(cluster.cluster),
            chart="kyverno",
            release="kyverno",
            repository=repository,
            version=settings.chart_version,
            namespace=NAMESPACE,
            create_namespace=True,
            wait=True,
            atomic=True,
            timeout=cdk.Duration.minutes(15),
            values=kyverno_values(settings.image_registry),
        )
        """The Helm release; policies must depend on it (their CRDs come with it)."""
        self.chart.node.add_dependency(cluster.system_nodes.nodegroup)
        for addon in cluster.addons.addons.values():
            self.chart.node.add_dependency(addon)
