"""Kyverno policies that make a node group (and so its subnet) a trustworthy app identity.

When the firewall trusts a subnet, it trusts the scheduler: a pod of another team that tolerates
app X's taint and selects app X's nodes would leave with app X's source IP. Per app, two
``ClusterPolicy`` objects (all rules ``Enforce``):

``eks-secure-placement-<app>`` (pods of the app's namespace)
    mutates every new pod onto the app's nodes (nodeSelector + toleration) and rejects one that
    is not placed there. Its JSON patch rule turns Kyverno's autogen off for this policy, so it is
    declared explicitly: the mutation happens on the pods themselves.

``eks-secure-isolation-<app>`` (pods of every other namespace, trusted ones excepted)
    rejects a pod that selects the app's nodes (nodeSelector or required node affinity),
    tolerates the app's taint, tolerates every taint, or is created already bound to a node
    (``spec.nodeName`` skips the scheduler, and the kubelet does not enforce NoSchedule). Autogen
    stays on, so Deployments, DaemonSets, Jobs... are rejected when they are applied.

Pods of the *trusted namespaces* (default ``kube-system``: vpc-cni, kube-proxy, the pod identity
agent) must run on every node and are exempt from the isolation policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import cdk8s

from eks_secure.k8s.crd import custom_resource

APP_LABEL = "eks-secure.io/app"
"""Node label and taint key carrying the app name."""

TRUSTED_NAMESPACES: tuple[str, ...] = ("kube-system",)
"""Default namespaces whose pods (node agents) may run on every node."""

KYVERNO_EXEMPT_NAMESPACES: tuple[str, ...] = (
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kyverno",
)
"""Namespaces no Kyverno policy applies to, whatever the policy says: the chart's default
``config.resourceFilters`` skip every resource in ``kube-system``, ``kube-public`` and
``kube-node-lease``, and ``config.excludeKyvernoNamespace: true`` (default) skips the release
namespace (``kyverno``) in the resource filters and the webhooks. eks-secure keeps the chart's
defaults; ``tests/test_kyverno_chart.py`` checks this list against the chart's values."""

AUTOGEN_ANNOTATION = "pod-policies.kyverno.io/autogen-controllers"


def placement_policy_name(app: str) -> str:
    """Name of app ``app``'s placement ClusterPolicy (pods of its namespace)."""
    return f"eks-secure-placement-{app}"


def isolation_policy_name(app: str) -> str:
    """Name of app ``app``'s isolation ClusterPolicy (pods of every other namespace)."""
    return f"eks-secure-isolation-{app}"


def app_toleration(app: str) -> dict[str, str]:
    """The toleration of app ``app``'s taint."""
    return {"key": APP_LABEL, "operator": "Equal", "value": app, "effect": "NoSchedule"}


def _pods(namespaces: Sequence[str] = (), operations: Sequence[str] = ()) -> dict[str, Any]:
    resources: dict[str, Any] = {"kinds": ["Pod"]}
    if namespaces:
        resources["namespaces"] = list(namespaces)
    if operations:
        resources["operations"] = list(operations)
    return {"any": [{"resources": resources}]}


def tolerates_app(app: str) -> str:
    """JMESPath (Kyverno variable) that counts the pod's tolerations of app ``app``'s taint."""
    return (
        f"{{{{ request.object.spec.tolerations[?key=='{APP_LABEL}' && value=='{app}'] "
        "| length(@) }}"
    )


