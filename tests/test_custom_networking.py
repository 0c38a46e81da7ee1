"""Custom networking (``isolation.custom_networking``): config, plan, example, preflight."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from typing import Any

import pytest
from manifest_validation import requires_crd_schemas, validate_all
from synth import EXAMPLES, Synth, load_example, preflight

from eks_secure import rules
from eks_secure.config.loader import parse_config
from eks_secure.config.plan import plan_for
from eks_secure.errors import ConfigError
from eks_secure.isolation.custom_networking import (
    CUSTOM_NETWORK_ENV,
    EXCLUDE_SNAT,
    POD_MEMBER,
    POD_POOL,
    egress_sources,
    node_max_pods,
    pod_addresses_per_node,
)
from eks_secure.network.lock import lock_changes, lock_path, read_lock
from eks_secure.preflight.check_capacity import check_pod_subnets
from eks_secure.preflight.report import Report

pytestmark = pytest.mark.xdist_group("isolation-pods")

FIELD = "isolation.custom_networking"


def _errors(data: dict[str, Any], *, plan: bool = False) -> list[ConfigError]:
    with pytest.raises(ConfigError) as info:
        config = parse_config(copy.deepcopy(data))
        if plan:
            plan_for(config)
    exc = info.value
    return list(getattr(exc, "errors", [exc]))


def _with_pattern(pattern: str, **extra: Any) -> dict[str, Any]:
    data = load_example("isolation-pods")
    data["pattern"] = pattern
    data["isolation"] = {"custom_networking": {}}
    for app in data["apps"]:
        app.pop("nodes", None)
    data.update(extra)
    return data


# -- config and plan ---------------------------------------------------------------------------


def test_pod_pool_comes_from_the_secondary_cidr() -> None:
    config = parse_config(load_example("isolation-pods"))
    plan = plan_for(config)
    member = plan.pool(POD_POOL).member(POD_MEMBER)
    assert plan.secondary_cidr == "100.64.0.0/16"
    assert [s.az for s in member.subnets] == list(config.availability_zones)
    assert all(ipaddress.IPv4Network(c).prefixlen == 20 for c in member.cidrs)
    assert all(
        ipaddress.IPv4Network(c).subnet_of(ipaddress.IPv4Network("100.64.0.0/16"))
        for c in member.cidrs
    )


def test_pod_pool_in_the_primary_cidr_without_a_secondary() -> None:
    data = load_example("isolation-pods")
    data["isolation"]["custom_networking"] = {"pod_subnet_prefix": 22}
    plan = plan_for(parse_config(data))
    vpc = ipaddress.IPv4Network(data["vpc_cidr"])
    assert plan.secondary_cidr is None
    member = plan.pool(POD_POOL).member(POD_MEMBER)
    assert all(ipaddress.IPv4Network(c).subnet_of(vpc) for c in member.cidrs)


@pytest.mark.parametrize(
    "pod_pool", [{"secondary_cidr": "100.64.0.0/16"}, {"pod_subnet_prefix": 22}]
)
def test_pod_subnets_stay_put_when_apps_change(pod_pool: dict[str, Any]) -> None:
    data = load_example("isolation-pods")
    data["isolation"]["custom_networking"] = pod_pool
    if "secondary_cidr" in pod_pool:  # the example's own lock
        lock = read_lock(lock_path(EXAMPLES / "isolation-pods.yaml"))
    else:
        lock = plan_for(parse_config(data)).lock
    assert lock is not None and lock[POD_POOL] == {POD_MEMBER: 0}
    before = plan_for(parse_config(data, lock=lock), lock).pool(POD_POOL).member(POD_MEMBER)
    changed = copy.deepcopy(data)
    changed["apps"] = [a for a in changed["apps"] if a["name"] != "ledger"]
    changed["apps"].append({"name": "billing", "destinations": data["apps"][0]["destinations"]})
    plan = plan_for(parse_config(changed, lock=lock), lock)
    after = plan.pool(POD_POOL).member(POD_MEMBER)
    assert after.cidrs == before.cidrs
    assert [c for c in lock_changes(lock, plan.lock) if POD_POOL in c] == []


def test_egress_sources_are_the_pod_subnets_only_where_pods_are_not_snatted() -> None:
    nodes, pods = ("10.20.1.0/24",), ("100.64.0.0/20",)
    onprem, other = "10.1.0.0/16", "172.16.0.0/16"
    # SNAT to the node (the VPC CNI's default): the node subnets, custom networking or not
    assert egress_sources(nodes, pods, {}, [onprem]) == nodes
    assert egress_sources(nodes, (), {EXCLUDE_SNAT: onprem}, [onprem]) == nodes
    # not SNATed: the pod's own address, from the pod subnets
    assert egress_sources(nodes, pods, {EXCLUDE_SNAT: f" {onprem}"}, [onprem]) == pods
    assert egress_sources(nodes, pods, {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}, [other]) == pods
    # some destinations each way: both
    assert egress_sources(nodes, pods, {EXCLUDE_SNAT: "10.1.2.0/24"}, [onprem, other]) == (
        *nodes,
        *pods,
    )


@pytest.mark.parametrize(
    ("pattern", "text"),
    [("private-nat", "AWS_VPC_K8S_CNI_EXTERNALSNAT"), ("cilium", "replaces the VPC CNI")],
)
def test_custom_networking_is_refused_by_patterns_it_cannot_serve(pattern: str, text: str) -> None:
    data = yaml_reference(pattern)
    data.setdefault("isolation", {})["custom_networking"] = {}
    errors = _errors(data, plan=True)
    assert [e.field for e in errors] == [FIELD]
    assert text in errors[0].problem


def yaml_reference(pattern: str) -> dict[str, Any]:
    """A pattern's example config with the isolation features it can take."""
    data = load_example(pattern)
    data.pop("isolation", None)
    return data


