"""Tests for the baseline cdk8s chart, the policy builders and the manifest validator."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import cdk8s
import pytest
from manifest_validation import (
    requires_crd_schemas,
    unknown_fields,
    validate_all,
    validate_manifest,
)

from eks_secure.errors import ConfigError
from eks_secure.k8s import (
    IMDS_CIDR,
    BaselineChart,
    allow_egress_to_cidrs,
    custom_resource,
    ip_block,
    synth_manifests,
)
from eks_secure.k8s.baseline import (
    AGGREGATE_TO_APP_TEAM,
    AGGREGATE_TO_VIEW,
    APP_TEAM_ROLE,
    APP_TEAM_WRITE_ROLE,
    rbac_allows,
)

pytestmark = pytest.mark.xdist_group("k8s")

K8S_VERSION = "1.34"
MANAGED = ("payments", "orders")
SYSTEM = "eks-secure-system"
IMDS = ipaddress.ip_network(IMDS_CIDR)

Manifest = dict[str, Any]


def _build(managed: tuple[str, ...] = MANAGED) -> list[Manifest]:
    return synth_manifests(BaselineChart(cdk8s.App(), "baseline", managed_namespaces=managed))


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return _build()


def _of_kind(objs: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objs if o["kind"] == kind]


def _policies(objs: list[Manifest], namespace: str) -> dict[str, Manifest]:
    return {
        o["metadata"]["name"]: o
        for o in _of_kind(objs, "NetworkPolicy")
        if o["metadata"]["namespace"] == namespace
    }


def _ip_blocks(policy: Manifest) -> list[dict[str, Any]]:
    spec = policy["spec"]
    peers = [p for rule in spec.get("egress", []) for p in rule.get("to", [])]
    peers += [p for rule in spec.get("ingress", []) for p in rule.get("from", [])]
    return [p["ipBlock"] for p in peers if "ipBlock" in p]


def _imds_leaks(policy: Manifest) -> list[dict[str, Any]]:
    """ipBlocks that contain IMDS without listing it in ``except``."""
    leaks = []
    for block in _ip_blocks(policy):
        network = ipaddress.ip_network(block["cidr"])
        if (
            network.version == 4
            and IMDS.subnet_of(network)  # type: ignore[arg-type]
            and IMDS_CIDR not in block.get("except", [])
        ):
            leaks.append(block)
    return leaks


def _synth_one(build: Any) -> list[Manifest]:
    chart = cdk8s.Chart(cdk8s.App(), "scratch", disable_resource_name_hashes=True)
    build(chart)
    return synth_manifests(chart)


def test_every_manifest_validates(manifests: list[Manifest]) -> None:
    assert manifests
    assert validate_all(manifests, K8S_VERSION) == {}


def test_namespaces_and_pod_security_labels(manifests: list[Manifest]) -> None:
    namespaces = {
        o["metadata"]["name"]: o["metadata"]["labels"] for o in _of_kind(manifests, "Namespace")
    }
    assert set(namespaces) == {SYSTEM, *MANAGED}
    for labels in namespaces.values():
        assert labels["app.kubernetes.io/managed-by"] == "eks-secure"
        # nothing eks-secure installs runs in the system namespace: restricted everywhere
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("namespace", [SYSTEM, *MANAGED])
def test_default_deny_per_namespace(manifests: list[Manifest], namespace: str) -> None:
    deny = _policies(manifests, namespace)["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("namespace", [SYSTEM, *MANAGED])
def test_dns_allowed(manifests: list[Manifest], namespace: str) -> None:
    spec = _policies(manifests, namespace)["allow-dns"]["spec"]
    assert spec["podSelector"] == {}
    assert spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_no_policy_lets_pods_reach_imds(manifests: list[Manifest]) -> None:
    for policy in _of_kind(manifests, "NetworkPolicy"):
        assert _imds_leaks(policy) == [], policy["metadata"]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "169.254.0.0/16", "169.254.169.254/31"])
def test_allow_egress_to_cidrs_excepts_imds(cidr: str) -> None:
    (policy,) = _synth_one(
        lambda chart: allow_egress_to_cidrs(chart, "payments", "to-onprem", [cidr], [443])
    )
    (block,) = _ip_blocks(policy)
    assert block == {"cidr": cidr, "except": [IMDS_CIDR]}
    assert _imds_leaks(policy) == []
    assert validate_manifest(policy, K8S_VERSION) == []


def test_allow_egress_keeps_imds_with_wider_except_and_skips_unrelated_cidrs() -> None:
    (policy,) = _synth_one(
        lambda chart: allow_egress_to_cidrs(
            chart,
            "payments",
            "to-any",
            ["10.20.0.0/16", "0.0.0.0/0"],
            [443, 8443],
            except_cidrs=["169.254.0.0/16", "10.20.1.0/24"],
        )
    )
    blocks = {b["cidr"]: b.get("except") for b in _ip_blocks(policy)}
    assert blocks == {
        "0.0.0.0/0": ["10.20.1.0/24", "169.254.0.0/16", IMDS_CIDR],
        "10.20.0.0/16": ["10.20.1.0/24"],
    }
    assert validate_manifest(policy, K8S_VERSION) == []


@pytest.mark.parametrize(
    ("cidr", "excepts"),
    [(IMDS_CIDR, ()), ("10.0.0.0/8", ("192.168.0.0/16",)), ("10.0.0.1/8", ())],
)
def test_ip_block_rejects_imds_and_bad_input(cidr: str, excepts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        ip_block(cidr, excepts)


def test_no_binding_grants_cluster_admin_or_system_masters(manifests: list[Manifest]) -> None:
    bindings = _of_kind(manifests, "ClusterRoleBinding") + _of_kind(manifests, "RoleBinding")
    assert bindings
    for binding in bindings:
        assert binding["roleRef"]["name"] != "cluster-admin"
        assert "system:masters" not in json.dumps(binding)
        for subject in binding["subjects"]:
            assert not subject["name"].startswith("system:")


def test_admin_and_viewer_bindings(manifests: list[Manifest]) -> None:
    cluster = {
        b["metadata"]["name"]: (b["roleRef"]["name"], [s["name"] for s in b["subjects"]])
        for b in _of_kind(manifests, "ClusterRoleBinding")
    }
    assert cluster == {
        "eks-secure-viewers-view": ("view", ["eks-secure:viewers"]),
        "eks-secure-admins-view": ("view", ["eks-secure:admins"]),
    }
    namespaced = {
        b["metadata"]["namespace"]: b["roleRef"]
        for b in _of_kind(manifests, "RoleBinding")
        if b["metadata"]["name"] == "eks-secure-admins"
    }
    assert set(namespaced) == set(MANAGED)
    assert all(
        ref["kind"] == "ClusterRole" and ref["name"] == "admin" for ref in namespaced.values()
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"admin_group": "system:masters"},
        {"viewer_group": "system:authenticated"},
        {"managed_namespaces": ["kube-system"]},
        {"managed_namespaces": ["Bad_Name"]},
        {"managed_namespaces": ["a", "a"]},
        {"managed_namespaces": ["eks-secure-system"]},
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        BaselineChart(cdk8s.App(), "baseline", **kwargs)


def test_deterministic(manifests: list[Manifest]) -> None:
    first = json.dumps(_build(), sort_keys=True)
    assert json.dumps(_build(), sort_keys=True) == first
    assert json.dumps(manifests, sort_keys=True) == first
    # The order the namespaces are given in does not matter either.
    assert json.dumps(_build(tuple(reversed(MANAGED))), sort_keys=True) == first
    chart_a = BaselineChart(cdk8s.App(), "baseline", managed_namespaces=MANAGED)
    chart_b = BaselineChart(cdk8s.App(), "baseline", managed_namespaces=MANAGED)
    assert json.dumps(chart_a.to_json()) == json.dumps(chart_b.to_json())


def test_validator_reports_misspelt_builtin_field(manifests: list[Manifest]) -> None:
    bad = json.loads(json.dumps(_of_kind(manifests, "NetworkPolicy")[0]))
    bad["spec"]["podSelectr"] = bad["spec"].pop("podSelector")
    problems = validate_manifest(bad, K8S_VERSION)
    assert problems
    assert any("podSelectr" in p or "podSelector" in p for p in problems), problems


def test_validator_reports_unknown_kind() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    (problem,) = validate_manifest(obj, K8S_VERSION)
    assert "no schema" in problem


def _cluster_policy(spec: dict[str, Any]) -> Manifest:
    (obj,) = _synth_one(
        lambda chart: custom_resource(
            chart,
            "require-labels",
            api_version="kyverno.io/v1",
            kind="ClusterPolicy",
            name="require-labels",
            spec=spec,
        )
    )
    return obj


_GOOD_RULE = {
    "name": "check-team",
    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
    "validate": {
        "message": "label team is required",
        "pattern": {"metadata": {"labels": {"team": "?*"}}},
    },
}


@requires_crd_schemas
def test_custom_resource_synthesizes_and_validates() -> None:
    obj = _cluster_policy({"validationFailureAction": "Enforce", "rules": [_GOOD_RULE]})
    assert obj["spec"]["rules"][0]["name"] == "check-team"
    assert obj["metadata"] == {
        "labels": {"app.kubernetes.io/managed-by": "eks-secure"},
        "name": "require-labels",
    }
    assert validate_manifest(obj, K8S_VERSION) == []


@requires_crd_schemas
def test_validator_reports_bad_custom_resource() -> None:
    wrong_type = _cluster_policy({"rules": {"name": "not-a-list"}})
    problems = validate_manifest(wrong_type, K8S_VERSION)
    assert any(p.startswith("spec.rules") for p in problems), problems

    misspelt = _cluster_policy({"rules": [{**_GOOD_RULE, "validat": _GOOD_RULE["validate"]}]})
    problems = validate_manifest(misspelt, K8S_VERSION)
    assert any(p.startswith("spec.rules[0]") and "validat'" in p for p in problems), problems

    # The schema does not forbid unknown top-level keys: the misspelt-field walk must.
    misspelt_root = _cluster_policy({"rules": [_GOOD_RULE]})
    misspelt_root["sepc"] = misspelt_root["spec"]
    problems = validate_manifest(misspelt_root, K8S_VERSION)
    assert any(p.startswith("sepc: unknown field") for p in problems), problems

    bad_metadata = _cluster_policy({"rules": [_GOOD_RULE]})
    bad_metadata["metadata"]["lables"] = {"a": "b"}
    assert validate_manifest(bad_metadata, K8S_VERSION)


def test_unknown_fields_walk() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
    obj = {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {},
        "spec": {
            "items": [{"name": "a"}, {"nmae": "b"}],
            "free": {"anything": 1},
            "labels": {"any-key": "v"},
            "extra": 1,
        },
    }
    assert unknown_fields(obj, schema) == [
        "spec.extra: unknown field (not declared by the CRD schema)",
        "spec.items[1].nmae: unknown field (not declared by the CRD schema)",
    ]


def test_snapshot(manifests: list[Manifest], snapshot: Any) -> None:
    assert manifests == snapshot


def _team_rules(objs: list[Manifest]) -> list[tuple[str, list[str], list[str]]]:
    """The write rules aggregated into the app-team role from the chart's own ClusterRoles."""
    roles = {o["metadata"]["name"]: o for o in _of_kind(objs, "ClusterRole")}
    selectors = [
        s["matchLabels"] for s in roles[APP_TEAM_ROLE]["aggregationRule"]["clusterRoleSelectors"]
    ]
    assert selectors == [{AGGREGATE_TO_VIEW: "true"}, {AGGREGATE_TO_APP_TEAM: "true"}]
    rules = []
    for role in roles.values():
        labels = role["metadata"].get("labels", {})
        if any(all(labels.get(k) == v for k, v in sel.items()) for sel in selectors):
            for rule in role.get("rules", []):
                for group in rule["apiGroups"]:
                    rules.append((group, rule["resources"], rule["verbs"]))
    assert roles[APP_TEAM_WRITE_ROLE]["metadata"]["labels"][AGGREGATE_TO_APP_TEAM] == "true"
    return rules


