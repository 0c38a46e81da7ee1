"""Egress pattern 1 (subnet per app): isolation, allow-list, Kyverno, stability, bad input."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from manifest_validation import requires_crd_schemas, validate_all
from synth import Synth, load_example, normalise, synth_config
from syrupy.assertion import SnapshotAssertion
from template_checks import cfn_lint_findings, only, props, ref_id, resources

from eks_secure.config.loader import parse_config
from eks_secure.deployment import EksSecureDeployment
from eks_secure.egress.allowlist import read_assembly, write_allowlists
from eks_secure.egress.contract import Tenant
from eks_secure.egress.subnet_per_app.construct import SubnetPerApp
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.k8s.kyverno import (
    APP_LABEL,
    isolation_policy_name,
    isolation_spec,
    placement_policy_name,
    placement_spec,
)

pytestmark = pytest.mark.xdist_group("subnet-per-app")

APPS = ("fraud-scoring", "ledger", "payments-api")


def _pattern(s: Synth) -> SubnetPerApp:
    assert isinstance(s.deployment.egress, SubnetPerApp)
    return s.deployment.egress


def tenant_of(s: Synth, app: str) -> Tenant:
    """The tenant called ``app``."""
    (tenant,) = [t for t in s.deployment.tenants if t.name == app]
    return tenant


def app_template(s: Synth, app: str) -> dict[str, Any]:
    """The nested-stack template holding ``app``'s resources."""
    container = _pattern(s).apps[app].container
    assert isinstance(container, cdk.NestedStack)
    return s.templates[container.template_file]


def _subnet_cidrs(template: dict[str, Any], subnet_refs: list[Any]) -> list[str]:
    return [template["Resources"][ref_id(r)]["Properties"]["CidrBlock"] for r in subnet_refs]


def test_synthesis_succeeds_with_cdk_nag_clean(subnet_per_app: Synth) -> None:
    assert subnet_per_app.synth_error is None, subnet_per_app.synth_error
    assert subnet_per_app.nag_errors() == []


def test_each_app_lives_in_its_own_nested_stack(subnet_per_app: Synth) -> None:
    stacks = resources(subnet_per_app.cluster_template, "AWS::CloudFormation::Stack")
    # besides the app stacks, the route-table shards of the app slots (vpc.ROUTE_TABLE_SHARD_SLOTS)
    assert len([s for s in stacks if s.startswith("Egress")]) == len(APPS)
    for app in APPS:
        assert resources(app_template(subnet_per_app, app), "AWS::EKS::Nodegroup")


def test_cfn_lint_has_no_errors_in_any_template(subnet_per_app: Synth) -> None:
    for name, template in subnet_per_app.templates.items():
        assert cfn_lint_findings(template, subnet_per_app.config.region) == [], name


def test_template_snapshots(subnet_per_app: Synth, snapshot: SnapshotAssertion) -> None:
    assert {k: normalise(v) for k, v in subnet_per_app.templates.items()} == snapshot


def test_manifest_snapshots(subnet_per_app: Synth, snapshot: SnapshotAssertion) -> None:
    assert subnet_per_app.manifests == snapshot


@requires_crd_schemas
def test_manifests_validate_including_kyverno_policies(subnet_per_app: Synth) -> None:
    version = subnet_per_app.config.kubernetes_version
    for chart, objects in subnet_per_app.manifests.items():
        assert validate_all(objects, version) == {}, chart


@pytest.mark.parametrize("app", APPS)
def test_node_group_sits_in_the_apps_subnets_only(subnet_per_app: Synth, app: str) -> None:
    template = app_template(subnet_per_app, app)
    nodegroup = only(template, "AWS::EKS::Nodegroup")
    cidrs = sorted(_subnet_cidrs(template, nodegroup["Subnets"]))
    assert cidrs == sorted(subnet_per_app.deployment.plan.app(app).cidrs)
    assert len(cidrs) == len(subnet_per_app.config.availability_zones)
    assert nodegroup["Labels"] == {APP_LABEL: app}
    assert nodegroup["Taints"] == [{"Key": APP_LABEL, "Value": app, "Effect": "NO_SCHEDULE"}]
    assert "RemoteAccess" not in nodegroup
    data = only(template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
        "HttpTokens": "required",
        "InstanceMetadataTags": "disabled",
    }