@pytest.mark.parametrize("pattern", ["subnet-per-app", "istio"])
def test_custom_networking_is_accepted_where_pods_are_snatted(pattern: str) -> None:
    data = yaml_reference(pattern)
    data["isolation"] = {"custom_networking": {"secondary_cidr": "100.64.0.0/16"}}
    assert plan_for(parse_config(data)).has_pool(POD_POOL)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"pod_subnet_prefix": 12}, f"{FIELD}.pod_subnet_prefix"),
        ({"max_pods": 4}, f"{FIELD}.max_pods"),
        ({"max_pods": "20"}, f"{FIELD}.max_pods"),
        ({"secondary_cidr": "100.64.0.1/16"}, f"{FIELD}.secondary_cidr"),
        ({"pods": 3}, f"{FIELD}.pods"),
    ],
)
def test_bad_custom_networking_keys_are_field_named_errors(
    settings: dict[str, Any], field: str
) -> None:
    data = load_example("isolation-pods")
    data["isolation"]["custom_networking"] = settings
    assert field in [e.field for e in _errors(data)]


def test_secondary_cidr_overlapping_the_vpc_is_an_error_at_planning() -> None:
    data = load_example("isolation-pods")
    data["isolation"]["custom_networking"] = {"secondary_cidr": "10.20.0.0/16"}
    assert [e.field for e in _errors(data, plan=True)] == [f"{FIELD}.secondary_cidr"]


def test_pod_subnet_capacity_names_the_node_group_and_the_prefix() -> None:
    demand = [("system_nodes", 2 * 20), ("apps[0].nodes", 5 * 20)]
    assert rules.pod_subnet_capacity(demand, 24, field="apps[0].nodes", prefix_field="p") == []
    (problem,) = rules.pod_subnet_capacity(demand, 26, field="apps[0].nodes", prefix_field="p")
    assert problem.field == "apps[0].nodes" and "= 140" in problem.problem
    assert "set p to 24 or less" in problem.fix


def test_node_max_pods_is_the_fewest_of_the_types_or_the_override() -> None:
    assert node_max_pods(["m7i.large", "m7i.xlarge"], pod_eni=False, field="n") == 20
    assert node_max_pods(["t3.large"], pod_eni=False, field="n", override=17) == 17
    with pytest.raises(ConfigError) as info:
        node_max_pods(["m7i.large", "z9.large"], pod_eni=False, field="apps[1].nodes")
    assert info.value.field == "apps[1].nodes.instance_types[1]"


def test_pod_addresses_leave_the_primary_eni_out() -> None:
    assert pod_addresses_per_node("m7i.large") == 2 * 10  # 3 ENIs x 10 IPv4
    assert pod_addresses_per_node("no.such-type") is None


# -- the synthesized example -------------------------------------------------------------------


def _resources(deployment: Synth) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, template in sorted(deployment.templates.items()):
        for logical_id, resource in template.get("Resources", {}).items():
            found[f"{name}/{logical_id}"] = resource
    return found


def test_example_vpc_cni_has_custom_networking_before_every_node(isolation_pods: Synth) -> None:
    cluster = isolation_pods.cluster_template["Resources"]
    (addon_id,) = [
        k
        for k, r in cluster.items()
        if r["Type"] == "AWS::EKS::Addon" and r["Properties"]["AddonName"] == "vpc-cni"
    ]
    env = json.loads(cluster[addon_id]["Properties"]["ConfigurationValues"])["env"]
    assert {k: env[k] for k in CUSTOM_NETWORK_ENV} == CUSTOM_NETWORK_ENV
    assert "AWS_VPC_K8S_CNI_EXTERNALSNAT" not in env  # SNAT to the node stays on
    assert not [d for d in cluster[addon_id].get("DependsOn", []) if "Nodegroup" in d]
    (eni_id,) = [k for k in cluster if "EniConfigs" in k and k.startswith("EksCustomNetworking")]
    assert addon_id in cluster[eni_id]["DependsOn"]
    # every node group waits for the ENIConfigs: directly, or through its nested stack
    nodegroups = [k for k, r in cluster.items() if r["Type"] == "AWS::EKS::Nodegroup"]
    assert nodegroups and all(eni_id in cluster[k]["DependsOn"] for k in nodegroups)
    nested = [
        (k, r)
        for k, r in cluster.items()
        if r["Type"] == "AWS::CloudFormation::Stack" and k.startswith("EgressApp")
    ]
    assert len(nested) == 3 and all(eni_id in r["DependsOn"] for _, r in nested)


