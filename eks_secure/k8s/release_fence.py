"""The namespace of a Helm release, fenced: default-deny plus only the flows its pods need.

A Helm chart brings pods but, as a rule, no NetworkPolicy: in a cluster where every namespace
eks-secure manages is default-deny, a platform release (Kyverno, Cilium's operator, istiod ...)
needs its own. :class:`ReleaseFenceChart` creates the release's namespace (Pod Security
``restricted`` by default) before Helm installs into it, with:

``default-deny``
    no ingress, no egress for any pod of the namespace;
``allow-dns``
    UDP/TCP 53 to CoreDNS;
``allow-api-server``
    egress TCP 443 to the Kubernetes API: the control-plane subnets (where the cluster's ENIs
    serve the ``kubernetes`` endpoints) and the ``kubernetes`` Service IP of both EKS default
    service ranges (:data:`EKS_DEFAULT_KUBERNETES_SERVICE_IPS`: which one EKS picks is not
    documented, and whether the VPC CNI matches the Service IP or the endpoint IP depends on
    where its eBPF program sees the packet, so both are allowed);
``allow-webhook-<name>``
    per webhook server: ingress from the control-plane subnets to its pods on its port (the
    API server calls the pod IP directly from its ENIs; ``ControlPlaneEgress`` must open the
    same port);
``allow-metrics``
    optional: ingress on the metrics port from named namespaces (a Prometheus).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cdk8s
import constructs

from eks_secure.errors import ConfigError
from eks_secure.k8s import policies
from eks_secure.k8s.baseline import PSA_AUDIT, PSA_ENFORCE, PSA_WARN, check_namespace

EKS_DEFAULT_KUBERNETES_SERVICE_IPS: tuple[str, ...] = ("10.100.0.1/32", "172.20.0.1/32")
"""The ``kubernetes`` Service ClusterIP in each of EKS's default service ranges
(``10.100.0.0/16`` and ``172.20.0.0/16``); SecureCluster sets no service range of its own."""

API_SERVER_PORT = 443
ALLOW_API_SERVER_NAME = "allow-api-server"
ALLOW_METRICS_NAME = "allow-metrics"
POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")


@dataclass(frozen=True)
class WebhookServer:
    """Pods of a release that serve admission webhooks the API server calls."""

    name: str
    """Short name; the policy is ``allow-webhook-<name>``."""
    pod_labels: Mapping[str, str]
    """Labels selecting the serving pods."""
    port: int
    """Container port the webhook Service targets."""


@dataclass(frozen=True)
class MetricsAccess:
    """Who may scrape the release's metrics port."""

    port: int
    from_namespaces: tuple[str, ...] = field(default_factory=tuple)


def api_server_cidrs(control_plane_cidrs: Sequence[str]) -> tuple[str, ...]:
    """Where pods reach the Kubernetes API: the control-plane subnets and the Service IPs."""
    return (*sorted(control_plane_cidrs), *EKS_DEFAULT_KUBERNETES_SERVICE_IPS)


class ReleaseFenceChart(cdk8s.Chart):
    """Namespace ``namespace`` with default-deny and a Helm release's own flows (module doc).

    :param namespace: the release's namespace (created here, before the release).
    :param control_plane_cidrs: CIDRs of the control-plane subnets (literal strings).
    :param webhooks: the release's webhook servers.
    :param metrics: optional metrics access. Default: none.
    :param pod_security: Pod Security level enforced on the namespace. Default: restricted.
    :param field: config path or prop name used in error messages.
    """

    def __init__(
        self,
        scope: constructs.Construct,
        id: str,
        *,
        namespace: str,
        control_plane_cidrs: Sequence[str],
        webhooks: Sequence[WebhookServer] = (),
        metrics: MetricsAccess | None = None,
        pod_security: str = "restricted",
        field: str = "ReleaseFenceChart",
    ) -> None:
        super().__init__(scope, id, disable_resource_name_hashes=True)
        check_namespace(f"{field}.namespace", namespace)
        if pod_security not in POD_SECURITY_LEVELS:
            raise ConfigError(
                f"{field}.pod_security",
                f"{pod_security!r} is not a Pod Security level",
                f"use one of {', '.join(POD_SECURITY_LEVELS)}",
            )
        if not control_plane_cidrs:
            raise ConfigError(
                f"{field}.control_plane_cidrs",
                "no control-plane subnet CIDR given",
                "pass the CIDRs of the cluster's control-plane subnets",
            )
        names = [w.name for w in webhooks]
        if len(set(names)) != len(names):
            raise ConfigError(f"{field}.webhooks", "webhook names repeat", "name each once")
        self.namespace_name = namespace
        """The fenced namespace."""
        self.namespace_object = policies.namespace(
            self,
            namespace,
            {PSA_ENFORCE: pod_security, PSA_WARN: "restricted", PSA_AUDIT: "restricted"},
        )
        """The namespace object."""
        policies.default_deny(self, namespace)
        policies.allow_dns(self, namespace)
        policies.allow_egress_to_cidrs(
            self,
            namespace,
            ALLOW_API_SERVER_NAME,
            api_server_cidrs(control_plane_cidrs),
            [API_SERVER_PORT],
        )
        self.webhook_ports: dict[str, int] = {}
        """Port of each webhook server, by name."""
        for webhook in sorted(webhooks, key=lambda w: w.name):
            policies.allow_ingress_from_cidrs(
                self,
                namespace,
                f"allow-webhook-{webhook.name}",
                sorted(control_plane_cidrs),
                [webhook.port],
                pod_labels=webhook.pod_labels,
            )
            self.webhook_ports[webhook.name] = webhook.port
        if metrics is not None and metrics.from_namespaces:
            policies.allow_ingress_from_namespaces(
                self, namespace, ALLOW_METRICS_NAME, metrics.from_namespaces, [metrics.port]
            )
