"""Egress pattern 3 (Cilium egress gateway): the real chart, CEGPs, allow-list, bad inputs.

The Cilium values are read back from the synthesized template (the HelmChart's ``Values``) and
rendered with the real 1.20.0 chart (``../shared/charts/cilium``), so what is asserted is what
the kubectl handler would install.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helm import Helm, images, requires_charts, unknown_value_paths, values_schema_errors
from manifest_validation import crd_schema_path, requires_crd_schemas, validate_all
from synth import Synth, load_example, normalise
from syrupy.assertion import SnapshotAssertion

from eks_secure.config import parse_config
from eks_secure.config.model import SubnetSizes
from eks_secure.config.plan import plan_deployment
from eks_secure.egress.allowlist import entries_from_template
from eks_secure.egress.cilium import (
    AGENT_NOT_READY_TAINT,
    GATEWAY_POOL,
    VXLAN_PORT,
    CiliumEgress,
    CiliumSettings,
    EgressGroup,
)
from eks_secure.egress.cilium.construct import (
    GROUP_LABEL,
    OPERATOR_ACTIONS,
    check_fixed_ips,
)
from eks_secure.egress.contract import Tenant
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.network.vpc import TIER_TAG
from eks_secure.preflight.flows import FLOWS_METADATA
from eks_secure.registry.mirror import ImageMirror

pytestmark = pytest.mark.xdist_group("cilium")

HOST = "ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com"
"""Stands in for the private endpoint's host name (a deploy-time value)."""


def _all(synth: Synth, rtype: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, lid, r)
        for name, template in sorted(synth.templates.items())
        for lid, r in template.get("Resources", {}).items()
        if r["Type"] == rtype
    ]


