"""ReleaseFenceChart and the ingress builders it uses (cdk8s only, no CDK app)."""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest
from manifest_validation import validate_all

from eks_secure.errors import ConfigError
from eks_secure.k8s import policies
from eks_secure.k8s.release_fence import (
    EKS_DEFAULT_KUBERNETES_SERVICE_IPS,
    MetricsAccess,
    ReleaseFenceChart,
    WebhookServer,
)

CONTROL_PLANE = ["10.20.5.0/27", "10.20.5.32/27"]
WEBHOOK = WebhookServer(name="server", pod_labels={"app": "server"}, port=9443)


def _fence(**kwargs: Any) -> list[dict[str, Any]]:
    args: dict[str, Any] = {
        "namespace": "platform",
        "control_plane_cidrs": CONTROL_PLANE,
        "webhooks": [WEBHOOK],
    }
    args.update(kwargs)
    chart = ReleaseFenceChart(cdk8s.App(), "fence", **args)
    objs: list[dict[str, Any]] = chart.to_json()
    return objs


def _policy(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (policy,) = [o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == name]
    return policy


def test_fence_objects_validate() -> None:
    objs = _fence(metrics=MetricsAccess(port=8000, from_namespaces=("monitoring",)))
    assert validate_all(objs, "1.34") == {}
    names = {o["metadata"]["name"] for o in objs if o["kind"] == "NetworkPolicy"}
    assert names == {
        "default-deny",
        "allow-dns",
        "allow-api-server",
        "allow-webhook-server",
        "allow-metrics",
    }


def test_webhook_ingress_only_from_the_control_plane_on_its_port() -> None:
    spec = _policy(_fence(), "allow-webhook-server")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "server"}}
    (rule,) = spec["ingress"]
    assert [p["ipBlock"]["cidr"] for p in rule["from"]] == CONTROL_PLANE
    assert rule["ports"] == [{"port": 9443, "protocol": "TCP"}]
    assert spec["policyTypes"] == ["Ingress"]


def test_api_server_egress_covers_subnets_and_service_ips() -> None:
    (rule,) = _policy(_fence(), "allow-api-server")["spec"]["egress"]
    assert {p["ipBlock"]["cidr"] for p in rule["to"]} == {
        *CONTROL_PLANE,
        *EKS_DEFAULT_KUBERNETES_SERVICE_IPS,
    }
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]


def test_metrics_stay_closed_by_default() -> None:
    assert not [o for o in _fence() if o["metadata"]["name"] == "allow-metrics"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"namespace": "kube-system"}, "ReleaseFenceChart.namespace"),
        ({"namespace": "Bad"}, "ReleaseFenceChart.namespace"),
        ({"pod_security": "strict"}, "ReleaseFenceChart.pod_security"),
        ({"control_plane_cidrs": []}, "ReleaseFenceChart.control_plane_cidrs"),
        ({"webhooks": [WEBHOOK, WEBHOOK]}, "ReleaseFenceChart.webhooks"),
    ],
)
def test_bad_fence_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        _fence(**kwargs)
    assert info.value.field == field


def test_ingress_builders_refuse_open_rules() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "c")
    with pytest.raises(ValueError, match="ports"):
        policies.allow_ingress_from_cidrs(chart, "ns", "a", ["10.0.0.0/8"], [])
    with pytest.raises(ValueError, match="cidrs"):
        policies.allow_ingress_from_cidrs(chart, "ns", "b", [], [443])
    with pytest.raises(ValueError, match="from_namespaces"):
        policies.allow_ingress_from_namespaces(chart, "ns", "c", [], [443])
    with pytest.raises(ValueError, match="ports"):
        policies.allow_ingress_from_namespaces(chart, "ns", "d", ["monitoring"], [])


def test_ingress_from_a_wide_block_excepts_imds() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "c")
    policies.allow_ingress_from_cidrs(chart, "ns", "wide", ["0.0.0.0/0"], [443])
    (obj,) = chart.to_json()
    (peer,) = obj["spec"]["ingress"][0]["from"]
    assert peer["ipBlock"] == {"cidr": "0.0.0.0/0", "except": [policies.IMDS_CIDR]}