@pytest.mark.parametrize("app", APPS)
def test_allow_list_equals_the_node_group_subnets(subnet_per_app: Synth, app: str) -> None:
    """The published allow-list is checked against the template, not against the planner."""
    template = app_template(subnet_per_app, app)
    nodegroup_cidrs = set(_subnet_cidrs(template, only(template, "AWS::EKS::Nodegroup")["Subnets"]))
    entries = {e.app: e for e in subnet_per_app.allow_list()}
    assert set(entries) == {*APPS, "control-plane"}
    assert set(entries[app].source_cidrs) == nodegroup_cidrs
    tenant = tenant_of(subnet_per_app, app)
    assert entries[app].destination_cidrs == tenant.destinations
    assert entries[app].ports == tenant.ports


def test_allow_list_files_and_cli(
    subnet_per_app: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    from eks_secure.cli import main

    written = write_allowlists(subnet_per_app.outdir)
    assert sorted(p.name for p in written) == [
        "payments-prod-cluster.allowlist.csv",
        "payments-prod-cluster.allowlist.json",
    ]
    by_suffix = {p.suffix: p for p in written}
    document = json.loads(by_suffix[".json"].read_text())
    assert sorted(e["app"] for e in document["payments-prod-cluster"]) == sorted(
        [*APPS, "control-plane"]
    )
    csv_lines = by_suffix[".csv"].read_text().splitlines()
    assert csv_lines[0] == "app,namespace,pattern,source_cidr,destination_cidr,ports,protocol"
    assert len(csv_lines) == 1 + sum(
        len(e.source_cidrs) * len(e.destination_cidrs)
        for e in read_assembly(subnet_per_app.outdir)["payments-prod-cluster"]
    )
    assert main(["allowlist", str(subnet_per_app.outdir), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == document
    assert main(["allowlist", str(subnet_per_app.outdir)]) == 0
    assert "payments-api" in capsys.readouterr().out
    assert main(["allowlist", str(subnet_per_app.outdir / "missing")]) == 2


@pytest.mark.parametrize("app", APPS)
def test_app_subnets_route_on_prem_through_the_declared_route(
    subnet_per_app: Synth, app: str
) -> None:
    routes = props(app_template(subnet_per_app, app), "AWS::EC2::Route")
    azs = len(subnet_per_app.config.availability_zones)
    assert len(routes) == azs * len(subnet_per_app.config.on_prem_cidrs)
    for route in routes:
        assert route["DestinationCidrBlock"] in subnet_per_app.config.on_prem_cidrs
        assert "TransitGatewayId" in route
    for subnet in props(app_template(subnet_per_app, app), "AWS::EC2::Subnet"):
        assert subnet["MapPublicIpOnLaunch"] is False


def _objects(s: Synth, app: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in s.manifests[f"Tenant{app.title().replace('-', '')}"] if o["kind"] == kind]


@pytest.mark.parametrize("app", APPS)
def test_namespace_is_fenced(subnet_per_app: Synth, app: str) -> None:
    tenant = tenant_of(subnet_per_app, app)
    ns = tenant.namespace
    (namespace,) = _objects(subnet_per_app, app, "Namespace")
    assert namespace["metadata"]["name"] == ns
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {p["metadata"]["name"]: p for p in _objects(subnet_per_app, app, "NetworkPolicy")}
    assert {"default-deny", "allow-dns", "allow-on-prem"} <= set(policies)
    (rule,) = policies["allow-on-prem"]["spec"]["egress"]
    assert sorted(peer["ipBlock"]["cidr"] for peer in rule["to"]) == sorted(tenant.destinations)
    assert sorted(p["port"] for p in rule["ports"]) == sorted(tenant.ports)
    assert _objects(subnet_per_app, app, "ResourceQuota")
    assert _objects(subnet_per_app, app, "LimitRange")
    bindings = {b["metadata"]["name"]: b for b in _objects(subnet_per_app, app, "RoleBinding")}
    assert bindings["eks-secure-app-team"]["subjects"][0]["name"] == f"eks-secure:app:{app}"


@pytest.mark.parametrize("app", APPS)
def test_kyverno_enforces_placement(subnet_per_app: Synth, app: str) -> None:
    """Both policies of the app ship in its chart, built for its own name and namespace.

    What the policies admit and reject is tested in ``test_kyverno_policies.py``.
    """
    namespace = subnet_per_app.config.app(app).namespace
    policies = {p["metadata"]["name"]: p for p in _objects(subnet_per_app, app, "ClusterPolicy")}
    assert set(policies) == {placement_policy_name(app), isolation_policy_name(app)}
    assert policies[placement_policy_name(app)]["spec"] == placement_spec(app, namespace)
    trusted = list(subnet_per_app.config.kyverno.trusted_namespaces)
    assert policies[isolation_policy_name(app)]["spec"] == isolation_spec(app, namespace, trusted)


def test_kyverno_chart_is_pinned_and_private(subnet_per_app: Synth) -> None:
    (chart,) = [
        r["Properties"]
        for r in subnet_per_app.cluster_template["Resources"].values()
        if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"
    ]
    assert chart["Chart"] == "kyverno"
    assert chart["Version"] == subnet_per_app.config.kyverno.chart_version
    repository = json.dumps(chart["Repository"])
    assert '"oci://111111111111.dkr.ecr.eu-west-1.' in repository
    assert repository.endswith('"/eks-secure/kyverno"]]}')


# ------------------------------------------------------------------------------ stability


@pytest.fixture(scope="module")
def changed(subnet_per_app: Synth) -> Synth:
    """The example with ``ledger`` removed, ``risk-engine`` added and the apps reordered."""
    data = load_example("subnet-per-app")
    apps = [a for a in data["apps"] if a["name"] != "ledger"]
    apps.append({"name": "risk-engine", "destinations": ["10.1.0.0/16"]})
    data["apps"] = list(reversed(apps))
    return synth_config(data, nag=False)


@pytest.mark.parametrize("app", ["payments-api", "fraud-scoring"])
def test_other_apps_are_untouched_when_apps_change(
    subnet_per_app: Synth, changed: Synth, app: str
) -> None:
    assert app_template(changed, app) == app_template(subnet_per_app, app)
    assert changed.deployment.plan.app(app).cidrs == subnet_per_app.deployment.plan.app(app).cidrs
    chart = f"Tenant{app.title().replace('-', '')}"
    assert changed.manifests[chart] == subnet_per_app.manifests[chart]
    before = subnet_per_app.cluster_template
    after = changed.cluster_template
    for logical_id, resource in before["Resources"].items():
        if resource["Type"] == "AWS::CloudFormation::Stack" and app.replace("-", "") in logical_id:
            assert after["Resources"][logical_id] == resource
    # the app's allow-list output lives in its nested template (compared above); the cluster
    # stack only publishes the control plane's rows, which no app change touches
    assert before.get("Outputs") == after.get("Outputs")
    assert all("ControlPlane" in key for key in before.get("Outputs", {}))


def test_base_resources_are_untouched_when_apps_change(
    subnet_per_app: Synth, changed: Synth
) -> None:
    before = subnet_per_app.cluster_template["Resources"]
    after = changed.cluster_template["Resources"]
    for logical_id, resource in before.items():
        if resource["Type"] in ("AWS::EKS::Cluster", "AWS::EC2::VPC", "AWS::EKS::Nodegroup"):
            assert after[logical_id] == resource


# ------------------------------------------------------------------------------- bad input


def _errors(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    exc = info.value
    return exc.fields if isinstance(exc, ConfigErrors) else (exc.field,)


def test_duplicate_app_names() -> None:
    data = load_example("subnet-per-app")
    data["apps"].append(copy.deepcopy(data["apps"][0]))
    assert "apps[3].name" in _errors(data)


def test_app_name_not_dns_1123() -> None:
    data = load_example("subnet-per-app")
    data["apps"][1]["name"] = "Ledger_Core"
    assert "apps[1].name" in _errors(data)


def test_subnet_size_that_does_not_fit() -> None:
    data = load_example("subnet-per-app")
    data["vpc_cidr"] = "10.20.0.0/20"
    data["subnets"] = {"app_prefix": 23}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert _errors(data) == ("apps",)
    assert "only 1 fit" in info.value.problem
    assert "subnets.app_prefix" in info.value.fix


def test_too_many_apps_for_the_subnet_quota() -> None:
    data = load_example("subnet-per-app")
    template = {k: v for k, v in data["apps"][0].items() if k != "team_role_arns"}
    data["apps"] = [{**template, "name": f"app-{i:02d}", "slot": i} for i in range(70)]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert "apps" in (
        info.value.fields if isinstance(info.value, ConfigErrors) else (info.value.field,)
    )
    assert "fit" in str(info.value)


def test_inline_app_stacks_beyond_the_resource_limit_is_a_clear_error() -> None:
    data = load_example("subnet-per-app")
    data["app_stacks"] = "inline"
    data["vpc_cidr"] = "10.20.0.0/16"
    data["apps"] = [
        {"name": f"team-{i:02d}", "slot": i, "destinations": ["10.1.0.0/16"]} for i in range(30)
    ]
    config = parse_config(data)
    with pytest.raises(ConfigError) as info:
        EksSecureDeployment.from_config(cdk.App(), config)
    assert info.value.field == "app_stacks"
    assert "nested" in info.value.fix


def test_inline_app_stacks_keep_a_small_deployment_in_one_template() -> None:
    data = load_example("subnet-per-app")
    data["app_stacks"] = "inline"
    deployment = EksSecureDeployment.from_config(cdk.App(), parse_config(data))
    stack = deployment.cluster_stack
    nested = [c for c in stack.node.find_all() if isinstance(c, cdk.NestedStack)]
    assert nested == []


@pytest.mark.parametrize("app", APPS)
def test_placement_policy_exists_before_the_apps_nodes(subnet_per_app: Synth, app: str) -> None:
    template = app_template(subnet_per_app, app)
    (manifest_id,) = resources(template, "Custom::AWSCDK-EKS-KubernetesResource")
    (nodegroup,) = resources(template, "AWS::EKS::Nodegroup").values()
    assert manifest_id in nodegroup["DependsOn"]


def test_every_resource_with_tags_carries_the_cluster_tag_nested_too(subnet_per_app: Synth) -> None:
    checked = 0
    for name, template in subnet_per_app.templates.items():
        for logical_id, resource in template["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if isinstance(tags, list):
                assert {"Key": "eks-secure:cluster", "Value": "payments-prod"} in tags, (
                    name,
                    logical_id,
                )
            elif isinstance(tags, dict):  # map-form tags (node groups, SSM parameters)
                assert tags.get("eks-secure:cluster") == "payments-prod", (name, logical_id)
            else:
                continue
            checked += 1
    nested = [n for n in subnet_per_app.templates if n.endswith(".nested.template.json")]
    assert nested and checked > 60
    for name in nested:
        nodegroups = resources(subnet_per_app.templates[name], "AWS::EKS::Nodegroup")
        for nodegroup in nodegroups.values():
            assert nodegroup["Properties"]["Tags"]["eks-secure:cluster"] == "payments-prod"


def test_app_team_gets_rbac_only_in_its_namespace(subnet_per_app: Synth) -> None:
    template = app_template(subnet_per_app, "payments-api")
    (entry,) = props(template, "AWS::EKS::AccessEntry")
    assert entry["PrincipalArn"] == "arn:aws:iam::111111111111:role/payments-team"
    assert entry["KubernetesGroups"] == ["eks-secure:app:payments-api"]
    # no EKS access policy: AmazonEKSEditPolicy would let the team delete its NetworkPolicies
    assert not entry.get("AccessPolicies")
    for app in ("ledger", "fraud-scoring"):
        assert props(app_template(subnet_per_app, app), "AWS::EKS::AccessEntry") == []


def test_team_role_that_already_has_an_access_entry() -> None:
    data = load_example("subnet-per-app")
    data["apps"][1]["team_role_arns"] = [data["admin_role_arns"][0]]
    assert "apps[1].team_role_arns[0]" in _errors(data)