def _resolve(value: Any) -> Any:
    """Resolve the values' Fn::Join: pseudo parameters and the endpoint host (Fn::Select)."""
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_resolve(p)) for p in parts)
        if "Fn::Select" in value:
            return HOST
        if value == {"Ref": "AWS::URLSuffix"}:
            return "amazonaws.com"
        return {k: _resolve(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def chart(cilium: Synth) -> dict[str, Any]:
    (found,) = [
        r
        for _, _, r in _all(cilium, "Custom::AWSCDK-EKS-HelmChart")
        if r["Properties"].get("Release") == "cilium"
    ]
    return found


@pytest.fixture(scope="module")
def values(chart: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_resolve(chart["Properties"]["Values"]))
    return data


@pytest.fixture(scope="module")
def rendered(helm: Helm, values: dict[str, Any]) -> list[dict[str, Any]]:
    return helm.render("cilium", values, release="cilium", namespace="kube-system",
                       kubernetes_version="1.34")  # fmt: skip


@pytest.fixture(scope="module")
def cegps(cilium: Synth) -> list[dict[str, Any]]:
    return [o for o in cilium.manifests["CiliumEgress"] if o["kind"] == "CiliumEgressGatewayPolicy"]


# ----------------------------------------------------------------------------- synth


def test_synthesis_succeeds_with_cdk_nag_clean(cilium: Synth) -> None:
    assert cilium.synth_error is None, cilium.synth_error
    assert cilium.nag_errors() == []


def test_template_snapshots(cilium: Synth, snapshot: SnapshotAssertion) -> None:
    for name, template in sorted(cilium.templates.items()):
        assert normalise(template) == snapshot(name=name)


def test_manifest_snapshot(cilium: Synth, snapshot: SnapshotAssertion) -> None:
    assert cilium.manifests == snapshot


@requires_crd_schemas
def test_manifests_validate_against_the_cluster_version(cilium: Synth) -> None:
    for chart_id, objects in cilium.manifests.items():
        assert validate_all(objects, cilium.config.kubernetes_version) == {}, chart_id


# ----------------------------------------------------------------------------- cluster


def test_no_vpc_cni_or_kube_proxy_and_no_self_managed_addons(cilium: Synth) -> None:
    names = {r["Properties"]["AddonName"] for _, _, r in _all(cilium, "AWS::EKS::Addon")}
    assert names == {"coredns", "eks-pod-identity-agent"}
    (cluster,) = _all(cilium, "AWS::EKS::Cluster")
    assert cluster[2]["Properties"]["BootstrapSelfManagedAddons"] is False


def test_every_node_group_is_tainted_until_the_agent_runs(cilium: Synth) -> None:
    taint = {"Key": AGENT_NOT_READY_TAINT.key, "Value": "true", "Effect": "NO_EXECUTE"}
    groups = _all(cilium, "AWS::EKS::Nodegroup")
    assert len(groups) == 1 + 2 * 3  # system nodes + 2 groups x 3 AZs
    for _, lid, r in groups:
        assert taint in r["Properties"]["Taints"], lid


def test_cilium_installs_before_every_node_group_without_waiting(
    cilium: Synth, chart: dict[str, Any]
) -> None:
    props = chart["Properties"]
    assert props.get("Wait") in (None, False) and props.get("Atomic") in (None, False)
    template = cilium.cluster_template["Resources"]
    (chart_id,) = [
        lid
        for lid, r in template.items()
        if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" and r["Properties"]["Release"] == "cilium"
    ]
    assert not set(template[chart_id].get("DependsOn", [])) & {
        lid
        for lid, r in template.items()
        if r["Type"] in ("AWS::EKS::Nodegroup", "AWS::EKS::Addon")
    }
    waiting = [
        lid
        for lid, r in template.items()
        if r["Type"] in ("AWS::EKS::Nodegroup", "AWS::CloudFormation::Stack")
        and chart_id in r.get("DependsOn", [])
    ]
    system = [lid for lid, r in template.items() if r["Type"] == "AWS::EKS::Nodegroup"]
    assert set(system) <= set(waiting)
    groups = [
        lid
        for lid, r in template.items()
        if r["Type"] == "AWS::CloudFormation::Stack" and "EgressGroup" in lid
    ]
    assert len(groups) == 2 and set(groups) <= set(waiting)
    coredns = [lid for lid, r in template.items() if r["Type"] == "AWS::EKS::Addon"]
    assert all(set(system) <= set(template[a]["DependsOn"]) for a in coredns)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_operator_rights_through_pod_identity(cilium: Synth, chart: dict[str, Any]) -> None:
    template = cilium.cluster_template["Resources"]
    (assoc_id, assoc), *rest = [
        (lid, r) for lid, r in template.items() if r["Type"] == "AWS::EKS::PodIdentityAssociation"
    ]
    assert rest == []
    assert assoc["Properties"]["Namespace"] == "kube-system"
    assert assoc["Properties"]["ServiceAccount"] == "cilium-operator"
    role_id = assoc["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    trust = template[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {
        a for s in trust for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    } == {
        "sts:AssumeRole",
        "sts:TagSession",
    }
    policies = [
        r
        for r in template.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert actions == set(OPERATOR_ACTIONS)
    # Writes only on this account's and region's EC2 ARNs, never on "*" (checkov CKV_AWS_111).
    writes = [s for s in statements if s["Resource"] != "*"]
    assert all(
        a.split(":")[1].startswith(("Describe", "Get"))
        for s in statements
        if s["Resource"] == "*"
        for a in _as_list(s["Action"])
    )
    assert {a for s in writes for a in _as_list(s["Action"])} >= {
        "ec2:CreateNetworkInterface",
        "ec2:CreateTags",
    }
    assert assoc_id in chart.get("DependsOn", [])


def test_creator_role_may_pass_stack_roles_to_pod_identity(cilium: Synth) -> None:
    statements = [
        s
        for rtype in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for _, _, r in _all(cilium, rtype)
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "PassStackRolesToPodIdentity"
    ]
    assert statements and statements[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}
    }


def test_vxlan_between_nodes_is_a_declared_flow(chart: dict[str, Any]) -> None:
    flows = chart["Metadata"][FLOWS_METADATA]
    assert {"from": "nodes", "to": "nodes", "port": VXLAN_PORT, "protocol": "udp"} in flows


# ----------------------------------------------------------------------------- chart


def test_values_are_the_required_ones(values: dict[str, Any]) -> None:
    assert values["eni"]["enabled"] is True and values["ipam"] == {"mode": "eni"}
    assert values["routingMode"] == "native"
    assert values["kubeProxyReplacement"] is True
    assert values["k8sServiceHost"] == HOST and values["k8sServicePort"] == 443
    assert values["bpf"]["masquerade"] is True and values["enableIPv4Masquerade"] is True
    assert values["egressGateway"] == {"enabled": True}
    assert "egressMasqueradeInterfaces" not in values  # stale advice (PR #38663)


@requires_charts
def test_values_match_the_charts_schema_and_keys(values: dict[str, Any]) -> None:
    assert values_schema_errors("cilium", values) == []
    assert unknown_value_paths("cilium", values) == []


@requires_charts
def test_rendered_config_map(rendered: list[dict[str, Any]]) -> None:
    (config,) = [
        o for o in rendered if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "cilium-config"
    ]
    data = config["data"]
    assert data["enable-egress-gateway"] == "true"
    assert data["enable-bpf-masquerade"] == "true"
    assert data["enable-ipv4-masquerade"] == "true"
    assert data["kube-proxy-replacement"] == "true"
    assert data["ipam"] == "eni"
    assert data["routing-mode"] == "native"
    assert data["identity-allocation-mode"] == "crd"


@requires_charts
def test_every_rendered_image_comes_from_the_mirror(
    rendered: list[dict[str, Any]], cilium: Synth
) -> None:
    config = cilium.config
    mirror = ImageMirror(f"{config.account}.dkr.ecr.{config.region}.amazonaws.com/eks-secure")
    found = images(rendered)
    assert found and all(mirror.contains(i) and "@sha256:" in i for i in found), found


# ----------------------------------------------------------------------------- policies


@requires_crd_schemas
def test_every_cegp_validates_against_the_crd_schema(cegps: list[dict[str, Any]]) -> None:
    assert crd_schema_path("cilium.io/v2", "CiliumEgressGatewayPolicy") is not None
    assert len(cegps) == 2
    assert validate_all(cegps, "1.34") == {}


def test_cegps_select_each_groups_apps_and_destinations(
    cilium: Synth, cegps: list[dict[str, Any]]
) -> None:
    spec = cilium.deployment.egress_spec
    assert isinstance(spec, CiliumEgress)
    by_name = {a.name: a for a in cilium.config.apps}
    policies = {o["metadata"]["labels"][GROUP_LABEL]: o["spec"] for o in cegps}
    assert set(policies) == {"core-banking", "fraud-scoring"}
    for group, policy in policies.items():
        apps = [a for a in by_name.values() if spec.egress_group_of(a.name) == group]
        assert policy["egressGateway"] == policy["egressGateways"][0]
        zones = [g["nodeSelector"]["matchLabels"]["topology.kubernetes.io/zone"]
                 for g in policy["egressGateways"]]  # fmt: skip
        assert zones == list(cilium.config.availability_zones)
        assert sorted(policy["destinationCIDRs"]) == sorted(
            {d for a in apps for d in a.destinations}
        )
        assert [s["podSelector"]["matchLabels"] for s in policy["selectors"]] == [
            {"io.kubernetes.pod.namespace": a.namespace or a.name, GROUP_LABEL: group}
            for a in sorted(apps, key=lambda a: a.name)
        ]


def test_kyverno_makes_the_group_label_unforgeable(cilium: Synth) -> None:
    policies = [o for o in cilium.manifests["CiliumEgress"] if o["kind"] == "ClusterPolicy"]
    by_group = {p["metadata"]["labels"][GROUP_LABEL]: p["spec"]["rules"] for p in policies}
    rules = {r["name"]: r for r in by_group["core-banking"]}
    assert rules["label-group-pods"]["match"]["any"][0]["resources"]["namespaces"] == [
        "ledger-core",
        "payments-api",
    ]
    assert rules["deny-forged-group-label"]["exclude"] == rules["label-group-pods"]["match"]
    deny = rules["deny-pods-on-gateway-nodes"]
    assert deny["exclude"]["any"][0]["resources"]["namespaces"] == ["kube-system"]
    assert all(r.get("validate", {}).get("failureAction", "Enforce") == "Enforce"
               for r in rules.values())  # fmt: skip


# ----------------------------------------------------------------------------- allow-list


def test_allow_list_is_each_groups_gateway_subnets(cilium: Synth) -> None:
    spec = cilium.deployment.egress_spec
    assert isinstance(spec, CiliumEgress)
    subnets: dict[str, list[str]] = {}
    for _, _, r in _all(cilium, "AWS::EC2::Subnet"):
        tags = {t["Key"]: t["Value"] for t in r["Properties"].get("Tags", [])}
        if tags.get(TIER_TAG) == "egress-gateway":
            subnets.setdefault(tags["eks-secure.io/egress-gateway-group"], []).append(
                r["Properties"]["CidrBlock"]
            )
    # the control plane's rows (every pattern has them) leave from the control-plane subnets
    entries = [e for e in entries_from_template(cilium.cluster_template) if not e.is_control_plane]
    assert {e.app for e in entries} == {a.name for a in cilium.config.apps}
    for entry in entries:
        group = spec.egress_group_of(entry.app)
        assert sorted(entry.source_cidrs) == sorted(subnets[group]), entry.app
        assert entry.pattern == "cilium"


# ----------------------------------------------------------------------------- bad inputs


def _fields(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigErrors) as exc:
        parse_config(data)
    return exc.value.fields


def test_group_without_apps_is_rejected() -> None:
    data = load_example("cilium")
    data["cilium"]["groups"]["treasury"] = {"slot": 3}
    assert "cilium.groups.treasury" in _fields(data)


def test_app_in_two_groups_is_rejected() -> None:
    data = load_example("cilium")
    data["cilium"]["groups"]["analytics"] = {"apps": ["payments-api", "fraud-scoring"]}
    assert "cilium.groups.core-banking.apps[0]" in _fields(data)
    data = load_example("cilium")
    data["apps"][0]["egress_group"] = "other"
    assert "apps[0].egress_group" in _fields(data)


def test_gateway_subnets_that_do_not_fit_are_rejected() -> None:
    data = load_example("cilium")
    data["cilium"]["gateway_prefix"] = 24  # a /22 slot per group in a /22 pool: one group fits
    assert any(f.startswith("cilium.") for f in _fields(data)), _fields(data)


def test_bad_chart_version_and_fixed_ip_syntax_are_rejected() -> None:
    data = load_example("cilium")
    data["cilium"]["chart_version"] = "1.19.6"
    data["cilium"]["groups"]["core-banking"]["fixed_egress_ips"] = ["10.20.1"]
    fields = _fields(data)
    assert "cilium.chart_version" in fields
    assert "cilium.groups.core-banking.fixed_egress_ips[0]" in fields


def test_duplicate_fixed_ips_are_rejected() -> None:
    data = load_example("cilium")
    data["cilium"]["groups"]["core-banking"]["fixed_egress_ips"] = ["10.20.10.10"] * 3
    assert "cilium.groups.core-banking.fixed_egress_ips[1]" in _fields(data)


def _plan_and_spec(ips: tuple[str, ...]) -> tuple[Any, CiliumEgress]:
    spec = CiliumEgress(settings=CiliumSettings(groups={"a": EgressGroup(fixed_egress_ips=ips)}))
    tenants = [Tenant(name="a", destinations=("10.0.0.0/14",))]
    plan = plan_deployment(
        vpc_cidr="10.20.0.0/16",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        on_prem_cidrs=["10.0.0.0/14"],
        subnet_sizes=SubnetSizes(),
        egress=spec,
        tenants=tenants,
    )
    return plan.pool(GATEWAY_POOL).member("a"), spec


def test_fixed_ips_must_be_usable_addresses_of_their_zones_subnet() -> None:
    slot, _ = _plan_and_spec(())
    first, second = slot.cidrs
    import ipaddress

    good = (str(ipaddress.IPv4Network(first)[5]), str(ipaddress.IPv4Network(second)[5]))
    slot, spec = _plan_and_spec(good)
    assert check_fixed_ips(spec, "a", slot) == list(good)
    swapped = (good[1], good[0])
    slot, spec = _plan_and_spec(swapped)
    with pytest.raises(ConfigErrors) as exc:
        check_fixed_ips(spec, "a", slot)
    assert exc.value.fields == (
        "cilium.groups.a.fixed_egress_ips[0]",
        "cilium.groups.a.fixed_egress_ips[1]",
    )
    reserved = (str(ipaddress.IPv4Network(first)[1]), good[1])
    slot, spec = _plan_and_spec(reserved)
    with pytest.raises(ConfigErrors) as exc:
        check_fixed_ips(spec, "a", slot)
    assert exc.value.fields == ("cilium.groups.a.fixed_egress_ips[0]",)
    slot, spec = _plan_and_spec(good[:1])
    with pytest.raises(ConfigError) as one:
        check_fixed_ips(spec, "a", slot)
    assert one.value.field == "cilium.groups.a.fixed_egress_ips"


def test_every_app_is_its_own_group_by_default() -> None:
    spec = CiliumEgress()
    tenants = [Tenant(name=n, destinations=("10.0.0.0/14",)) for n in ("b", "a")]
    assert spec.groups(tenants) == {"a": ["a"], "b": ["b"]}
    assert spec.check(tenants) == []
