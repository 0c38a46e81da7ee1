"""The Kyverno placement/isolation policies, evaluated on sample pods.

No Kyverno can run here, so the policies' JMESPath conditions are evaluated with the reference
``jmespath`` implementation (Kyverno's variables are JMESPath) and the JSON patch is applied by
hand: enough to prove which pods each rule admits and rejects.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import cdk8s
import pytest
from kyverno_eval import holds as _holds
from manifest_validation import requires_crd_schemas, validate_all

from eks_secure.k8s.kyverno import (
    APP_LABEL,
    AUTOGEN_ANNOTATION,
    app_toleration,
    isolation_spec,
    placement_policies,
    placement_spec,
)

APP = "payments-api"
NS = "payments"


def _rule(spec: dict[str, Any], name: str) -> dict[str, Any]:
    (rule,) = [r for r in spec["rules"] if r["name"] == name]
    return rule


def _denied_by_isolation(pod: dict[str, Any]) -> bool:
    rule = _rule(isolation_spec(APP, NS, ["kube-system"]), "deny-foreign-pods")
    return any(_holds(c, pod) for c in rule["validate"]["deny"]["conditions"]["any"])


def _pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "containers": [{"name": "c", "image": "x"}],
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
        ],
    }
    base.update(spec)
    return {"metadata": {"namespace": "other"}, "spec": base}


@pytest.mark.parametrize(
    ("pod", "denied"),
    [
        (_pod(), False),
        (_pod(nodeSelector={"kubernetes.io/os": "linux"}), False),
        (_pod(nodeSelector={APP_LABEL: "ledger"}), False),
        (_pod(nodeSelector={APP_LABEL: APP}), True),
        (_pod(tolerations=[app_toleration(APP)]), True),
        (_pod(tolerations=[{"operator": "Exists"}]), True),
        (_pod(tolerations=[{"key": APP_LABEL, "operator": "Exists"}]), True),
        (_pod(tolerations=[{"key": "other", "operator": "Exists"}]), False),
        (
            _pod(
                affinity={
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": APP_LABEL, "operator": "In", "values": [APP]}
                                    ]
                                }
                            ]
                        }
                    }
                }
            ),
            True,
        ),
    ],
    ids=[
        "plain",
        "os-selector",
        "other-app-selector",
        "app-selector",
        "app-toleration",
        "tolerates-everything",
        "tolerates-app-key",
        "tolerates-other-key",
        "app-affinity",
    ],
)
def test_isolation_decides_foreign_pods(pod: dict[str, Any], denied: bool) -> None:
    assert _denied_by_isolation(pod) is denied


def test_isolation_exempts_the_app_and_trusted_namespaces_only() -> None:
    spec = isolation_spec(APP, NS, ["kube-system", "monitoring"])
    for rule in spec["rules"]:
        assert rule["exclude"]["any"][0]["resources"]["namespaces"] == [
            NS,
            "kube-system",
            "monitoring",
        ]
        assert rule["validate"]["failureAction"] == "Enforce"


def test_pods_created_bound_to_a_node_are_denied() -> None:
    rule = _rule(isolation_spec(APP, NS, ["kube-system"]), "deny-direct-node-binding")
    assert rule["match"]["any"][0]["resources"]["operations"] == ["CREATE"]
    (condition,) = rule["validate"]["deny"]["conditions"]["any"]
    assert _holds(condition, _pod(nodeName="ip-10-20-144-5.eu-west-1.compute.internal"))
    assert not _holds(condition, _pod())


def _mutate(pod: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Apply the placement policy's mutations the way Kyverno would."""
    pod = copy.deepcopy(pod)
    selector = _rule(spec, "place-on-app-nodes")["mutate"]["patchStrategicMerge"]["spec"]
    pod["spec"].setdefault("nodeSelector", {}).update(selector["nodeSelector"])
    rule = _rule(spec, "tolerate-app-taint")
    if all(_holds(c, pod) for c in rule["preconditions"]["all"]):
        for op in json.loads(rule["mutate"]["patchesJson6902"]):
            assert op["op"] == "add" and op["path"] == "/spec/tolerations/-"
            pod["spec"]["tolerations"].append(op["value"])
    return pod


@pytest.mark.parametrize("app", [APP, "on", "123", "null"])
def test_mutation_places_pods_and_survives_yaml_ambiguous_names(app: str) -> None:
    spec = placement_spec(app, NS)
    once = _mutate(_pod(), spec)
    assert once["spec"]["nodeSelector"][APP_LABEL] == app
    added = [t for t in once["spec"]["tolerations"] if t.get("key") == APP_LABEL]
    assert added == [app_toleration(app)]
    assert isinstance(added[0]["value"], str)
    twice = _mutate(once, spec)
    assert twice == once, "a second admission (e.g. an update) must not add the toleration again"


def test_require_rule_matches_the_mutated_pod() -> None:
    spec = placement_spec(APP, NS)
    pattern = _rule(spec, "require-app-nodes")["validate"]["pattern"]["spec"]
    mutated = _mutate(_pod(), spec)["spec"]
    assert mutated["nodeSelector"][APP_LABEL] == pattern["nodeSelector"][APP_LABEL]
    assert pattern["^(tolerations)"][0] in mutated["tolerations"]


@requires_crd_schemas
def test_policies_validate_and_autogen_is_explicit() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "policies", disable_resource_name_hashes=True)
    placement_policies(chart, APP, NS)
    objects = json.loads(json.dumps(chart.to_json()))
    assert validate_all(objects, "1.34") == {}
    placement, isolation = objects
    assert placement["metadata"]["annotations"] == {AUTOGEN_ANNOTATION: "none"}
    assert "annotations" not in isolation["metadata"], "isolation keeps autogen on"
