"""Kyverno, installed from a pinned Helm chart, as the policy engine of tenant isolation."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure.cluster.cluster import KUBECTL_WAIT_BUDGET, SYSTEM_NODE_LABEL, SecureCluster
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.config.model import KyvernoSettings

NAMESPACE = "kyverno"
CONTROLLERS = (
    "admissionController",
    "backgroundController",
    "cleanupController",
    "reportsController",
)


def ecr_registry(stack: cdk.Stack) -> str:
    """The private ECR registry of the deployment's own account and region."""
    return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"


def default_chart_repository(stack: cdk.Stack) -> str:
    """Where the chart is pulled from by default: ``oci://<ECR>/eks-secure/kyverno``."""
    return f"oci://{ecr_registry(stack)}/eks-secure/kyverno"


def default_image_registry(stack: cdk.Stack) -> str:
    """Where the images are pulled from by default: ``<ECR>/eks-secure`` (a mirror)."""
    return f"{ecr_registry(stack)}/eks-secure"


def kyverno_values(image_registry: str) -> dict[str, Any]:
    """Helm values: controllers on the system nodes, HA admission controller, image mirror."""
    values: dict[str, Any] = {
        controller: {"nodeSelector": {SYSTEM_NODE_LABEL: "system"}} for controller in CONTROLLERS
    }
    values["admissionController"]["replicas"] = 3
    values["admissionController"]["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
    values["global"] = {"image": {"registry": image_registry}}
    return values


class KyvernoInstall(Construct):
    """Kyverno from a pinned chart on the system node group.

    A private cluster reaches no public registry: by default the chart comes from
    ``oci://<account>.dkr.ecr.<region>.amazonaws.com/eks-secure/kyverno`` and the images from
    ``<account>.dkr.ecr.<region>.amazonaws.com/eks-secure/...`` (mirror them there first).

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
        self.trusted_namespaces: tuple[str, ...] = settings.trusted_namespaces
        """Namespaces exempt from the isolation policies (node agents)."""
        stack = cdk.Stack.of(self)
        repository = settings.chart_repository or default_chart_repository(stack)
        image_registry = settings.image_registry or default_image_registry(stack)
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
            # Helm's wait must end before the kubectl handler's timeout, with margin
            timeout=cdk.Duration.seconds(KUBECTL_WAIT_BUDGET),
            values=kyverno_values(image_registry),
        )
        """The Helm release; policies must depend on it (their CRDs come with it)."""
        self.chart.node.add_dependency(cluster.system_nodes.nodegroup)
        for addon in cluster.addons.addons.values():
            self.chart.node.add_dependency(addon)