def isolation_conditions(app: str, label: str = APP_LABEL) -> list[dict[str, Any]]:
    """Deny conditions (any) for a pod outside app ``app``'s namespace: it selects nodes
    labelled ``label=app``, tolerates their taint ``label=app`` or tolerates every taint."""
    affinity = (
        "request.object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        f".nodeSelectorTerms[].matchExpressions[?key=='{label}'][].values[]"
    )
    return [
        {
            "key": f"{{{{ request.object.spec.nodeSelector.\"{label}\" || '' }}}}",
            "operator": "Equals",
            "value": app,
        },
        {
            "key": (f"{{{{ request.object.spec.tolerations[?key=='{label}'].value || `[]` }}}}"),
            "operator": "AnyIn",
            "value": [app],
        },
        {
            "key": (
                "{{ request.object.spec.tolerations[?operator=='Exists' && "
                f"(!key || key=='{label}')] | length(@) }}}}"
            ),
            "operator": "GreaterThan",
            "value": 0,
        },
        {
            "key": f"{{{{ {affinity} || `[]` }}}}",
            "operator": "AnyIn",
            "value": [app],
        },
    ]


def placement_spec(app: str, namespace: str) -> dict[str, Any]:
    """The ``spec`` of app ``app``'s placement ClusterPolicy."""
    add_toleration = [{"op": "add", "path": "/spec/tolerations/-", "value": app_toleration(app)}]
    return {
        "background": True,
        "rules": [
            {
                "name": "place-on-app-nodes",
                "match": _pods([namespace]),
                "mutate": {"patchStrategicMerge": {"spec": {"nodeSelector": {APP_LABEL: app}}}},
            },
            {
                "name": "tolerate-app-taint",
                "match": _pods([namespace]),
                "preconditions": {
                    "all": [{"key": tolerates_app(app), "operator": "Equals", "value": 0}]
                },
                # JSON (valid YAML) so an app name like "on" or "123" stays a string
                "mutate": {"patchesJson6902": json.dumps(add_toleration)},
            },
            {
                "name": "require-app-nodes",
                "match": _pods([namespace]),
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"pods of namespace {namespace} must run on app {app}'s nodes",
                    "pattern": {
                        "spec": {
                            "nodeSelector": {APP_LABEL: app},
                            "^(tolerations)": [app_toleration(app)],
                        }
                    },
                },
            },
        ],
    }


def isolation_spec(app: str, namespace: str, trusted: Sequence[str]) -> dict[str, Any]:
    """The ``spec`` of app ``app``'s isolation ClusterPolicy."""
    exempt = [namespace, *trusted]
    return {
        "background": True,
        "rules": [
            {
                "name": "deny-foreign-pods",
                "match": _pods(),
                "exclude": _pods(exempt),
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"only pods of namespace {namespace} may use app {app}'s nodes",
                    "deny": {"conditions": {"any": isolation_conditions(app)}},
                },
            },
            {
                "name": "deny-direct-node-binding",
                "match": _pods(operations=["CREATE"]),
                "exclude": _pods(exempt),
                "validate": {
                    "failureAction": "Enforce",
                    "message": "pods may not be created bound to a node (spec.nodeName skips "
                    "the scheduler and the taints of dedicated app nodes)",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ request.object.spec.nodeName || '' }}",
                                    "operator": "NotEquals",
                                    "value": "",
                                }
                            ]
                        }
                    },
                },
            },
        ],
    }


def placement_policies(
    scope: cdk8s.Chart,
    app: str,
    namespace: str,
    *,
    trusted_namespaces: Sequence[str] = TRUSTED_NAMESPACES,
) -> tuple[cdk8s.ApiObject, cdk8s.ApiObject]:
    """Add app ``app``'s placement and isolation ClusterPolicies to ``scope``."""
    placement = custom_resource(
        scope,
        f"ClusterPolicy:{placement_policy_name(app)}",
        api_version="kyverno.io/v1",
        kind="ClusterPolicy",
        name=placement_policy_name(app),
        spec=placement_spec(app, namespace),
        labels={APP_LABEL: app},
    )
    placement.metadata.add_annotation(AUTOGEN_ANNOTATION, "none")
    isolation = custom_resource(
        scope,
        f"ClusterPolicy:{isolation_policy_name(app)}",
        api_version="kyverno.io/v1",
        kind="ClusterPolicy",
        name=isolation_policy_name(app),
        spec=isolation_spec(app, namespace, trusted_namespaces),
        labels={APP_LABEL: app},
    )
    return placement, isolation
