"""The in-cluster side of one tenant app: its namespace and everything that fences it in."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cdk8s
from cdk8s_plus_27 import k8s

from eks_secure.egress.contract import Tenant
from eks_secure.k8s import policies
from eks_secure.k8s.baseline import APP_TEAM_ROLE, bind_group, managed_namespace
from eks_secure.k8s.kyverno import APP_LABEL
from eks_secure.network.services import (
    AWS_EGRESS_LABEL,
    ENDPOINT_PORT,
    POD_IDENTITY_AGENT_CIDR,
    POD_IDENTITY_AGENT_PORT,
    S3_GATEWAY_SERVICE,
)

ON_PREM_POLICY = "allow-on-prem"
APP_BINDING = "eks-secure-app-team"
POD_IDENTITY_POLICY = "allow-aws-pod-identity"
"""NetworkPolicy of an app with ``aws_services``: the node's EKS Pod Identity agent."""
AWS_ENDPOINTS_POLICY = "allow-aws-endpoints"
"""NetworkPolicy of an app with interface services: the endpoint subnets on 443."""
AWS_S3_POLICY = "allow-aws-s3"
"""NetworkPolicy of an app with ``s3``: its ``s3_cidrs`` (the gateway endpoint) on 443."""


@functools.cache
def _quantity(value: str) -> k8s.Quantity:
    """``k8s.Quantity.from_string(value)``, made once per value (an immutable value object,
    shared by every app's quota and limits instead of one jsii call each)."""
    return k8s.Quantity.from_string(value)


def app_group(app: str) -> str:
    """Kubernetes group of app ``app``'s team (``eks-secure-app-team`` in its namespace)."""
    return f"eks-secure:app:{app}"


DEFAULT_QUOTA: Mapping[str, str] = {
    "requests.cpu": "16",
    "requests.memory": "64Gi",
    "limits.cpu": "32",
    "limits.memory": "128Gi",
    "pods": "200",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
}
"""Default ResourceQuota of an app namespace (no load balancers or node ports: egress only)."""


@dataclass(frozen=True)
class PodEgress:
    """Egress an app's pods may send to other pods (e.g. an egress gateway), not to CIDRs."""

    name: str
    """NetworkPolicy name, e.g. ``allow-egress-gateway``."""
    namespace_labels: Mapping[str, str]
    """Labels selecting the target pods' namespaces."""
    pod_labels: Mapping[str, str]
    """Labels selecting the target pods."""
    ports: tuple[int, ...] = field(default=())
    """Target ports (all when empty)."""


