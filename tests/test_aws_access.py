"""Apps' opt-in to AWS APIs (``apps[].aws_services``): the fence's NetworkPolicies and the checks.

The manifests are read from ``examples/isolation.yaml`` (fixture ``isolation``: payments-api
lists ``sts``, ``kms`` and ``s3``); the endpoint subnets' CIDRs are read from the template, not
from the address plan the code uses.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml
from manifest_validation import crd_schemas_available, validate_manifest
from synth import Synth

from eks_secure.config import parse_config
from eks_secure.egress.cilium.construct import POD_IDENTITY_HOST_POLICY, pod_identity_host_policy
from eks_secure.egress.contract import Tenant
from eks_secure.egress.fence import camel
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.k8s.tenant import (
    AWS_ENDPOINTS_POLICY,
    AWS_S3_POLICY,
    POD_IDENTITY_POLICY,
    TenantChart,
)
from eks_secure.network.vpc import TIER_TAG

pytestmark = pytest.mark.xdist_group("isolation")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "patterns" / "examples" / "isolation.yaml"
AWS_POLICIES = {POD_IDENTITY_POLICY, AWS_ENDPOINTS_POLICY, AWS_S3_POLICY}


def example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return copy.deepcopy(data)


def network_policies(deployment: Synth, app: str) -> dict[str, dict[str, Any]]:
    chart = deployment.manifests[f"Tenant{camel(app)}"]
    return {obj["metadata"]["name"]: obj["spec"] for obj in chart if obj["kind"] == "NetworkPolicy"}


def egress_of(spec: dict[str, Any]) -> list[tuple[list[str], list[tuple[str, int]]]]:
    return [
        (
            [peer["ipBlock"]["cidr"] for peer in rule["to"]],
            [(p["protocol"], p["port"]) for p in rule["ports"]],
        )
        for rule in spec["egress"]
    ]


def endpoint_subnet_cidrs(deployment: Synth) -> list[str]:
    cidrs = [
        resource["Properties"]["CidrBlock"]
        for template in deployment.templates.values()
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::EC2::Subnet"
        and {"Key": TIER_TAG, "Value": "endpoints"} in resource["Properties"].get("Tags", [])
    ]
    assert len(cidrs) == 3, cidrs
    return sorted(cidrs)


def test_opted_in_app_reaches_pod_identity_endpoints_and_s3(isolation: Synth) -> None:
    policies = network_policies(isolation, "payments-api")
    assert egress_of(policies[POD_IDENTITY_POLICY]) == [(["169.254.170.23/32"], [("TCP", 80)])]
    assert egress_of(policies[AWS_ENDPOINTS_POLICY]) == [
        (endpoint_subnet_cidrs(isolation), [("TCP", 443)])
    ]
    assert egress_of(policies[AWS_S3_POLICY]) == [
        (["3.5.64.0/21", "52.218.0.0/17"], [("TCP", 443)])
    ]
    for name in AWS_POLICIES:
        assert policies[name]["podSelector"] == {}
        assert policies[name]["policyTypes"] == ["Egress"]


def test_interface_endpoints_live_in_the_subnets_the_policy_names(isolation: Synth) -> None:
    """The policy is only right if the endpoints' ENIs are in those subnets."""
    checked = 0
    for template in isolation.templates.values():
        resources = template.get("Resources", {})
        endpoint_subnets = {
            logical
            for logical, r in resources.items()
            if r["Type"] == "AWS::EC2::Subnet"
            and {"Key": TIER_TAG, "Value": "endpoints"} in r["Properties"].get("Tags", [])
        }
        for r in resources.values():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                assert {s["Ref"] for s in props["SubnetIds"]} == endpoint_subnets
                checked += 1
    assert checked >= 14


def test_apps_without_aws_services_get_no_aws_egress(isolation: Synth) -> None:
    others = [a.name for a in isolation.config.apps if not a.aws_services]
    assert others
    for app in others:
        assert not AWS_POLICIES & set(network_policies(isolation, app))


def test_aws_manifests_validate(isolation: Synth) -> None:
    chart = isolation.manifests["TenantPaymentsApi"]
    aws = [o for o in chart if o["metadata"]["name"] in AWS_POLICIES]
    assert len(aws) == 3
    for obj in aws:
        assert validate_manifest(obj, "1.34") == []


