"""Kyverno policy that keeps every ``Service`` of type LoadBalancer internal unless allowed.

On EKS a ``Service`` of type ``LoadBalancer`` without annotations asks for an *internet-facing*
load balancer (in-tree cloud provider; the AWS Load Balancer Controller defaults to internal but
honours the same annotations). One ``ClusterPolicy``, :data:`POLICY_NAME`, every rule only for
Services whose ``spec.type`` is ``LoadBalancer``:

``default-internal`` (mutate)
    a Service that names no scheme gets ``service.beta.kubernetes.io/aws-load-balancer-scheme:
    internal`` and, unless set, ``service.beta.kubernetes.io/aws-load-balancer-internal: "true"``
    (the annotation the in-tree provider reads).
``internet-facing-needs-permission`` (validate, ``Enforce``)
    rejects an internet-facing Service (scheme other than ``internal``, or the internal annotation
    ``"false"``) outside the namespaces allowed to expose one.
``internet-facing-needs-source-ranges`` (validate, ``Enforce``)
    rejects an internet-facing Service without ``spec.loadBalancerSourceRanges`` or whose ranges
    include ``0.0.0.0/0`` or ``::/0``.

Kyverno validates the mutated object, so a Service that asks for nothing passes as internal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cdk8s

from eks_secure.k8s.crd import custom_resource

POLICY_NAME = "eks-secure-internal-load-balancers"
"""Name of the ClusterPolicy."""

SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
"""Scheme annotation of the AWS Load Balancer Controller (``internal`` / ``internet-facing``)."""

INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
"""The in-tree cloud provider's annotation: any value but ``"false"`` makes the ELB internal."""

OPEN_RANGES: tuple[str, ...] = ("0.0.0.0/0", "::/0")
"""Source ranges that do not restrict anything."""

IS_LOAD_BALANCER = {
    "key": "{{ request.object.spec.type || '' }}",
    "operator": "Equals",
    "value": "LoadBalancer",
}
"""Precondition of every rule: the Service is of type LoadBalancer."""


def _annotation(name: str) -> str:
    return f"request.object.metadata.annotations.\"{name}\" || ''"


def internet_facing_conditions() -> list[dict[str, Any]]:
    """Conditions (any) under which a (mutated) LoadBalancer Service is internet-facing."""
    return [
        {
            "key": f"{{{{ {_annotation(SCHEME_ANNOTATION)} }}}}",
            "operator": "NotEquals",
            "value": "internal",
        },
        {
            "key": f"{{{{ {_annotation(INTERNAL_ANNOTATION)} }}}}",
            "operator": "Equals",
            "value": "false",
        },
    ]


def _services(namespaces: Sequence[str] = ()) -> dict[str, Any]:
    resources: dict[str, Any] = {"kinds": ["Service"]}
    if namespaces:
        resources["namespaces"] = list(namespaces)
    return {"any": [{"resources": resources}]}


def load_balancer_spec(internet_facing_namespaces: Sequence[str] = ()) -> dict[str, Any]:
    """The ``spec`` of the ClusterPolicy; ``internet_facing_namespaces`` may expose Services."""
    internet_facing = {"any": internet_facing_conditions()}
    permission: dict[str, Any] = {
        "name": "internet-facing-needs-permission",
        "match": _services(),
        "preconditions": {"all": [IS_LOAD_BALANCER]},
        "validate": {
            "failureAction": "Enforce",
            "message": "Services of type LoadBalancer must be internal (annotation "
            f"{SCHEME_ANNOTATION}: internal); this namespace may not expose one to the internet",
            "deny": {"conditions": internet_facing},
        },
    }
    if internet_facing_namespaces:
        permission["exclude"] = _services(internet_facing_namespaces)
    ranges = "request.object.spec.loadBalancerSourceRanges || `[]`"
    return {
        "background": True,
        "rules": [
            {
                "name": "default-internal",
                "match": _services(),
                "preconditions": {
                    "all": [
                        IS_LOAD_BALANCER,
                        {
                            "key": f"{{{{ {_annotation(SCHEME_ANNOTATION)} }}}}",
                            "operator": "Equals",
                            "value": "",
                        },
                    ]
                },
                "mutate": {
                    "patchStrategicMerge": {
                        "metadata": {
                            "annotations": {
                                SCHEME_ANNOTATION: "internal",
                                f"+({INTERNAL_ANNOTATION})": "true",
                            }
                        }
                    }
                },
            },
            permission,
            {
                "name": "internet-facing-needs-source-ranges",
                "match": _services(),
                "preconditions": {"all": [IS_LOAD_BALANCER], "any": internet_facing_conditions()},
                "validate": {
                    "failureAction": "Enforce",
                    "message": "an internet-facing Service of type LoadBalancer needs "
                    "spec.loadBalancerSourceRanges without 0.0.0.0/0 or ::/0",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": f"{{{{ {ranges} | length(@) }}}}",
                                    "operator": "Equals",
                                    "value": 0,
                                },
                                {
                                    "key": f"{{{{ {ranges} }}}}",
                                    "operator": "AnyIn",
                                    "value": list(OPEN_RANGES),
                                },
                            ]
                        }
                    },
                },
            },
        ],
    }


def load_balancer_policy(
    scope: cdk8s.Chart, *, internet_facing_namespaces: Sequence[str] = ()
) -> cdk8s.ApiObject:
    """Add the internal-load-balancer ClusterPolicy to ``scope``."""
    return custom_resource(
        scope,
        f"ClusterPolicy:{POLICY_NAME}",
        api_version="kyverno.io/v1",
        kind="ClusterPolicy",
        name=POLICY_NAME,
        spec=load_balancer_spec(internet_facing_namespaces),
    )
