"""The baseline chart: namespaces, default-deny NetworkPolicies and RBAC for eks-secure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import cdk8s
import constructs
from cdk8s_plus_27 import k8s

from eks_secure.errors import ConfigError
from eks_secure.k8s import policies

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_WARN = "pod-security.kubernetes.io/warn"
PSA_AUDIT = "pod-security.kubernetes.io/audit"

RBAC_API_GROUP = "rbac.authorization.k8s.io"
VIEWERS_BINDING = "eks-secure-viewers-view"
ADMINS_VIEW_BINDING = "eks-secure-admins-view"
ADMINS_NAMESPACE_BINDING = "eks-secure-admins"

APP_TEAM_ROLE = "eks-secure-app-team"
"""ClusterRole app teams get in their namespace: ``edit`` without the fence (see below)."""
APP_TEAM_WRITE_ROLE = "eks-secure-app-team-write"
AGGREGATE_TO_APP_TEAM = "eks-secure.io/aggregate-to-app-team"
AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"
_WRITE = ("create", "delete", "deletecollection", "patch", "update")

APP_TEAM_WRITE_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "",
        (
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "pods/eviction",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "persistentvolumeclaims",
            "configmaps",
            "endpoints",
            "secrets",
            "services",
            "services/proxy",
            "serviceaccounts",
        ),
        _WRITE,
    ),
    ("", ("serviceaccounts/token",), ("create",)),
    (
        "apps",
        (
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ),
        _WRITE,
    ),
    ("autoscaling", ("horizontalpodautoscalers",), _WRITE),
    ("batch", ("cronjobs", "jobs"), _WRITE),
    ("policy", ("poddisruptionbudgets",), _WRITE),
    ("networking.k8s.io", ("ingresses",), _WRITE),
    ("coordination.k8s.io", ("leases",), _WRITE),
)
"""(API group, resources, verbs) the app team may write: Kubernetes' ``edit`` write rules minus
``networking.k8s.io/networkpolicies`` (the fence: ``default-deny``, ``allow-dns``,
``allow-on-prem``, ``allow-egress-*``) and minus impersonating service accounts. Quotas, limit
ranges, role bindings and Kyverno policies are not writable by ``edit`` either."""


def rbac_allows(
    rules: Sequence[tuple[str, Sequence[str], Sequence[str]]], verb: str, group: str, resource: str
) -> bool:
    """Whether RBAC ``rules`` (API group, resources, verbs) allow ``verb`` on ``group/resource``."""
    return any(
        g in (group, "*") and (resource in rs or "*" in rs) and (verb in vs or "*" in vs)
        for g, rs, vs in rules
    )


RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces eks-secure must never create nor lock down (default-deny would break the cluster)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FIELD = "BaselineChart"


def check_namespace(field: str, name: str) -> None:
    """Raise a field-named error unless ``name`` is a namespace eks-secure may create."""
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise ConfigError(
            field,
            f"{name!r} is not a valid namespace name",
            "use at most 63 lower-case letters, digits and '-', starting and ending with an "
            "alphanumeric character",
        )
    if name in RESERVED_NAMESPACES or name.startswith("kube-"):
        raise ConfigError(
            field,
            f"{name!r} is a Kubernetes system namespace",
            "choose a dedicated namespace; eks-secure never manages default or kube-* namespaces",
        )


def _check_group(field: str, group: str) -> None:
    if not group or group.startswith("system:"):
        raise ConfigError(
            field,
            f"{group!r} is empty or a reserved 'system:' group (e.g. system:masters)",
            "use a dedicated group such as 'eks-secure:admins' mapped by an EKS access entry",
        )


def _group(name: str) -> k8s.Subject:
    return k8s.Subject(kind="Group", name=name, api_group=RBAC_API_GROUP)


def _cluster_role(name: str) -> k8s.RoleRef:
    return k8s.RoleRef(api_group=RBAC_API_GROUP, kind="ClusterRole", name=name)


def managed_namespace(
    scope: constructs.Construct,
    name: str,
    *,
    admin_group: str,
    labels: Mapping[str, str] | None = None,
) -> k8s.KubeNamespace:
    """A locked-down namespace: Pod Security ``restricted``, default-deny, DNS, admin binding,
    and the ``default`` ServiceAccount without token automount.

    Everything else a workload in it may reach must be allowed by further NetworkPolicies.
    """
    ns = policies.namespace(
        scope,
        name,
        {
            **(labels or {}),
            PSA_ENFORCE: "restricted",
            PSA_WARN: "restricted",
            PSA_AUDIT: "restricted",
        },
    )
    policies.default_deny(scope, name)
    policies.allow_dns(scope, name)
    bind_group(scope, name, ADMINS_NAMESPACE_BINDING, admin_group, "admin")
    no_token_automount(scope, name)
    return ns


def no_token_automount(scope: constructs.Construct, namespace: str) -> k8s.KubeServiceAccount:
    """The namespace's ``default`` ServiceAccount with token automount off.

    Pods that need an API token use their own ServiceAccount or set
    ``automountServiceAccountToken: true`` in their spec.
    """
    return k8s.KubeServiceAccount(
        scope,
        f"ServiceAccount:{namespace}:default",
        metadata=policies.object_meta("default", namespace),
        automount_service_account_token=False,
    )


def bind_group(
    scope: constructs.Construct, namespace: str, name: str, group: str, cluster_role: str
) -> k8s.KubeRoleBinding:
    """Bind Kubernetes ``group`` to ClusterRole ``cluster_role`` inside ``namespace``."""
    return k8s.KubeRoleBinding(
        scope,
        f"RoleBinding:{namespace}:{name}",
        metadata=policies.object_meta(name, namespace),
        role_ref=_cluster_role(cluster_role),
        subjects=[_group(group)],
    )


def app_team_roles(scope: constructs.Construct) -> None:
    """ClusterRoles ``eks-secure-app-team`` (aggregated) and its write rules.

    ``eks-secure-app-team`` aggregates every ClusterRole labelled
    ``rbac.authorization.k8s.io/aggregate-to-view`` (read-only, CRDs' view roles included) and
    every one labelled ``eks-secure.io/aggregate-to-app-team``, of which eks-secure ships
    ``eks-secure-app-team-write`` (:data:`APP_TEAM_WRITE_RULES`). Teams bound to it in their
    namespace cannot delete or edit their NetworkPolicies, unlike with ``edit``.
    """
    k8s.KubeClusterRole(
        scope,
        f"ClusterRole:{APP_TEAM_ROLE}",
        metadata=policies.object_meta(APP_TEAM_ROLE),
        aggregation_rule=k8s.AggregationRule(
            cluster_role_selectors=[
                k8s.LabelSelector(match_labels={AGGREGATE_TO_VIEW: "true"}),
                k8s.LabelSelector(match_labels={AGGREGATE_TO_APP_TEAM: "true"}),
            ]
        ),
    )
    k8s.KubeClusterRole(
        scope,
        f"ClusterRole:{APP_TEAM_WRITE_ROLE}",
        metadata=policies.object_meta(APP_TEAM_WRITE_ROLE, labels={AGGREGATE_TO_APP_TEAM: "true"}),
        rules=[
            k8s.PolicyRule(api_groups=[group], resources=list(resources), verbs=list(verbs))
            for group, resources, verbs in APP_TEAM_WRITE_RULES
        ],
    )


class BaselineChart(cdk8s.Chart):
    """Namespaces, default-deny NetworkPolicies and least-privilege RBAC for a private cluster.

    Namespaces: the system namespace and every managed namespace carry
    ``app.kubernetes.io/managed-by: eks-secure`` and Pod Security Admission labels enforcing,
    warning and auditing ``restricted`` (eks-secure runs no pod in the system namespace; an agent
    that needs more belongs in a namespace of its own).

    NetworkPolicies: each of these namespaces gets ``default-deny`` (all ingress and egress) and
    ``allow-dns`` (UDP/TCP 53 to the ``k8s-app: kube-dns`` pods of ``kube-system``).

    RBAC: nothing is ever bound to ``system:masters`` or to ClusterRole ``cluster-admin``, and
    ``system:`` groups are refused. ``viewer_group`` gets ClusterRole ``view`` cluster-wide
    (``eks-secure-viewers-view``). ``admin_group`` gets ``view`` cluster-wide
    (``eks-secure-admins-view``) and ClusterRole ``admin`` in each managed namespace through a
    RoleBinding ``eks-secure-admins``. App teams are bound (by each tenant chart) to
    ``eks-secure-app-team`` (:func:`app_team_roles`), defined here once per cluster.
    Cluster-admin power for administrators comes from the EKS
    access policy ``AmazonEKSClusterAdminPolicy`` on their access entry, which EKS authorizes
    outside Kubernetes RBAC and which is auditable and revocable through the EKS API.

    IMDS: NetworkPolicies are allow-lists, so the default-deny already blocks 169.254.169.254
    for pods in these namespaces, and no allow rule built by :mod:`eks_secure.k8s.policies` can
    include it (its ``ipBlock`` builder always excepts the IMDS address). Pods in other
    namespaces are kept off IMDS by the nodes: IMDSv2 is required with a response hop limit of 1
    (configured on the launch template elsewhere), so the token response never reaches a pod
    behind the extra network hop.

    Output is deterministic: explicit object names, construct IDs derived from them, managed
    namespaces sorted, and resource-name hashes disabled, so the same input always gives
    byte-identical ``to_json()``.
    """

    def __init__(
        self,
        scope: cdk8s.App,
        id: str,
        *,
        managed_namespaces: Sequence[str] = (),
        admin_group: str = "eks-secure:admins",
        viewer_group: str = "eks-secure:viewers",
        system_namespace: str = "eks-secure-system",
    ) -> None:
        """Build the chart; raises ``ConfigError`` for invalid names or ``system:`` groups."""
        if isinstance(managed_namespaces, str):
            raise ConfigError(
                f"{_FIELD}.managed_namespaces",
                "got a single string",
                "pass a list of namespace names",
            )
        check_namespace(f"{_FIELD}.system_namespace", system_namespace)
        seen: set[str] = set()
        for index, name in enumerate(managed_namespaces):
            field = f"{_FIELD}.managed_namespaces[{index}]"
            check_namespace(field, name)
            if name == system_namespace or name in seen:
                raise ConfigError(
                    field,
                    f"namespace {name!r} is listed twice or equals the system namespace",
                    "list each managed namespace once and keep it distinct from system_namespace",
                )
            seen.add(name)
        _check_group(f"{_FIELD}.admin_group", admin_group)
        _check_group(f"{_FIELD}.viewer_group", viewer_group)

        super().__init__(scope, id, disable_resource_name_hashes=True)

        self.system_namespace = system_namespace
        self.managed_namespaces: tuple[str, ...] = tuple(sorted(managed_namespaces))
        self.admin_group = admin_group
        self.viewer_group = viewer_group

        policies.namespace(
            self,
            system_namespace,
            {PSA_ENFORCE: "restricted", PSA_WARN: "restricted", PSA_AUDIT: "restricted"},
        )
        policies.default_deny(self, system_namespace)
        policies.allow_dns(self, system_namespace)
        for name in self.managed_namespaces:
            managed_namespace(self, name, admin_group=admin_group)

        app_team_roles(self)
        k8s.KubeClusterRoleBinding(
            self,
            f"ClusterRoleBinding:{VIEWERS_BINDING}",
            metadata=policies.object_meta(VIEWERS_BINDING),
            role_ref=_cluster_role("view"),
            subjects=[_group(viewer_group)],
        )
        k8s.KubeClusterRoleBinding(
            self,
            f"ClusterRoleBinding:{ADMINS_VIEW_BINDING}",
            metadata=policies.object_meta(ADMINS_VIEW_BINDING),
            role_ref=_cluster_role("view"),
            subjects=[_group(admin_group)],
        )
