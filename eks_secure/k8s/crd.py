"""Untyped custom resources (Kyverno, Cilium, Istio, ...) as plain cdk8s API objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import cdk8s
import constructs

from eks_secure.k8s.policies import MANAGED_BY_LABELS


def _plain_json(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    try:
        plain: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serializable: {exc}") from exc
    return plain


def custom_resource(
    scope: constructs.Construct,
    id: str,
    *,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    spec: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
) -> cdk8s.ApiObject:
    """Create a custom resource ``kind`` named ``name`` with the given ``spec``.

    The spec is copied through a JSON round trip (so later changes to the mapping have no
    effect and non-JSON values fail here, not at synth) and attached with a JSON patch. The
    object carries the eks-secure managed-by label plus ``labels``. Pass ``namespace=None`` for
    cluster-scoped kinds such as Kyverno ``ClusterPolicy``.
    """
    if "/" not in api_version:
        raise ValueError(
            f"custom resource apiVersion must be '<group>/<version>', got {api_version!r}"
        )
    merged = {**MANAGED_BY_LABELS, **(labels or {})}
    obj = cdk8s.ApiObject(
        scope,
        id,
        api_version=api_version,
        kind=kind,
        metadata=cdk8s.ApiObjectMetadata(
            name=name, namespace=namespace, labels=dict(sorted(merged.items()))
        ),
    )
    obj.add_json_patch(cdk8s.JsonPatch.add("/spec", _plain_json(spec, f"{kind} {name} spec")))
    return obj
