"""The internal-load-balancer policy, evaluated on sample Services (seed 001).

Kyverno's order is reproduced offline: the mutate rule runs first (its ``+()`` anchors add a key
only when absent), then each validate rule on the mutated Service, honouring match, exclude and
preconditions. Conditions are JMESPath, evaluated by ``tests/kyverno_eval.py``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import cdk8s
import pytest
from kyverno_eval import all_any
from manifest_validation import requires_crd_schemas, validate_all

from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.k8s.load_balancers import (
    INTERNAL_ANNOTATION,
    POLICY_NAME,
    SCHEME_ANNOTATION,
    load_balancer_policy,
    load_balancer_spec,
)

EXPOSED = "public-web"


def _service(
    namespace: str = "payments",
    type: str = "LoadBalancer",
    annotations: dict[str, str] | None = None,
    ranges: list[str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "ports": [{"port": 443}]}
    if ranges is not None:
        spec["loadBalancerSourceRanges"] = ranges
    metadata: dict[str, Any] = {"name": "web", "namespace": namespace}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def _applies(rule: dict[str, Any], obj: dict[str, Any]) -> bool:
    namespace = obj["metadata"]["namespace"]

    def matches(block: dict[str, Any]) -> bool:
        return any(
            obj["kind"] in r["resources"]["kinds"]
            and namespace in r["resources"].get("namespaces", [namespace])
            for r in block["any"]
        )

    if not matches(rule["match"]) or ("exclude" in rule and matches(rule["exclude"])):
        return False
    return all_any(rule.get("preconditions", {}), obj)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        add_if_absent = key.startswith("+(") and key.endswith(")")
        name = key[2:-1] if add_if_absent else key
        if isinstance(value, dict):
            _merge(target.setdefault(name, {}), value)
        elif not add_if_absent or name not in target:
            target[name] = value


def admit(obj: dict[str, Any], spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The Service as Kyverno would store it, and the names of the rules that deny it."""
    obj = copy.deepcopy(obj)
    for rule in spec["rules"]:
        if "mutate" in rule and _applies(rule, obj):
            _merge(obj, rule["mutate"]["patchStrategicMerge"])
    denied = [
        rule["name"]
        for rule in spec["rules"]
        if "validate" in rule
        and _applies(rule, obj)
        and all_any(rule["validate"]["deny"]["conditions"], obj)
    ]
    return obj, denied


SPEC = load_balancer_spec([EXPOSED])
FACING = {SCHEME_ANNOTATION: "internet-facing"}


def test_a_plain_load_balancer_is_made_internal() -> None:
    mutated, denied = admit(_service(), SPEC)
    assert denied == []
    assert mutated["metadata"]["annotations"] == {
        SCHEME_ANNOTATION: "internal",
        INTERNAL_ANNOTATION: "true",
    }


@pytest.mark.parametrize(
    ("service", "denied"),
    [
        (_service(annotations={SCHEME_ANNOTATION: "internal"}), []),
        (_service(annotations={INTERNAL_ANNOTATION: "true"}), []),
        (_service(type="ClusterIP", annotations=FACING), []),
        (_service(type="NodePort"), []),
        (
            _service(annotations=FACING, ranges=["203.0.113.0/24"]),
            ["internet-facing-needs-permission"],
        ),
        (
            _service(annotations={INTERNAL_ANNOTATION: "false"}),
            ["internet-facing-needs-permission", "internet-facing-needs-source-ranges"],
        ),
        (_service(EXPOSED, annotations=FACING, ranges=["203.0.113.0/24"]), []),
        (_service(EXPOSED, annotations=FACING), ["internet-facing-needs-source-ranges"]),
        (_service(EXPOSED, annotations=FACING, ranges=[]), ["internet-facing-needs-source-ranges"]),
        (
            _service(EXPOSED, annotations=FACING, ranges=["203.0.113.0/24", "0.0.0.0/0"]),
            ["internet-facing-needs-source-ranges"],
        ),
        (
            _service(EXPOSED, annotations=FACING, ranges=["::/0"]),
            ["internet-facing-needs-source-ranges"],
        ),
        (_service(EXPOSED), []),
    ],
    ids=[
        "internal-scheme",
        "legacy-internal",
        "cluster-ip-ignored",
        "node-port-ignored",
        "internet-facing-not-allowed",
        "legacy-public-not-allowed",
        "allowed-with-ranges",
        "allowed-without-ranges",
        "allowed-empty-ranges",
        "allowed-open-ipv4",
        "allowed-open-ipv6",
        "allowed-namespace-still-internal-by-default",
    ],
)
def test_policy_decides_sample_services(service: dict[str, Any], denied: list[str]) -> None:
    assert admit(service, SPEC)[1] == denied


def test_without_exposed_namespaces_no_namespace_is_exempt() -> None:
    spec = load_balancer_spec()
    rule = next(r for r in spec["rules"] if r["name"] == "internet-facing-needs-permission")
    assert "exclude" not in rule
    service = _service(EXPOSED, annotations=FACING, ranges=["203.0.113.0/24"])
    assert admit(service, spec)[1] == ["internet-facing-needs-permission"]


def test_every_validate_rule_enforces() -> None:
    actions = [r["validate"]["failureAction"] for r in SPEC["rules"] if "validate" in r]
    assert actions == ["Enforce", "Enforce"]


@requires_crd_schemas
def test_policy_validates_against_the_kyverno_schema() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "lb", disable_resource_name_hashes=True)
    load_balancer_policy(chart, internet_facing_namespaces=[EXPOSED])
    objects = json.loads(json.dumps(chart.to_json()))
    assert validate_all(objects, "1.34") == {}
    assert objects[0]["metadata"]["name"] == POLICY_NAME


@pytest.mark.parametrize(
    ("namespaces", "internal_only", "field"),
    [
        (["kube-system"], True, "f[0]"),
        (["kyverno"], True, "f[0]"),
        (["Web"], True, "f[0]"),
        (["web", "web"], True, "f[1]"),
        (["web"], False, "f"),
    ],
)
def test_bad_namespaces_are_config_errors(
    namespaces: list[str], internal_only: bool, field: str
) -> None:
    from eks_secure import rules

    problems = rules.internet_facing_namespaces(namespaces, internal_only, "f")
    assert [p.field for p in problems] == [field]
    assert all(isinstance(p, ConfigError) and p.fix for p in problems)


def test_config_names_the_yaml_path() -> None:
    from synth import load_example

    from eks_secure.config.loader import parse_config

    data = load_example("base")
    data["isolation"] = {"load_balancers": {"internet_facing_namespaces": ["kube-public"]}}
    with pytest.raises(ConfigErrors) as info:
        parse_config(data)
    fields = [e.field for e in info.value.errors]
    assert fields == ["isolation.load_balancers.internet_facing_namespaces[0]"]