class TenantChart(cdk8s.Chart):
    """Namespace, RBAC, quota, limits, NetworkPolicies and (optionally) placement policy of an app.

    * namespace with Pod Security ``restricted``, default-deny, DNS, admin binding;
    * RoleBinding of the app team's group ``eks-secure:app:<name>`` to ClusterRole
      ``eks-secure-app-team`` (``edit`` without write access to NetworkPolicies, defined by the
      baseline chart), so a team cannot remove its own fence;
    * ResourceQuota and LimitRange;
    * NetworkPolicy ``allow-on-prem``: egress to ``egress_cidrs`` on the app's ports only, and
      one NetworkPolicy per ``pod_egress`` entry;
    * with ``tenant.aws_services`` (opt-in): ``allow-aws-pod-identity`` (the node's Pod Identity
      agent, ``169.254.170.23`` TCP 80), ``allow-aws-endpoints`` (``endpoint_cidrs`` on 443,
      when an interface service is listed) and ``allow-aws-s3`` (``tenant.s3_cidrs`` on 443).
      The interface endpoints' own policies and security group, and the app's IAM role, still
      decide what the calls may do; the subnets hold every endpoint, so the policy opens all
      of them at the network layer (the service list is what the app declares and validates);
    * whatever ``extra_objects`` adds (the dedicated-nodes patterns' Kyverno placement
      policies).

    :param tenant: the app.
    :param egress_cidrs: where the app's pods may connect directly (``allow-on-prem`` on the
        app's ports). Default: the app's destinations; empty: no direct egress.
    :param pod_egress: pod-selector egress policies (e.g. to an egress gateway).
    :param extra_objects: adds further objects to the chart (e.g. a pattern's placement
        policies), called last.
    :param admin_group: platform admins' group (bound to ``admin`` in the namespace).
    :param endpoint_cidrs: the interface endpoint subnets' CIDRs (required when the tenant lists
        an interface service). Default: none.
    :param quota: the namespace's ResourceQuota.
    """

    def __init__(
        self,
        scope: cdk8s.App,
        id: str,
        *,
        tenant: Tenant,
        egress_cidrs: Sequence[str] | None = None,
        pod_egress: Sequence[PodEgress] = (),
        extra_objects: Callable[[cdk8s.Chart], None] | None = None,
        admin_group: str,
        endpoint_cidrs: Sequence[str] = (),
        quota: Mapping[str, str] = DEFAULT_QUOTA,
    ) -> None:
        super().__init__(scope, id, disable_resource_name_hashes=True)
        ns = tenant.namespace
        managed_namespace(self, ns, admin_group=admin_group, labels={APP_LABEL: tenant.name})
        bind_group(self, ns, APP_BINDING, app_group(tenant.name), APP_TEAM_ROLE)
        k8s.KubeResourceQuota(
            self,
            f"ResourceQuota:{ns}",
            metadata=policies.object_meta("eks-secure-quota", ns),
            spec=k8s.ResourceQuotaSpec(hard={k: _quantity(v) for k, v in sorted(quota.items())}),
        )
        k8s.KubeLimitRange(
            self,
            f"LimitRange:{ns}",
            metadata=policies.object_meta("eks-secure-limits", ns),
            spec=k8s.LimitRangeSpec(
                limits=[
                    k8s.LimitRangeItem(
                        type="Container",
                        default={
                            "cpu": _quantity("500m"),
                            "memory": _quantity("512Mi"),
                        },
                        default_request={
                            "cpu": _quantity("100m"),
                            "memory": _quantity("128Mi"),
                        },
                    )
                ]
            ),
        )
        cidrs = list(egress_cidrs if egress_cidrs is not None else tenant.destinations)
        if cidrs:
            policies.allow_egress_to_cidrs(self, ns, ON_PREM_POLICY, cidrs, tenant.ports)
        for egress in pod_egress:
            policies.allow_egress_to_pods(
                self,
                ns,
                egress.name,
                namespace_labels=egress.namespace_labels,
                pod_labels=egress.pod_labels,
                ports=egress.ports,
            )
        aws_egress(self, tenant, endpoint_cidrs)
        if extra_objects is not None:
            extra_objects(self)


def aws_egress(chart: cdk8s.Chart, tenant: Tenant, endpoint_cidrs: Sequence[str]) -> None:
    """The NetworkPolicies of ``tenant.aws_services`` (none without): Pod Identity agent,
    interface endpoint subnets, S3 CIDRs (see :class:`TenantChart`)."""
    if not tenant.aws_services:
        return
    ns = tenant.namespace

    def allow(name: str, kind: str, cidrs: Sequence[str], port: int) -> None:
        labels = {AWS_EGRESS_LABEL: kind}
        policies.allow_egress_to_cidrs(chart, ns, name, cidrs, [port], labels=labels)

    allow(POD_IDENTITY_POLICY, "pod-identity", [POD_IDENTITY_AGENT_CIDR], POD_IDENTITY_AGENT_PORT)
    if any(s != S3_GATEWAY_SERVICE for s in tenant.aws_services):
        if not endpoint_cidrs:
            raise ValueError(
                f"{tenant.path('aws_services')}: interface services listed but no endpoint_cidrs"
            )
        allow(AWS_ENDPOINTS_POLICY, "endpoints", endpoint_cidrs, ENDPOINT_PORT)
    if tenant.s3_cidrs:
        allow(AWS_S3_POLICY, "s3", tenant.s3_cidrs, ENDPOINT_PORT)