@pytest.mark.parametrize(
    ("verb", "group", "resource", "allowed"),
    [
        ("create", "apps", "deployments", True),
        ("patch", "", "configmaps", True),
        ("create", "networking.k8s.io", "ingresses", True),
        ("delete", "networking.k8s.io", "networkpolicies", False),
        ("patch", "networking.k8s.io", "networkpolicies", False),
        ("create", "networking.k8s.io", "networkpolicies", False),
        ("delete", "", "resourcequotas", False),
        ("update", "", "limitranges", False),
        ("create", "rbac.authorization.k8s.io", "rolebindings", False),
        ("delete", "kyverno.io", "policies", False),
        ("impersonate", "", "serviceaccounts", False),
    ],
)
def test_app_team_cannot_remove_its_fence(
    manifests: list[Manifest], verb: str, group: str, resource: str, allowed: bool
) -> None:
    # the view roles aggregated in are read-only (Kubernetes' bootstrap policy), so the write
    # rules eks-secure ships decide every non-read verb
    assert rbac_allows(_team_rules(manifests), verb, group, resource) is allowed


def test_default_service_account_does_not_automount_tokens(manifests: list[Manifest]) -> None:
    accounts = {
        o["metadata"]["namespace"]: o
        for o in _of_kind(manifests, "ServiceAccount")
        if o["metadata"]["name"] == "default"
    }
    assert sorted(accounts) == sorted(MANAGED)
    assert all(a["automountServiceAccountToken"] is False for a in accounts.values())
