"""Config loader: the examples load, defaults apply, and every bad input names its exact field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import Field

from eks_secure.config import load_config, parse_config, plan_for
from eks_secure.config.base import ConfigModel
from eks_secure.config.model import (
    PLACEHOLDER_ACCOUNT,
    PLACEHOLDER_REGION,
    NodeGroupSize,
    OnPremRoute,
    SubnetSizes,
    VpnGateway,
)
from eks_secure.config.reference import render_reference, update_reference
from eks_secure.config.schema import SCHEMA_FILE, config_schema, render_schema
from eks_secure.config.types import Int, Text
from eks_secure.egress.dedicated.spec import DedicatedNodesApp
from eks_secure.egress.private_nat import NatGroupPin, PrivateNatEgress
from eks_secure.egress.registry import register, unregister
from eks_secure.egress.spec import EgressSpec
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.network.lock import lock_changes, lock_path, read_lock, render_lock

EXAMPLES = Path(__file__).resolve().parent.parent / "patterns" / "examples"

Config = dict[str, Any]


def example(name: str) -> Config:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def minimal() -> Config:
    return {
        "cluster_name": "demo",
        "vpc_cidr": "10.20.0.0/16",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "kubernetes_version": "1.34",
        "admin_role_arns": ["arn:aws:iam::111111111111:role/admin"],
    }


def errors_of(data: object, pattern: str | None = None) -> ConfigErrors:
    with pytest.raises(ConfigErrors) as info:
        parse_config(data, pattern=pattern)
    return info.value


# -- valid configs -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["base", "subnet-per-app", "private-nat"])
def test_examples_load_and_plan(name: str) -> None:
    config = load_config(EXAMPLES / f"{name}.yaml")
    assert config.pattern == name
    assert config.cluster_name == "payments-prod"
    assert config.availability_zones == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert config.on_prem_route == OnPremRoute(transit_gateway_id="tgw-0a1b2c3d4e5f67890")
    plan = plan_for(config)
    assert {a.name for a in plan.apps} == {a.name for a in config.apps}


def test_base_example_contents() -> None:
    config = load_config(str(EXAMPLES / "base.yaml"))
    assert config.apps == ()
    assert config.on_prem_cidrs == ("10.0.0.0/14", "172.16.0.0/16")
    assert config.admin_role_arns == ("arn:aws:iam::111111111111:role/platform-admin",)
    assert config.viewer_role_arns == ("arn:aws:iam::111111111111:role/platform-viewer",)
    (oidc,) = config.control_plane_egress
    assert (oidc.name, oidc.cidr, oidc.port) == ("corp-oidc", "10.1.2.0/24", 443)


def test_subnet_per_app_example_apps() -> None:
    config = load_config(EXAMPLES / "subnet-per-app.yaml")
    assert [a.name for a in config.apps] == ["payments-api", "ledger", "fraud-scoring"]
    ledger = config.app("ledger")
    assert ledger.namespace == "ledger-core"
    assert ledger.ports == (5432,)
    assert ledger.options.nodes.disk_size_gib == 100
    assert config.app("payments-api").namespace == "payments-api"
    fraud = config.app("fraud-scoring")
    assert fraud.ports == (443,)
    assert fraud.options.nodes.instance_types == ("c7i.xlarge", "c6i.xlarge")


def test_private_nat_example_groups() -> None:
    config = load_config(EXAMPLES / "private-nat.yaml")
    egress = config.egress
    assert isinstance(egress, PrivateNatEgress)
    assert tuple(egress.groups(config.tenants)) == ("analytics", "core-banking")
    plan = plan_for(config)
    assert {g.name for g in plan.pool("nat").members} == {"analytics", "core-banking"}


def test_defaults_applied() -> None:
    config = parse_config(minimal())
    assert config.pattern == "base"
    assert config.account == PLACEHOLDER_ACCOUNT
    assert config.region == PLACEHOLDER_REGION
    assert config.on_prem_cidrs == ()
    assert config.on_prem_route is None
    assert config.apps == ()
    assert config.viewer_role_arns == ()
    assert config.deployer_role_arns == ()
    assert config.break_glass_trusted_arns == ()
    assert config.control_plane_egress == ()
    assert config.subnet_sizes == SubnetSizes()
    assert config.system_nodes == NodeGroupSize()
    assert config.existing_vpc is None
    assert config.addon_versions == ()
    assert config.tags == ()


def test_app_defaults() -> None:
    data = example("subnet-per-app")
    data["apps"] = [{"name": "billing"}]
    (app,) = parse_config(data).apps
    assert app.namespace == "billing"
    assert app.destinations == ()
    assert app.ports == (443,)
    assert type(app.options) is DedicatedNodesApp  # subnet-per-app has no nat_group
    assert app.options.slot is None
    assert app.options.nodes == NodeGroupSize()


def test_optional_sections_converted() -> None:
    data = minimal()
    data.update(
        {
            "tags": {"team": "platform", "cost-center": "1234"},
            "addon_versions": {"vpc-cni": "v1.20.1-eksbuild.1", "coredns": "v1.12.2-eksbuild.4"},
            "subnets": {"app_prefix": 25},
            "system_nodes": {"min_size": 3, "max_size": 5, "desired_size": 3},
            "existing_vpc": {"vpc_id": "vpc-0123456789abcdef0", "create_endpoints": True},
            "kyverno": {"chart_repository": "oci://registry.corp/charts", "chart_version": "3.5.2"},
            "on_prem_cidrs": ["192.168.0.0/16"],
            "on_prem_route": {"vpn_gateway": {"amazon_side_asn": 64600}},
            "deployer_role_arns": ["arn:aws:iam::222222222222:root"],
            "break_glass_trusted_arns": ["arn:aws:iam::111111111111:user/alice"],
        }
    )
    config = parse_config(data)
    assert config.tags == (("cost-center", "1234"), ("team", "platform"))
    assert config.addon_versions == (
        ("coredns", "v1.12.2-eksbuild.4"),
        ("vpc-cni", "v1.20.1-eksbuild.1"),
    )
    assert config.subnet_sizes == SubnetSizes(app=25)
    assert (config.system_nodes.min_size, config.system_nodes.max_size) == (3, 5)
    assert config.existing_vpc is not None and config.existing_vpc.create_endpoints
    assert config.kyverno.chart_repository == "oci://registry.corp/charts"
    assert config.on_prem_route == OnPremRoute(vpn_gateway=VpnGateway(amazon_side_asn=64600))
    assert config.on_prem_route.vpn_gateway_asn == 64600
    assert config.on_prem_route.kind == "vpn-gateway"


def test_empty_vpn_gateway_mapping() -> None:
    data = example("base")
    data["on_prem_route"] = {"vpn_gateway": {}}
    assert parse_config(data).on_prem_route == OnPremRoute(vpn_gateway=VpnGateway())


def test_pattern_override() -> None:
    # every pattern the brief names is registered (PLANNED is empty)
    from eks_secure.egress.registry import PLANNED, pattern_names

    assert PLANNED == {}
    assert set(pattern_names()) == {"base", "subnet-per-app", "private-nat", "cilium", "istio"}
    # cilium is registered: the subnet-per-app example's node groups are not cilium app keys
    with pytest.raises(ConfigErrors) as info:
        load_config(EXAMPLES / "subnet-per-app.yaml", pattern="cilium")
    assert "apps[0].nodes" in info.value.fields
    # base takes no apps, so overriding the subnet-per-app example to base is an error
    with pytest.raises(ConfigErrors) as info:
        load_config(EXAMPLES / "subnet-per-app.yaml", pattern="base")
    assert info.value.fields == ("apps",)
    # the override wins over the file's `pattern:`
    with pytest.raises(ConfigErrors) as info:
        load_config(EXAMPLES / "private-nat.yaml", pattern="subnet-per-app")
    assert set(info.value.fields) == {f"apps[{i}].nat_group" for i in range(3)}


def test_unknown_pattern_override() -> None:
    exc = errors_of(example("base"), pattern="subnet_per_app")
    assert exc.fields == ("pattern",)
    assert "subnet-per-app" in str(exc)


def test_collects_independent_errors() -> None:
    data = example("subnet-per-app")
    data["cluster_name"] = "Payments"
    data["vpc_cidr"] = "10.20.0.1/16"
    data["apps"][2]["ports"] = [0]
    exc = errors_of(data)
    assert set(exc.fields) == {"cluster_name", "vpc_cidr", "apps[2].ports[0]"}
    assert "3 configuration problems" in str(exc)


# -- file errors -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.field == "config"
    assert "Fix:" in str(info.value)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cluster_name: [demo\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "config"
    assert "line" in info.value.problem


def test_yaml_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("cluster_name: a\ncluster_name: b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "config"
    assert "duplicate key 'cluster_name'" in info.value.problem


@pytest.mark.parametrize("data", [None, [], "text"])
def test_document_not_a_mapping(data: object) -> None:
    assert errors_of(data).fields == ("config",)


# -- invalid configs: (mutation, expected field) -------------------------------------------------

Mutation = Callable[[Config], None]


def setter(path: str, value: object) -> Mutation:
    """Set a dotted path such as ``apps.1.name`` (list indices as numbers)."""

    def mutate(data: Config) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def deleter(path: str) -> Mutation:
    def mutate(data: Config) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(data: Config) -> None:
        for m in mutations:
            m(data)

    return mutate


def many_apps(count: int) -> Mutation:
    def mutate(data: Config) -> None:
        data["apps"] = [{"name": f"app-{i}", "slot": i} for i in range(count)]

    return mutate


def rename_key(old: str, new: str) -> Mutation:
    def mutate(data: Config) -> None:
        data[new] = data.pop(old)

    return mutate


BASE = "base"
SPA = "subnet-per-app"
NAT = "private-nat"

INVALID: list[tuple[str, str, Mutation, str]] = [
    # (id, example, mutation, expected field)
    ("unknown top-level key", BASE, rename_key("vpc_cidr", "vpc_cdir"), "vpc_cdir"),
    ("unknown app key", SPA, setter("apps.1.colour", "blue"), "apps[1].colour"),
    ("missing cluster_name", BASE, deleter("cluster_name"), "cluster_name"),
    ("uppercase cluster_name", BASE, setter("cluster_name", "Payments"), "cluster_name"),
    ("long cluster_name", BASE, setter("cluster_name", "a" * 41), "cluster_name"),
    ("missing vpc_cidr", BASE, deleter("vpc_cidr"), "vpc_cidr"),
    ("vpc host bits", BASE, setter("vpc_cidr", "10.20.0.1/16"), "vpc_cidr"),
    ("vpc not a cidr", BASE, setter("vpc_cidr", "10.20.0.0"), "vpc_cidr"),
    ("vpc too large", BASE, setter("vpc_cidr", "10.0.0.0/12"), "vpc_cidr"),
    ("vpc public", BASE, setter("vpc_cidr", "8.8.0.0/16"), "vpc_cidr"),
    ("vpc too small for tiers", BASE, setter("vpc_cidr", "10.20.0.0/23"), "vpc_cidr"),
    ("vpc too small for apps", SPA, setter("vpc_cidr", "10.20.0.0/21"), "apps"),
    (
        "too many apps for the vpc",
        SPA,
        chain(setter("vpc_cidr", "10.20.0.0/20"), many_apps(9)),
        "apps",
    ),
    ("slot clash", SPA, chain(setter("apps.0.slot", 7), setter("apps.2.slot", 7)), "apps[2].slot"),
    ("slot out of range", SPA, setter("apps.0.slot", 100000), "apps[0].slot"),
    ("negative slot", SPA, setter("apps.0.slot", -1), "apps[0].slot"),
    ("on-prem overlaps vpc", BASE, setter("on_prem_cidrs.1", "10.20.128.0/17"), "on_prem_cidrs[1]"),
    (
        "on-prem overlap each other",
        BASE,
        setter("on_prem_cidrs.1", "10.2.0.0/16"),
        "on_prem_cidrs[1]",
    ),
    ("on-prem host bits", BASE, setter("on_prem_cidrs.0", "10.0.0.1/14"), "on_prem_cidrs[0]"),
    ("missing on-prem route", BASE, deleter("on_prem_route"), "on_prem_route"),
    (
        "route without on-prem cidrs",
        BASE,
        chain(deleter("on_prem_cidrs"), deleter("control_plane_egress")),
        "on_prem_route",
    ),
    (
        "bad tgw id",
        BASE,
        setter("on_prem_route.transit_gateway_id", "tgw-XYZ"),
        "on_prem_route.transit_gateway_id",
    ),
    ("both tgw and vpn", BASE, setter("on_prem_route.vpn_gateway", {}), "on_prem_route"),
    ("neither tgw nor vpn", BASE, setter("on_prem_route", {}), "on_prem_route"),
    (
        "bad asn",
        BASE,
        setter("on_prem_route", {"vpn_gateway": {"amazon_side_asn": 7224}}),
        "on_prem_route.vpn_gateway.amazon_side_asn",
    ),
    (
        "unknown route key",
        BASE,
        setter("on_prem_route.direct_connect", True),
        "on_prem_route.direct_connect",
    ),
    (
        "bad admin arn",
        BASE,
        setter("admin_role_arns.0", "arn:aws:iam::111:role/x"),
        "admin_role_arns[0]",
    ),
    (
        "admin arn is a user",
        BASE,
        setter("admin_role_arns.0", "arn:aws:iam::111111111111:user/bob"),
        "admin_role_arns[0]",
    ),
    ("empty admin list", BASE, setter("admin_role_arns", []), "admin_role_arns"),
    ("missing admin list", BASE, deleter("admin_role_arns"), "admin_role_arns"),
    (
        "viewer is admin",
        BASE,
        setter("viewer_role_arns.0", "arn:aws:iam::111111111111:role/platform-admin"),
        "viewer_role_arns[0]",
    ),
    (
        "bad break-glass arn",
        BASE,
        setter("break_glass_trusted_arns", ["111111111111"]),
        "break_glass_trusted_arns[0]",
    ),
    (
        "break-glass trusts an account root",
        BASE,
        setter("break_glass_trusted_arns", ["arn:aws:iam::111111111111:root"]),
        "break_glass_trusted_arns[0]",
    ),
    (
        "break-glass session tag with a reserved key",
        BASE,
        setter("break_glass_session_tag", {"key": "aws:mfa", "value": "true"}),
        "break_glass_session_tag.key",
    ),
    (
        "break-glass session tag without a value",
        BASE,
        setter("break_glass_session_tag", {"key": "mfa"}),
        "break_glass_session_tag.value",
    ),
    (
        "break-glass alert topic is not an SNS ARN",
        BASE,
        setter("break_glass_alert_topic_arn", "arn:aws:sqs:eu-west-1:111111111111:q"),
        "break_glass_alert_topic_arn",
    ),
    ("one AZ", BASE, setter("availability_zones", ["eu-west-1a"]), "availability_zones"),
    (
        "AZ of wrong region",
        BASE,
        setter("availability_zones.2", "us-east-1c"),
        "availability_zones[2]",
    ),
    ("duplicate AZ", BASE, setter("availability_zones.2", "eu-west-1a"), "availability_zones[2]"),
    ("bad region", BASE, setter("region", "Europe"), "region"),
    ("account as number", BASE, setter("account", 111111111111), "account"),
    ("short account", BASE, setter("account", "12345"), "account"),
    ("unsupported k8s version", BASE, setter("kubernetes_version", "1.28"), "kubernetes_version"),
    ("float k8s version", BASE, setter("kubernetes_version", 1.3), "kubernetes_version"),
    ("unknown pattern in file", BASE, setter("pattern", "mesh"), "pattern"),
    ("duplicate app names", SPA, setter("apps.2.name", "payments-api"), "apps[2].name"),
    ("duplicate namespaces", SPA, setter("apps.2.namespace", "ledger-core"), "apps[2].namespace"),
    ("uppercase app name", SPA, setter("apps.0.name", "Payments"), "apps[0].name"),
    ("underscore app name", SPA, setter("apps.0.name", "payments_api"), "apps[0].name"),
    ("missing app name", SPA, deleter("apps.0.name"), "apps[0].name"),
    ("reserved app name", SPA, setter("apps.0.name", "control-plane"), "apps[0].name"),
    ("reserved app prefix", SPA, setter("apps.1.name", "control-plane-oidc"), "apps[1].name"),
    ("reserved namespace", SPA, setter("apps.1.namespace", "kube-system"), "apps[1].namespace"),
    ("kube- namespace", SPA, setter("apps.1.namespace", "kube-extra"), "apps[1].namespace"),
    ("default namespace", SPA, setter("apps.1.namespace", "default"), "apps[1].namespace"),
    (
        "destination outside on-prem",
        SPA,
        setter("apps.1.destinations.1", "192.168.1.0/24"),
        "apps[1].destinations[1]",
    ),
    ("port out of range", SPA, setter("apps.1.ports", [5432, 70000]), "apps[1].ports[1]"),
    ("port zero", SPA, setter("apps.0.ports.0", 0), "apps[0].ports[0]"),
    ("port as bool", SPA, setter("apps.0.ports.0", True), "apps[0].ports[0]"),
    ("nat_group with wrong pattern", SPA, setter("apps.0.nat_group", "core"), "apps[0].nat_group"),
    ("private-nat app without nat_group", NAT, deleter("apps.2.nat_group"), "apps[2].nat_group"),
    (
        "private_nat key with wrong pattern",
        SPA,
        setter("private_nat", {"secondary_cidr": "100.64.0.0/22"}),
        "private_nat",
    ),
    ("subnet-per-app with no apps", SPA, setter("apps", []), "apps"),
    (
        "subnet-per-app without on-prem",
        SPA,
        chain(
            deleter("on_prem_cidrs"),
            deleter("on_prem_route"),
            deleter("control_plane_egress"),
            *(deleter(f"apps.{i}.destinations") for i in range(3)),
        ),
        "on_prem_cidrs",
    ),
    ("private-nat with no apps", NAT, deleter("apps"), "apps"),
    ("base with apps", BASE, setter("apps", [{"name": "x"}]), "apps"),
    (
        "secondary overlaps vpc",
        NAT,
        setter("private_nat", {"secondary_cidr": "10.20.64.0/22"}),
        "private_nat.secondary_cidr",
    ),
    (
        "secondary overlaps on-prem",
        NAT,
        setter("private_nat", {"secondary_cidr": "172.16.4.0/22"}),
        "private_nat.secondary_cidr",
    ),
    (
        "secondary public",
        NAT,
        setter("private_nat", {"secondary_cidr": "8.8.8.0/24"}),
        "private_nat.secondary_cidr",
    ),
    (
        "secondary too small for a group",
        NAT,
        setter("private_nat", {"secondary_cidr": "100.64.0.0/28"}),
        "private_nat.secondary_cidr",
    ),
    (
        "nat group slot clash",
        NAT,
        setter("private_nat", {"groups": {"analytics": {"slot": 0}, "core-banking": {"slot": 0}}}),
        "private_nat.groups.core-banking.slot",
    ),
    (
        "nat group pin of unknown group",
        NAT,
        setter("private_nat", {"groups": {"analytic": {"slot": 0}}}),
        "private_nat.groups.analytic",
    ),
    ("bad subnet prefix", BASE, setter("subnets", {"app_prefix": 29}), "subnets.app_prefix"),
    (
        "subnet prefix as string",
        BASE,
        setter("subnets", {"nat_prefix": "28"}),
        "subnets.nat_prefix",
    ),
    ("unknown subnet key", BASE, setter("subnets", {"app_prefx": 26}), "subnets.app_prefx"),
    (
        "min > max nodes",
        BASE,
        setter("system_nodes", {"min_size": 5, "max_size": 3}),
        "system_nodes.min_size",
    ),
    (
        "desired outside bounds",
        SPA,
        setter("apps.0.nodes.desired_size", 9),
        "apps[0].nodes.desired_size",
    ),
    (
        "bad instance type",
        SPA,
        setter("apps.0.nodes.instance_types", ["large"]),
        "apps[0].nodes.instance_types[0]",
    ),
    (
        "string true for a boolean",
        BASE,
        setter("existing_vpc", {"vpc_id": "vpc-0123456789abcdef0", "create_endpoints": "true"}),
        "existing_vpc.create_endpoints",
    ),
    ("bad vpc id", BASE, setter("existing_vpc", {"vpc_id": "vpc-1"}), "existing_vpc.vpc_id"),
    (
        "control-plane destination with no route",
        BASE,
        setter("control_plane_egress.0.cidr", "192.168.10.0/24"),
        "control_plane_egress[0].cidr",
    ),
    (
        "control-plane destination without on_prem_route",
        BASE,
        deleter("on_prem_route"),
        "control_plane_egress[0].cidr",
    ),
    (
        "control-plane port out of range",
        BASE,
        setter("control_plane_egress.0.port", 0),
        "control_plane_egress[0].port",
    ),
    (
        "control-plane bad name",
        BASE,
        setter("control_plane_egress.0.name", "Corp OIDC"),
        "control_plane_egress[0].name",
    ),
    (
        "unknown add-on",
        BASE,
        setter("addon_versions", {"vpc_cni": "v1.20.1-eksbuild.1"}),
        "addon_versions.vpc_cni",
    ),
    (
        "bad add-on version",
        BASE,
        setter("addon_versions", {"coredns": "1.12"}),
        "addon_versions.coredns",
    ),
    (
        "kyverno http repo",
        SPA,
        setter("kyverno", {"chart_repository": "http://charts.corp"}),
        "kyverno.chart_repository",
    ),
    (
        "kyverno bad version",
        SPA,
        setter("kyverno", {"chart_version": "v3"}),
        "kyverno.chart_version",
    ),
    ("aws: tag", BASE, setter("tags", {"aws:owner": "x"}), "tags.aws:owner"),
    ("tag value not a string", BASE, setter("tags", {"cost-center": 1234}), "tags.cost-center"),
    ("apps not a list", SPA, setter("apps", {"name": "x"}), "apps"),
    (
        "API client network with no route",
        BASE,
        setter("api_access_cidrs", ["192.168.50.0/24"]),
        "api_access_cidrs[0]",
    ),
    (
        "API open to every network",
        BASE,
        setter("api_access_cidrs", ["0.0.0.0/0"]),
        "api_access_cidrs[0]",
    ),
    (
        "kyverno image registry with scheme",
        SPA,
        setter("kyverno", {"image_registry": "https://ghcr.io"}),
        "kyverno.image_registry",
    ),
    ("unknown app stack mode", SPA, setter("app_stacks", "auto"), "app_stacks"),
    (
        "already attached without an adopted VPC",
        BASE,
        setter("on_prem_route.already_attached", True),
        "on_prem_route.already_attached",
    ),
    (
        "existing VGW without an adopted VPC",
        BASE,
        setter("on_prem_route", {"vpn_gateway": {"id": "vgw-0a1b2c3d4e5f67890"}}),
        "on_prem_route.vpn_gateway.id",
    ),
    (
        "bad VGW id",
        BASE,
        setter("on_prem_route", {"vpn_gateway": {"id": "vgw-zz"}}),
        "on_prem_route.vpn_gateway.id",
    ),
    (
        "app names differ only in hyphens",
        SPA,
        setter("apps.2.name", "payment-sapi"),
        "apps[2].name",
    ),
    (
        "break-glass role listed as admin",
        BASE,
        setter(
            "admin_role_arns",
            ["arn:aws:iam::111111111111:role/eks-secure/payments-prod-break-glass"],
        ),
        "admin_role_arns[0]",
    ),
    (
        "two roles with one name",
        BASE,
        setter("viewer_role_arns", ["arn:aws:iam::222222222222:role/platform-admin"]),
        "viewer_role_arns[0]",
    ),
    (
        "trusting an app namespace",
        SPA,
        setter("kyverno", {"trusted_namespaces": ["kube-system", "ledger-core"]}),
        "kyverno.trusted_namespaces[1]",
    ),
    (
        "app in the kyverno namespace",
        SPA,
        setter("apps.1.namespace", "kyverno"),
        "apps[1].namespace",
    ),
]


@pytest.mark.parametrize(
    ("source", "mutate", "expected_field"),
    [pytest.param(src, m, f, id=name) for name, src, m, f in INVALID],
)
def test_invalid_config(source: str, mutate: Mutation, expected_field: str) -> None:
    data = copy.deepcopy(example(source))
    mutate(data)
    exc = errors_of(data)
    assert expected_field in exc.fields, str(exc)
    for error in exc.errors:
        assert "Fix:" in str(error)
        assert error.fix


def test_unknown_key_suggests_closest() -> None:
    data = example("base")
    data["vpc_cdir"] = data.pop("vpc_cidr")
    exc = errors_of(data)
    (unknown,) = (e for e in exc.errors if e.field == "vpc_cdir")
    assert "did you mean 'vpc_cidr'" in unknown.fix
    assert "availability_zones" in unknown.fix  # lists the allowed keys


def test_float_version_hints_quoting() -> None:
    data = example("base")
    data["kubernetes_version"] = 1.3
    (error,) = errors_of(data).errors
    assert "quote" in error.fix


def test_slot_clash_lists_free_slots() -> None:
    data = example("subnet-per-app")
    data["apps"][0]["slot"] = 3
    data["apps"][1]["slot"] = 3
    (error,) = errors_of(data).errors
    assert error.field == "apps[1].slot"
    assert "free:" in error.fix


def test_explicit_slot_is_kept() -> None:
    data = example("subnet-per-app")
    data["apps"][0]["slot"] = 5
    config = parse_config(data)
    assert config.apps[0].options.slot == 5
    assert plan_for(config).app("payments-api").slot == 5


def test_nat_group_pin_honoured() -> None:
    data = example("private-nat")
    data["private_nat"] = {"secondary_cidr": "100.64.0.0/22", "groups": {"analytics": {"slot": 3}}}
    config = parse_config(data)
    assert config.pattern_settings.groups == {"analytics": NatGroupPin(slot=3)}
    plan = plan_for(config)
    assert plan.pool("nat").member("analytics").slot == 3
    assert plan.secondary_cidr == "100.64.0.0/22"


# -- format version ------------------------------------------------------------------------------


def test_format_keys_are_optional() -> None:
    data = minimal()
    assert "apiVersion" not in data
    config = parse_config(data)
    assert (config.api_version, config.kind) == ("eks-secure.io/v1alpha1", "Deployment")
    for name in ("base", "subnet-per-app", "private-nat"):
        raw = example(name)
        assert (raw["apiVersion"], raw["kind"]) == ("eks-secure.io/v1alpha1", "Deployment")


@pytest.mark.parametrize(
    ("key", "value"),
    [("apiVersion", "eks-secure.io/v2"), ("apiVersion", 1), ("kind", "ClusterConfig")],
)
def test_unknown_format_version_rejected(key: str, value: object) -> None:
    data = example("subnet-per-app")
    data[key] = value
    data["cluster_name"] = "Bad Name"  # not reported: an unknown format stops validation
    exc = errors_of(data)
    assert exc.fields == (key,)
    supported = "eks-secure.io/v1alpha1" if key == "apiVersion" else "Deployment"
    assert supported in exc.errors[0].fix


# -- how problems are reported -------------------------------------------------------------------


def test_cross_field_rules_run_when_their_inputs_are_valid() -> None:
    data = example("base")
    data["cluster_name"] = "Payments"  # invalid, unrelated to the rules below
    data["on_prem_cidrs"][1] = "10.20.128.0/17"  # overlaps vpc_cidr: needs vpc_cidr valid
    data["availability_zones"][2] = "us-east-1c"  # not of region: needs region and AZs valid
    data["viewer_role_arns"] = data["admin_role_arns"]  # needs admins valid
    exc = errors_of(data)
    assert set(exc.fields) == {
        "cluster_name",
        "on_prem_cidrs[1]",
        "availability_zones[2]",
        "viewer_role_arns[0]",
    }
    # ... and a rule whose input is invalid stays silent instead of guessing
    data = example("base")
    data["vpc_cidr"] = "10.20.0.1/16"
    data["on_prem_cidrs"][1] = "10.20.128.0/17"
    assert errors_of(data).fields == ("vpc_cidr",)


def test_yaml_types_are_not_coerced() -> None:
    data = example("base")
    data["subnets"] = {"nat_prefix": "28"}
    data["account"] = 111111111111
    data["existing_vpc"] = {"vpc_id": "vpc-0123456789abcdef0", "create_endpoints": "yes"}
    errors = {e.field: e for e in errors_of(data).errors}
    assert "must be a whole number" in errors["subnets.nat_prefix"].problem
    assert "16..28 without quotes" in errors["subnets.nat_prefix"].fix
    assert "quote it so YAML reads it as text" in errors["account"].problem
    assert "must be a boolean" in errors["existing_vpc.create_endpoints"].problem


def test_errors_follow_the_key_order() -> None:
    data = example("subnet-per-app")
    data["apps"][0]["ports"] = [0]
    data["cluster_name"] = "X"
    data["vpc_cidr"] = "8.8.0.0/16"
    assert errors_of(data).fields == ("cluster_name", "vpc_cidr", "apps[0].ports[0]")


def test_models_built_from_python_name_their_class() -> None:
    with pytest.raises(ConfigErrors) as info:
        NodeGroupSize(min_size=5, max_size=3)
    assert info.value.fields == ("NodeGroupSize.min_size",)
    with pytest.raises(ConfigErrors) as info:
        OnPremRoute()
    assert info.value.fields == ("OnPremRoute",)
    with pytest.raises(ConfigErrors) as info:
        NodeGroupSize(disk_size_gib="100")  # type: ignore[arg-type]
    assert info.value.fields == ("NodeGroupSize.disk_size_gib",)
    assert SubnetSizes(app=25).app == 25  # Python names work besides the YAML keys


def test_yaml_keys_only() -> None:
    """The YAML reads `subnets`/`app_prefix` only, never the Python attribute names."""
    data = example("base")
    data["subnet_sizes"] = {"app": 25}
    assert errors_of(data).fields == ("subnet_sizes",)


# -- patterns come from the registry -------------------------------------------------------------


class _DummySettings(ConfigModel):
    """Section ``dummy``."""

    colour: Text = "blue"
    """A colour."""


class _DummyApp(ConfigModel):
    """Per-app keys of the dummy pattern."""

    tier: Int = Field(default=1, ge=1, le=3)
    """A tier, 1-3."""


class _DummyEgress(EgressSpec):
    name = "dummy-test"
    title = "a throw-away pattern of the config tests"
    settings_key = "dummy"
    settings_model = _DummySettings
    app_model = _DummyApp

    def __init__(self, settings: Any, apps: dict[str, Any]) -> None:
        self.settings = settings
        self.app_options = apps

    @classmethod
    def from_config(cls, settings: Any, apps: Any) -> EgressSpec:
        return cls(settings, {name: opts for name, _, opts in apps})

    def build(self, scope: Any, id: str, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def dummy_pattern() -> Any:
    register(_DummyEgress)
    try:
        yield _DummyEgress
    finally:
        unregister(_DummyEgress.name)


def test_a_registered_pattern_brings_its_keys(dummy_pattern: Any) -> None:
    data = example("subnet-per-app")
    data["pattern"] = "dummy-test"
    data["dummy"] = {"colour": "green"}
    for app in data["apps"]:
        del app["nodes"]
    data["apps"][1]["tier"] = 3
    config = parse_config(data)
    egress = config.egress
    assert isinstance(egress, _DummyEgress)
    assert egress.settings == _DummySettings(colour="green")
    assert egress.app_options["ledger"] == _DummyApp(tier=3)
    assert egress.app_options["payments-api"] == _DummyApp()
    # the pattern's own rules and types apply, with YAML paths
    data["apps"][0]["tier"] = 7
    data["dummy"]["colour"] = 5
    assert set(errors_of(data).fields) == {"apps[0].tier", "dummy.colour"}
    # its keys belong to it alone; another pattern's keys name their pattern
    spa = example("subnet-per-app")
    spa["apps"][0]["tier"] = 2
    spa["dummy"] = {}
    errors = {e.field: e for e in errors_of(spa).errors}
    assert set(errors) == {"dummy", "apps[0].tier"}
    assert (
        "only applies to pattern dummy-test, not subnet-per-app" in errors["apps[0].tier"].problem
    )
    assert "only applies to pattern dummy-test" in errors["dummy"].problem
    data = example("subnet-per-app")
    data["pattern"] = "dummy-test"
    errors = errors_of(data).errors
    assert {e.field for e in errors} == {f"apps[{i}].nodes" for i in range(3)}
    assert "only applies to patterns subnet-per-app or private-nat" in errors[0].problem
    # the schema and the key reference follow the registry
    schema = config_schema()
    assert "DummyTestDeploymentConfig" in schema["$defs"]
    assert "dummy (pattern dummy-test)" in render_reference()


def test_unknown_app_key_lists_the_patterns_keys() -> None:
    data = example("private-nat")
    data["apps"][0]["nat_grup"] = "x"
    error = next(e for e in errors_of(data).errors if e.field == "apps[0].nat_grup")
    assert "did you mean 'nat_group'" in error.fix
    assert "slot, nodes, nat_group" in error.fix


# -- schema, reference, locks --------------------------------------------------------------------


def test_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_schema(), "run `make schema`"


def test_reference_is_current() -> None:
    docs = EXAMPLES.parent.parent / "docs" / "configuration.md"
    assert not update_reference(docs, write=False), "run `make schema`"


@pytest.mark.parametrize("name", ["base", "subnet-per-app", "private-nat"])
def test_examples_match_schema(name: str) -> None:
    text = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith(
        "# yaml-language-server: $schema=../../eks_secure/config/eks-secure.schema.json\n"
    )
    assert (EXAMPLES / "../../eks_secure/config/eks-secure.schema.json").resolve() == SCHEMA_FILE
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    validator.validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    "mutate",
    [
        setter("apps.0.nat_group", "core"),  # a private-nat key in subnet-per-app
        setter("apps.0.colour", "blue"),
        setter("vpc_cdir", "10.0.0.0/16"),
        setter("subnets", {"app_prefix": "26"}),
        setter("cluster_name", "Payments"),
        setter("admin_role_arns.0", "arn:aws:iam::111:role/x"),
        setter("apiVersion", "eks-secure.io/v2"),
    ],
)
def test_schema_rejects_what_the_loader_rejects(mutate: Mutation) -> None:
    data = example("subnet-per-app")
    mutate(data)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    assert not validator.is_valid(data)
    with pytest.raises(ConfigErrors):
        parse_config(data)


@pytest.mark.parametrize("name", ["base", "subnet-per-app", "private-nat"])
def test_example_locks_are_current(name: str) -> None:
    path = EXAMPLES / f"{name}.yaml"
    committed = read_lock(lock_path(path))
    assert committed is not None, f"commit {lock_path(path).name}"
    config = load_config(path, lock=committed)
    locked = plan_for(config, committed)
    assert render_lock(locked.lock) == lock_path(path).read_text(encoding="utf-8"), (
        "the address plan would change the committed lock: "
        + "; ".join(lock_changes(committed, locked.lock))
    )
    # the locks record the name-hash slots of the examples' apps (re-planned once, when the
    # app_prefix default became /24 in 0.2.0, see CHANGELOG.md): no address moved since
    assert locked.all_subnets() == plan_for(config).all_subnets()


def test_lock_is_honoured_and_checked() -> None:
    data = example("subnet-per-app")
    lock = {"apps": {"payments-api": 36, "ledger": 3, "fraud-scoring": 45}}
    config = parse_config(data, lock=lock)
    assert plan_for(config, lock).app("ledger").slot == 3
    # a new app takes the next free slot after the highest in use, not a hashed one
    data["apps"].append({"name": "billing"})
    plan = plan_for(parse_config(data, lock=lock), lock)
    assert plan.app("billing").slot == 46
    assert lock_changes(lock, plan.lock) == ["apps: add billing at slot 46"]
    # a pin that disagrees with the lock would move a deployed app
    data["apps"][1]["slot"] = 4
    assert errors_of_locked(data, lock).fields == ("apps[1].slot",)


def errors_of_locked(data: object, lock: Any) -> ConfigErrors:
    with pytest.raises(ConfigErrors) as info:
        parse_config(data, lock=lock)
    return info.value