def test_tenant_chart_without_interface_services_has_no_endpoint_policy() -> None:
    tenant = Tenant(
        name="reader", destinations=["10.1.0.0/16"], aws_services=["s3"], s3_cidrs=["3.5.64.0/21"]
    )
    chart = TenantChart(cdk8s.App(), "t", tenant=tenant, admin_group="admins")
    names = {o["metadata"]["name"] for o in chart.to_json() if o["kind"] == "NetworkPolicy"}
    assert {POD_IDENTITY_POLICY, AWS_S3_POLICY} <= names
    assert AWS_ENDPOINTS_POLICY not in names


@pytest.mark.skipif(not crd_schemas_available(), reason="../shared/crd-schemas is absent")
def test_cilium_pod_identity_policy_validates() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "c")
    pod_identity_host_policy(chart, "payments")
    (obj,) = chart.to_json()
    assert obj["metadata"] == {
        "name": POD_IDENTITY_HOST_POLICY,
        "namespace": "payments",
        "labels": obj["metadata"]["labels"],
    }
    assert obj["spec"]["egress"] == [
        {"toEntities": ["host"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}
    ]
    assert validate_manifest(obj, "1.34") == []


# -- bad input, field-named ----------------------------------------------------------------------


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigErrors) as info:
        parse_config(data)
    return {e.field: e.problem for e in info.value.errors}


def with_app0(**keys: Any) -> dict[str, Any]:
    data = example()
    data["apps"][0].update(keys)
    return data


@pytest.mark.parametrize(
    ("keys", "field", "words"),
    [
        ({"aws_services": ["sqs"]}, "apps[0].aws_services[0]", "no interface endpoint for 'sqs'"),
        ({"aws_services": ["sts", "sts"]}, "apps[0].aws_services[1]", "listed twice"),
        ({"aws_services": ["s3"], "s3_cidrs": []}, "apps[0].s3_cidrs", "lists s3"),
        (
            {"aws_services": ["sts"], "s3_cidrs": ["3.5.64.0/21"]},
            "apps[0].s3_cidrs",
            "does not list s3",
        ),
        (
            {"s3_cidrs": ["10.1.0.0/24", "3.5.64.0/21"]},
            "apps[0].s3_cidrs[0]",
            "overlaps 10.0.0.0/14",
        ),
        ({"s3_cidrs": ["10.20.0.0/24"]}, "apps[0].s3_cidrs[0]", "overlaps 10.20.0.0/16"),
        ({"s3_cidrs": ["192.168.0.0/24"]}, "apps[0].s3_cidrs[0]", "private address space"),
    ],
)
def test_bad_aws_access_is_field_named(keys: dict[str, Any], field: str, words: str) -> None:
    found = errors(with_app0(**keys))
    assert field in found, found
    assert words in found[field]


def test_reused_endpoints_cannot_be_named() -> None:
    data = example()
    data["existing_vpc"] = {"vpc_id": "vpc-0123456789abcdef0"}
    found = errors(data)
    assert "existing_vpc with create_endpoints false" in found["apps[0].aws_services"]
    data["existing_vpc"]["create_endpoints"] = True
    parse_config(data)  # the deployment's own endpoints: fine


def test_istio_rejects_aws_services() -> None:
    data = yaml.safe_load((REPO / "patterns" / "examples" / "istio.yaml").read_text())
    data["apps"][0]["aws_services"] = ["sts"]
    assert "REGISTRY_ONLY" in errors(data)["apps[0].aws_services"]


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"aws_services": "sts"}, "Tenant.aws_services"),
        ({"aws_services": ["STS!"]}, "Tenant.aws_services[0]"),
        ({"aws_services": ["s3"]}, "Tenant.s3_cidrs"),
        ({"aws_services": ["s3"], "s3_cidrs": ["3.5.64.1/21"]}, "Tenant.s3_cidrs[0]"),
    ],
)
def test_tenant_checks_its_aws_access(keys: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Tenant(name="a", destinations=["10.1.0.0/16"], **keys)
    assert field in {info.value.field, *(e.field for e in getattr(info.value, "errors", ()))}


def test_preflight_traces_s3_through_the_gateway_and_skips_the_node_local_agent(
    isolation: Synth,
) -> None:
    from eks_secure.preflight import check_network
    from eks_secure.preflight.assembly import load

    model = check_network.model_of(load(isolation.outdir))
    flows = [f for f in model.flows if f.reason == "app payments-api"]
    assert {f.destination.service for f in flows} == {"s3", None}
    s3 = [f for f in flows if f.destination.service == "s3"]
    assert s3
    assert {f.port for f in s3} == {443}
    cidrs = {str(f.destination.cidr) for f in flows if f.destination.cidr is not None}
    assert set(endpoint_subnet_cidrs(isolation)) <= cidrs
    assert "169.254.170.23/32" not in cidrs