@requires_crd_schemas
def test_example_ships_one_valid_eni_config_per_az(isolation_pods: Synth) -> None:
    configs = isolation_pods.manifests["EniConfigs"]
    assert [c["metadata"]["name"] for c in configs] == list(
        isolation_pods.config.availability_zones
    )
    assert validate_all(configs, "1.34") == {}
    rendered = json.dumps(isolation_pods.cluster_template)
    assert "ClusterSecurityGroupId" in rendered  # the ENIs carry the cluster security group


def test_example_launch_templates_set_max_pods(isolation_pods: Synth) -> None:
    deployment = isolation_pods.deployment
    expected = {
        ng.launch_template.node.path: node_max_pods(
            [str(t) for t in _types(ng)], pod_eni=True, field="n"
        )
        for ng in deployment.secure_cluster.nodegroups
    }
    assert len(expected) == 4  # system nodes and the three apps'
    found = {}
    for key, resource in _resources(isolation_pods).items():
        if resource["Type"] != "AWS::EC2::LaunchTemplate":
            continue
        data = resource["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        assert "Content-Type: application/node.eks.aws" in data
        assert "kind: NodeConfig" in data
        found[key] = int(re.search(r"maxPods: (\d+)", data).group(1))  # type: ignore[union-attr]
    assert sorted(found.values()) == sorted(expected.values())
    # with pod ENIs: .large (3 ENIs, 10 IPv4) (3 - 2) x 9 + 2; .xlarge (4, 15) (4 - 2) x 14 + 2
    assert sorted(set(found.values())) == [11, 30]


def _types(nodegroup: Any) -> list[str]:
    cfn = nodegroup.nodegroup.node.default_child
    return list(cfn.instance_types)


def test_example_allow_list_sources_stay_the_app_node_subnets(isolation_pods: Synth) -> None:
    plan = isolation_pods.deployment.plan
    pods = ipaddress.IPv4Network(plan.pool(POD_POOL).member(POD_MEMBER).block)
    entries = [e for e in isolation_pods.allow_list() if e.app != "control-plane"]
    assert sorted(e.app for e in entries) == ["fraud-scoring", "ledger", "payments-api"]
    for entry in entries:
        assert entry.source_cidrs == plan.app(entry.app).cidrs
        assert not any(ipaddress.IPv4Network(c).overlaps(pods) for c in entry.source_cidrs)


def test_example_control_plane_reaches_webhook_pods_in_the_secondary_cidr(
    isolation_pods: Synth,
) -> None:
    cp = isolation_pods.deployment.secure_cluster.control_plane_egress
    props = isolation_pods.cluster_template["Resources"][
        isolation_pods.deployment.get_logical_id(cp.security_group.node.default_child)
    ]["Properties"]
    block = isolation_pods.deployment.plan.pool(POD_POOL).member(POD_MEMBER).block
    egress = {r["FromPort"] for r in props["SecurityGroupEgress"] if r.get("CidrIp") == block}
    assert egress == set(cp.webhook_ports)
    ingress = {r["FromPort"] for r in props["SecurityGroupIngress"] if r.get("CidrIp") == block}
    assert ingress == {443}


def test_example_preflight_passes_and_counts_the_pod_subnets(isolation_pods: Synth) -> None:
    report = preflight(isolation_pods)
    assert report.ok, report
    # every node group's subnets (four groups in three AZs), then one pod subnet per AZ
    assert report.checked["capacity"] == 4 * 3 + 3


def test_preflight_reports_a_pod_subnet_too_small() -> None:
    report = Report()
    stack: Any = type("S", (), {"name": "stack"})()
    check_pod_subnets({"a": (stack, "Pods1", "100.64.0.0/26")}, [("ng", 40), ("ng2", 40)], report)
    (problem,) = report.problems
    assert "= 80" in problem.problem and "pod_subnet_prefix" in problem.fix
    ok = Report()
    check_pod_subnets({"a": (stack, "Pods1", "100.64.0.0/25")}, [("ng", 40), ("ng2", 40)], ok)
    assert ok.problems == []
