"""Kyverno policies that make a node group (and so its subnet) a trustworthy app identity.

When the firewall trusts a subnet, it trusts the scheduler: a pod of another team that tolerates
app X's taint and selects app X's nodes would leave with app X's source IP. Per app, one
``ClusterPolicy`` (Enforce) therefore

1. mutates every pod of the app's namespace onto the app's nodes (nodeSelector + toleration),
2. rejects a pod of that namespace that is not placed there, and
3. rejects a pod of any other namespace (``kube-system`` node agents excepted) that tolerates the
   app's taint, tolerates every taint, or selects the app's nodes by nodeSelector or affinity.
"""

from __future__ import annotations

from typing import Any

import cdk8s

from eks_secure.k8s.crd import custom_resource

APP_LABEL = "eks-secure.io/app"
"""Node label and taint key carrying the app name."""

TRUSTED_NAMESPACES: tuple[str, ...] = ("kube-system",)
"""Namespaces whose pods (node agents: vpc-cni, kube-proxy, ...) may run on every node."""


def placement_policy_name(app: str) -> str:
    """Name of app ``app``'s placement ClusterPolicy."""
    return f"eks-secure-placement-{app}"


def app_toleration(app: str) -> dict[str, str]:
    """The toleration of app ``app``'s taint."""
    return {"key": APP_LABEL, "operator": "Equal", "value": app, "effect": "NoSchedule"}


def _pods(namespaces: list[str] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"kinds": ["Pod"]}
    if namespaces:
        resources["namespaces"] = namespaces
    return {"any": [{"resources": resources}]}


def placement_spec(app: str, namespace: str) -> dict[str, Any]:
    """The ``spec`` of app ``app``'s placement ClusterPolicy."""
    selector_key = f'request.object.spec.nodeSelector."{APP_LABEL}"'
    affinity_values = (
        "request.object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        f".nodeSelectorTerms[].matchExpressions[?key=='{APP_LABEL}'][].values[]"
    )
    return {
        "background": True,
        "rules": [
            {
                "name": "place-on-app-nodes",
                "match": _pods([namespace]),
                "mutate": {
                    "patchStrategicMerge": {"spec": {"nodeSelector": {APP_LABEL: app}}},
                },
            },
            {
                "name": "tolerate-app-taint",
                "match": _pods([namespace]),
                "mutate": {
                    "patchesJson6902": (
                        "- op: add\n"
                        "  path: /spec/tolerations/-\n"
                        f"  value: {{key: {APP_LABEL}, operator: Equal, value: {app}, "
                        "effect: NoSchedule}\n"
                    )
                },
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
            {
                "name": "deny-foreign-pods",
                "match": _pods(),
                "exclude": _pods([namespace, *TRUSTED_NAMESPACES]),
                "validate": {
                    "failureAction": "Enforce",
                    "message": f"only pods of namespace {namespace} may use app {app}'s nodes",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": f"{{{{ {selector_key} || '' }}}}",
                                    "operator": "Equals",
                                    "value": app,
                                },
                                {
                                    "key": "{{ request.object.spec.tolerations[?key=="
                                    f"'{APP_LABEL}'].value || `[]` }}}}",
                                    "operator": "AnyIn",
                                    "value": [app],
                                },
                                {
                                    "key": "{{ request.object.spec.tolerations[?operator=="
                                    f"'Exists' && (key==null || key=='' || key=='{APP_LABEL}')]"
                                    " | length(@) }}",
                                    "operator": "GreaterThan",
                                    "value": 0,
                                },
                                {
                                    "key": f"{{{{ {affinity_values} || `[]` }}}}",
                                    "operator": "AnyIn",
                                    "value": [app],
                                },
                            ]
                        }
                    },
                },
            },
        ],
    }


def placement_policy(scope: cdk8s.Chart, app: str, namespace: str) -> cdk8s.ApiObject:
    """Add app ``app``'s placement ClusterPolicy to ``scope``."""
    return custom_resource(
        scope,
        f"ClusterPolicy:{placement_policy_name(app)}",
        api_version="kyverno.io/v1",
        kind="ClusterPolicy",
        name=placement_policy_name(app),
        spec=placement_spec(app, namespace),
        labels={APP_LABEL: app},
    )
