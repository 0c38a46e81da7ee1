"""Egress pattern 2 (private NAT gateway per app group): routing, NAT IPs, allow-list, stability.

Everything is read from the synthesized templates (nested stacks included): references that cross
a nested-stack boundary are followed through the parent's ``Parameters`` and the child's
``Outputs`` by :class:`Assembly`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from manifest_validation import requires_crd_schemas, validate_all
from synth import Synth, load_example, normalise, synth_config
from syrupy.assertion import SnapshotAssertion
from template_checks import cfn_lint_findings, props, resources

from eks_secure.config import parse_config
from eks_secure.config.model import SubnetSizes
from eks_secure.egress.contract import Tenant
from eks_secure.egress.fence import camel
from eks_secure.egress.private_nat import PrivateNatApp, PrivateNatEgress, PrivateNatSettings
from eks_secure.egress.private_nat.construct import PrivateNat, validate_nat_groups
from eks_secure.errors import ConfigErrors
from eks_secure.network.planner import NetworkPlan, SlotRequest, plan_network
from eks_secure.network.vpc import APP_TAG, NAT_GROUP_TAG, TIER_TAG

pytestmark = pytest.mark.xdist_group("private-nat")

HASH = re.compile(r"[0-9a-f]{64}")
Ref = tuple[str, str]
"""A resource as (template file name, logical ID)."""


def groups_of(synth: Synth) -> dict[str, list[str]]:
    """NAT group -> its apps, from the deployment's spec."""
    spec = synth.deployment.egress_spec
    assert isinstance(spec, PrivateNatEgress)
    return spec.groups(synth.deployment.tenants)


def group_of(synth: Synth, app: str) -> str:
    """The NAT group of ``app``."""
    spec = synth.deployment.egress_spec
    assert isinstance(spec, PrivateNatEgress)
    group = spec.nat_group_of(app)
    assert group is not None
    return group


# ----------------------------------------------------------------------------- helpers


class Assembly:
    """The templates of a synth as one graph: follows references across nested stacks."""

    def __init__(self, synth: Synth) -> None:
        self.templates = synth.templates
        artifact = synth.deployment.cluster_stack.artifact_id
        self.parent = f"{artifact}.template.json"
        assets = json.loads((synth.outdir / f"{artifact}.assets.json").read_text())
        by_hash = {h: f["source"]["path"] for h, f in assets["files"].items()}
        self.parent_of: dict[str, Ref] = {}
        """Nested template -> its AWS::CloudFormation::Stack resource in the parent."""
        self.child_of: dict[Ref, str] = {}
        """AWS::CloudFormation::Stack resource -> its nested template."""
        parent = self.templates[self.parent]
        for logical_id, resource in resources(parent, "AWS::CloudFormation::Stack").items():
            (asset_hash,) = HASH.findall(json.dumps(resource["Properties"]["TemplateURL"]))
            child = by_hash[asset_hash]
            self.parent_of[child] = (self.parent, logical_id)
            self.child_of[(self.parent, logical_id)] = child

    def resource(self, ref: Ref) -> dict[str, Any]:
        resource: dict[str, Any] = self.templates[ref[0]]["Resources"][ref[1]]
        return resource

    def all(self, rtype: str) -> dict[Ref, dict[str, Any]]:
        """Every resource of ``rtype`` in every template, with its properties."""
        return {
            (name, logical_id): resource.get("Properties", {})
            for name, template in self.templates.items()
            for logical_id, resource in resources(template, rtype).items()
        }

    def resolve(self, template: str, value: Any) -> Ref:
        """The resource a ``Ref``/``Fn::GetAtt`` in ``template`` ends at, across stacks."""
        assert isinstance(value, dict), value
        if "Ref" in value:
            target = value["Ref"]
            body = self.templates[template]
            if target in body.get("Resources", {}):
                return template, target
            assert target in body.get("Parameters", {}), target
            parent, stack_id = self.parent_of[template]
            passed = self.resource((parent, stack_id))["Properties"]["Parameters"][target]
            return self.resolve(parent, passed)
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute.startswith("Outputs."):
                child = self.child_of[(template, logical_id)]
                output = self.templates[child]["Outputs"][attribute.removeprefix("Outputs.")]
                return self.resolve(child, output["Value"])
            return template, logical_id
        raise AssertionError(f"not a reference: {value}")


def tags(properties: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in properties.get("Tags", [])}


@dataclass(frozen=True)
class Subnet:
    ref: Ref
    tier: str
    owner: str | None
    az: str
    cidr: str


@dataclass(frozen=True)
class Network:
    """Subnets, route tables, routes and NAT gateways of a synth, resolved."""

    assembly: Assembly
    subnets: dict[Ref, Subnet]
    subnet_of_table: dict[Ref, Subnet]
    routes: list[tuple[Ref, dict[str, Any]]]
    """(resolved route table, route properties) of every AWS::EC2::Route."""
    gateways: dict[Ref, tuple[dict[str, Any], Subnet]]
    """Every NAT gateway: its properties and its (resolved) subnet."""
    route_templates: dict[int, str]
    """The template each route (by ``id`` of its properties) is defined in."""

    def target(self, route: dict[str, Any], key: str) -> Ref:
        """The resource a route's ``key`` (e.g. ``NatGatewayId``) points to, across stacks."""
        return self.assembly.resolve(self.route_templates[id(route)], route[key])

    def tables(self, tier: str, owner: str | None = None) -> list[Ref]:
        return sorted(
            table
            for table, subnet in self.subnet_of_table.items()
            if subnet.tier == tier and (owner is None or subnet.owner == owner)
        )

    def routes_of(self, table: Ref) -> list[dict[str, Any]]:
        return [route for t, route in self.routes if t == table]

    def group_gateways(self, group: str) -> dict[Ref, tuple[dict[str, Any], Subnet]]:
        return {r: g for r, g in self.gateways.items() if g[1].owner == group}


def network(synth: Synth) -> Network:
    assembly = Assembly(synth)
    subnets: dict[Ref, Subnet] = {}
    for ref, properties in assembly.all("AWS::EC2::Subnet").items():
        tagged = tags(properties)
        tier = tagged[TIER_TAG]
        owner = tagged.get(APP_TAG) if tier == "app" else tagged.get(NAT_GROUP_TAG)
        subnets[ref] = Subnet(
            ref, tier, owner, properties["AvailabilityZone"], properties["CidrBlock"]
        )
    subnet_of_table: dict[Ref, Subnet] = {}
    for (template, _), properties in assembly.all("AWS::EC2::SubnetRouteTableAssociation").items():
        table = assembly.resolve(template, properties["RouteTableId"])
        subnet_of_table[table] = subnets[assembly.resolve(template, properties["SubnetId"])]
    all_routes = assembly.all("AWS::EC2::Route")
    routes = [
        (assembly.resolve(template, properties["RouteTableId"]), properties)
        for (template, _), properties in all_routes.items()
    ]
    route_templates = {id(properties): template for (template, _), properties in all_routes.items()}
    gateways = {
        ref: (properties, subnets[assembly.resolve(ref[0], properties["SubnetId"])])
        for ref, properties in assembly.all("AWS::EC2::NatGateway").items()
    }
    return Network(assembly, subnets, subnet_of_table, routes, gateways, route_templates)


@pytest.fixture(scope="module")
def net(private_nat: Synth) -> Network:
    return network(private_nat)


def _nested_template(construct: Any) -> str:
    """The template file of an app's or NAT group's nested stack."""
    template_file: str = construct.container.template_file
    return template_file


# ----------------------------------------------------------------------------- synth and tools


def test_synthesis_succeeds_with_cdk_nag_clean(private_nat: Synth) -> None:
    """cdk-nag's AwsSolutions pack ran during synth and left no unacknowledged error."""
    assert private_nat.synth_error is None, private_nat.synth_error
    assert private_nat.nag_errors() == []


def test_one_nested_stack_per_app_and_per_nat_group(private_nat: Synth) -> None:
    names = set(private_nat.templates)
    config = private_nat.config
    # besides the route-table shards of the app and NAT slots (vpc.ROUTE_TABLE_SHARD_SLOTS)
    nested = {n for n in names if n.endswith(".nested.template.json") and "Egress" in n}
    assert len(nested) == len(config.apps) + len(groups_of(private_nat))


def test_cfn_lint_has_no_errors_in_any_template(private_nat: Synth) -> None:
    findings = {
        name: cfn_lint_findings(template, private_nat.config.region)
        for name, template in sorted(private_nat.templates.items())
    }
    assert {name: f for name, f in findings.items() if f} == {}


def test_template_snapshots(private_nat: Synth, snapshot: SnapshotAssertion) -> None:
    for name, template in sorted(private_nat.templates.items()):
        assert normalise(template) == snapshot(name=name)


def test_manifest_snapshot(private_nat: Synth, snapshot: SnapshotAssertion) -> None:
    assert private_nat.manifests == snapshot


@requires_crd_schemas
def test_manifests_validate_against_the_cluster_version(private_nat: Synth) -> None:
    for chart, objects in private_nat.manifests.items():
        assert validate_all(objects, private_nat.config.kubernetes_version) == {}, chart


# ----------------------------------------------------------------------------- NAT gateways


def test_one_private_nat_gateway_per_group_per_az(private_nat: Synth, net: Network) -> None:
    config = private_nat.config
    assert len(net.gateways) == len(groups_of(private_nat)) * len(config.availability_zones)
    for group in groups_of(private_nat):
        azs = sorted(subnet.az for _, subnet in net.group_gateways(group).values())
        assert azs == sorted(config.availability_zones), group


def test_nat_gateways_are_private_with_their_ip_inside_their_subnet(
    private_nat: Synth, net: Network
) -> None:
    for ref, (gateway, subnet) in net.gateways.items():
        assert gateway["ConnectivityType"] == "private", ref
        assert "AllocationId" not in gateway, ref
        assert subnet.tier == "nat", ref
        ip = ipaddress.IPv4Address(gateway["PrivateIpAddress"])
        cidr = ipaddress.IPv4Network(subnet.cidr)
        assert ip in cidr, (ref, ip, cidr)
        # AWS reserves the first four addresses and the last one of every subnet.
        assert int(cidr.network_address) + 4 <= int(ip) < int(cidr.broadcast_address), ref
        assert ref[0] != net.assembly.parent, "NAT gateways live in their group's nested stack"


def test_nat_gateway_ips_are_the_planned_ones(private_nat: Synth, net: Network) -> None:
    plan = private_nat.deployment.plan
    for group in plan.pool("nat").members:
        built = {s.az: g["PrivateIpAddress"] for g, s in net.group_gateways(group.name).values()}
        planned = {s.az: ip for s, ip in zip(group.subnets, group.fixed_ips, strict=True)}
        assert built == planned, group.name


def test_nat_subnets_route_on_prem_to_the_transit_gateway(private_nat: Synth, net: Network) -> None:
    config = private_nat.config
    assert config.on_prem_route is not None
    tables = net.tables("nat")
    assert len(tables) == len(groups_of(private_nat)) * len(config.availability_zones)
    for table in tables:
        on_prem = {r["DestinationCidrBlock"]: r for r in net.routes_of(table)}
        assert set(on_prem) == set(config.on_prem_cidrs), table
        for route in on_prem.values():
            assert route["TransitGatewayId"] == config.on_prem_route.transit_gateway_id
            assert "NatGatewayId" not in route


def test_nat_group_stacks_wait_for_the_transit_gateway_attachment(net: Network) -> None:
    parent = net.assembly.templates[net.assembly.parent]
    (attachment,) = resources(parent, "AWS::EC2::TransitGatewayVpcAttachment")
    nat_templates = {ref[0] for ref in net.gateways}
    for template in nat_templates:
        _, stack_id = net.assembly.parent_of[template]
        assert attachment in parent["Resources"][stack_id]["DependsOn"], template


# ----------------------------------------------------------------------------- app routing


def test_app_subnets_send_every_on_prem_cidr_to_their_groups_nat_in_the_same_az(
    private_nat: Synth, net: Network
) -> None:
    config = private_nat.config
    for app in config.apps:
        tables = net.tables("app", app.name)
        assert len(tables) == len(config.availability_zones), app.name
        for table in tables:
            subnet = net.subnet_of_table[table]
            routes = net.routes_of(table)
            assert sorted(r["DestinationCidrBlock"] for r in routes) == sorted(
                config.on_prem_cidrs
            ), app.name
            for route in routes:
                gateway_ref = net.target(route, "NatGatewayId")
                _, nat_subnet = net.gateways[gateway_ref]
                assert nat_subnet.owner == group_of(private_nat, app.name), (app.name, route)
                assert nat_subnet.az == subnet.az, (app.name, route)


def test_app_subnets_have_no_other_route_to_on_prem(net: Network) -> None:
    app_tables = net.tables("app")
    assert app_tables
    for table in app_tables:
        for route in net.routes_of(table):
            targets = {k for k in route if k not in ("RouteTableId", "DestinationCidrBlock")}
            assert targets == {"NatGatewayId"}, (table, route)


def test_control_plane_and_system_subnets_keep_their_direct_routes(
    private_nat: Synth, net: Network
) -> None:
    config = private_nat.config
    assert config.on_prem_route is not None
    (cluster,) = props(private_nat.cluster_template, "AWS::EKS::Cluster")
    eni_subnets = {
        net.subnets[net.assembly.resolve(net.assembly.parent, s)]
        for s in cluster["ResourcesVpcConfig"]["SubnetIds"]
    }
    assert {s.tier for s in eni_subnets} == {"control-plane"}
    for tier in ("control-plane", "system-nodes"):
        tables = net.tables(tier)
        assert len(tables) == len(config.availability_zones)
        for table in tables:
            routes = net.routes_of(table)
            assert all("NatGatewayId" not in r for r in routes), (tier, table)
            assert {r["DestinationCidrBlock"] for r in routes} == set(config.on_prem_cidrs)
            assert {r["TransitGatewayId"] for r in routes} == {
                config.on_prem_route.transit_gateway_id
            }


def test_only_app_route_tables_point_at_nat_gateways(net: Network) -> None:
    for table, route in net.routes:
        if "NatGatewayId" in route:
            assert net.subnet_of_table[table].tier == "app", table


def test_no_vpn_gateway_route_propagation(private_nat: Synth) -> None:
    for name, template in private_nat.templates.items():
        assert resources(template, "AWS::EC2::VPNGatewayRoutePropagation") == {}, name


# ----------------------------------------------------------------------------- allow-list


def test_allow_list_is_the_groups_nat_ips(private_nat: Synth, net: Network) -> None:
    config = private_nat.config
    entries = {e.app: e for e in private_nat.allow_list()}
    assert set(entries) == {a.name for a in config.apps} | {"control-plane"}
    for app in private_nat.deployment.tenants:
        entry = entries[app.name]
        ips = {
            f"{g['PrivateIpAddress']}/32"
            for g, _ in net.group_gateways(group_of(private_nat, app.name)).values()
        }
        assert len(ips) == len(config.availability_zones)
        assert set(entry.source_cidrs) == ips, app.name
        assert len(entry.source_cidrs) == len(ips)
        assert entry.pattern == PrivateNatEgress.name
        assert entry.namespace == app.namespace
        assert entry.destination_cidrs == app.destinations
        assert entry.ports == app.ports


def test_apps_of_one_group_share_its_source_ips(private_nat: Synth) -> None:
    egress = private_nat.deployment.egress
    assert egress is not None
    by_app = {e.app: set(e.source_cidrs) for e in egress.allow_list}
    for group, members in groups_of(private_nat).items():
        assert all(by_app[m] == by_app[members[0]] for m in members), group
    groups = [by_app[members[0]] for members in groups_of(private_nat).values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(groups) for b in groups[i + 1 :])


# ----------------------------------------------------------------------------- cluster side


def test_vpc_cni_uses_external_snat_and_network_policy(private_nat: Synth) -> None:
    addons = {a["AddonName"]: a for a in props(private_nat.cluster_template, "AWS::EKS::Addon")}
    values = json.loads(addons["vpc-cni"]["ConfigurationValues"])
    assert values["env"]["AWS_VPC_K8S_CNI_EXTERNALSNAT"] == "true"
    assert values["enableNetworkPolicy"] == "true"


def test_app_pods_may_reach_only_their_on_prem_destinations_and_dns(private_nat: Synth) -> None:
    config = private_nat.config
    on_prem = [ipaddress.IPv4Network(c) for c in config.on_prem_cidrs]
    for app in private_nat.deployment.tenants:
        objects = private_nat.manifests[f"Tenant{camel(app.name)}"]
        policies = [
            o
            for o in objects
            if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == app.namespace
        ]
        by_name = {p["metadata"]["name"]: p["spec"] for p in policies}
        deny = by_name["default-deny"]
        assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
        assert "egress" not in deny and "ingress" not in deny
        allowed_blocks: set[str] = set()
        for name, spec in by_name.items():
            for rule in spec.get("egress", []):
                for peer in rule.get("to", []):
                    if "ipBlock" in peer:
                        block = ipaddress.IPv4Network(peer["ipBlock"]["cidr"])
                        assert any(block.subnet_of(n) for n in on_prem), (app.name, name, block)
                        allowed_blocks.add(str(block))
                        assert sorted(p["port"] for p in rule["ports"]) == sorted(app.ports)
                        assert {p["protocol"] for p in rule["ports"]} == {"TCP"}
                    else:
                        # the only non-IP peer: the cluster DNS, on port 53
                        assert peer["namespaceSelector"]["matchLabels"] == {
                            "kubernetes.io/metadata.name": "kube-system"
                        }, (app.name, name)
                        assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
                        assert {p["port"] for p in rule["ports"]} == {53}
                assert rule.get("to"), (app.name, name, "an egress rule without `to` allows all")
        assert allowed_blocks == set(app.destinations), app.name


def test_info_annotation_counts_the_nat_gateways(private_nat: Synth) -> None:
    manifest = json.loads((private_nat.outdir / "manifest.json").read_text())
    artifact = manifest["artifacts"][private_nat.deployment.cluster_stack.artifact_id]
    metadata = json.loads((private_nat.outdir / artifact["additionalMetadataFile"]).read_text())
    infos = [
        entry["data"]
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:info"
    ]
    config = private_nat.config
    count = len(groups_of(private_nat)) * len(config.availability_zones)
    matching = [i for i in infos if f"{count} private NAT gateways" in i]
    assert len(matching) == 1, infos
    assert "per hour" in matching[0] and "per GB" in matching[0]


# ----------------------------------------------------------------------------- bad input


def _example() -> dict[str, Any]:
    return load_example("private-nat")


def _fields(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigErrors) as exc:
        parse_config(data)
    return exc.value.fields


def test_nat_group_without_apps_is_rejected() -> None:
    data = _example()
    data["private_nat"] = {"groups": {"treasury": {"slot": 1}}}
    assert "private_nat.groups.treasury" in _fields(data)


def test_nat_subnets_overlapping_on_prem_are_rejected() -> None:
    data = _example()
    data["private_nat"] = {"secondary_cidr": "10.3.0.0/22"}  # inside on-prem 10.0.0.0/14
    assert "private_nat.secondary_cidr" in _fields(data)


def test_secondary_cidr_overlapping_the_vpc_is_rejected() -> None:
    data = _example()
    data["private_nat"] = {"secondary_cidr": "10.20.64.0/22"}  # inside vpc_cidr 10.20.0.0/16
    assert "private_nat.secondary_cidr" in _fields(data)


def test_app_without_nat_group_is_rejected() -> None:
    data = _example()
    del data["apps"][1]["nat_group"]
    assert "apps[1].nat_group" in _fields(data)


def _plan(groups: list[str]) -> NetworkPlan:
    return plan_network(
        vpc_cidr="10.20.0.0/16",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        on_prem_cidrs=["10.0.0.0/14"],
        apps=[SlotRequest("a"), SlotRequest("b")],
        pools=[
            PrivateNatEgress(apps={g: PrivateNatApp(nat_group=g) for g in groups}).address_pools(
                [Tenant(name=g, destinations=("10.0.0.0/14",)) for g in groups],
                SubnetSizes(),
            )[0]
        ],
    )


def test_construct_validation_names_the_fields() -> None:
    """The construct checks its inputs itself (for callers that skip the config loader)."""
    plan = _plan(["one", "unused"])
    tenants = [
        Tenant(name="a", destinations=("10.0.0.0/14",), field="apps[0]"),
        Tenant(name="b", destinations=("10.0.0.0/14",), field="apps[1]"),
    ]
    spec = PrivateNatEgress(
        apps={"a": PrivateNatApp(nat_group="one"), "b": PrivateNatApp()},
        fields={"a": "apps[0]", "b": "apps[1]"},
    )
    assert [e.field for e in spec.check(tenants)] == ["apps[1].nat_group"]
    with pytest.raises(ConfigErrors) as exc:
        validate_nat_groups(spec, tenants, plan.pool("nat").members)
    assert exc.value.fields == ("private_nat.groups.unused",)
    stray = PrivateNatEgress(apps={"a": PrivateNatApp(nat_group="other")}, fields={"a": "apps[0]"})
    with pytest.raises(ConfigErrors) as exc:
        validate_nat_groups(stray, tenants[:1], ())
    assert exc.value.fields == ("apps[0].nat_group",)
    pinned = PrivateNatEgress(
        apps={"a": PrivateNatApp(nat_group="one")},
        settings=PrivateNatSettings(groups={"two": {"slot": 0}}),
    )
    assert [e.field for e in pinned.check(tenants[:1])] == ["private_nat.groups.two"]


# ----------------------------------------------------------------------------- stability


@functools.cache
def _regrouped() -> Synth:
    """The example with ``ledger`` moved out of core-banking into a new group ``treasury``."""
    data = _example()
    (ledger,) = [a for a in data["apps"] if a["name"] == "ledger"]
    ledger["nat_group"] = "treasury"
    return synth_config(data, nag=False)


def test_regrouping_leaves_other_apps_and_groups_untouched(private_nat: Synth) -> None:
    again = _regrouped()
    assert again.synth_error is None, again.synth_error
    before, after = private_nat.deployment.egress, again.deployment.egress
    assert isinstance(before, PrivateNat) and isinstance(after, PrivateNat)
    assert set(after.nat_groups) == {"analytics", "core-banking", "treasury"}
    for name in ("payments-api", "fraud-scoring"):
        template = _nested_template(before.apps[name])
        assert template == _nested_template(after.apps[name])
        assert normalise(again.templates[template]) == normalise(private_nat.templates[template]), (
            name
        )
    for group in ("core-banking", "analytics"):
        template = _nested_template(before.nat_groups[group])
        old = {
            k: v["Properties"]["PrivateIpAddress"]
            for k, v in resources(private_nat.templates[template], "AWS::EC2::NatGateway").items()
        }
        new = {
            k: v["Properties"]["PrivateIpAddress"]
            for k, v in resources(again.templates[template], "AWS::EC2::NatGateway").items()
        }
        assert new == old, group
        assert normalise(again.templates[template]) == normalise(private_nat.templates[template]), (
            group
        )
    # ledger now leaves through treasury's gateways, which are new addresses
    entries = {e.app: e for e in again.allow_list()}
    treasury = set(after.nat_groups["treasury"].source_cidrs)
    assert set(entries["ledger"].source_cidrs) == treasury
    assert treasury.isdisjoint(entries["payments-api"].source_cidrs)


# ------------------------------------------------------------ VPN gateway + secondary CIDR


@functools.cache
def _vgw_secondary() -> Synth:
    """The example behind a VPN gateway, with the NAT subnets in a secondary VPC CIDR."""
    data = _example()
    data["on_prem_route"] = {"vpn_gateway": {"amazon_side_asn": 64512}}
    data["private_nat"] = {"secondary_cidr": "100.64.0.0/22"}
    return synth_config(data, nag=False)


def test_secondary_cidr_and_vpn_gateway_variant() -> None:
    synth = _vgw_secondary()
    assert synth.synth_error is None, synth.synth_error
    net = network(synth)
    parent = net.assembly.templates[net.assembly.parent]
    for name, template in synth.templates.items():
        assert resources(template, "AWS::EC2::VPNGatewayRoutePropagation") == {}, name
    (vgw_id,) = resources(parent, "AWS::EC2::VPNGateway")
    (secondary_id,) = resources(parent, "AWS::EC2::VPCCidrBlock")
    secondary = ipaddress.IPv4Network("100.64.0.0/22")
    for ref, (gateway, subnet) in net.gateways.items():
        assert ipaddress.IPv4Network(subnet.cidr).subnet_of(secondary), ref
        assert ipaddress.IPv4Address(gateway["PrivateIpAddress"]) in secondary, ref
        # the NAT subnets wait for the secondary CIDR association
        _, stack_id = net.assembly.parent_of[ref[0]]
        assert secondary_id in parent["Resources"][stack_id]["DependsOn"], ref
    for table in net.tables("nat"):
        for route in net.routes_of(table):
            assert net.target(route, "GatewayId") == (
                net.assembly.parent,
                vgw_id,
            )
    for table in net.tables("app"):
        routes = net.routes_of(table)
        assert sorted(r["DestinationCidrBlock"] for r in routes) == sorted(
            synth.config.on_prem_cidrs
        )
        for route in routes:
            assert set(route) == {"RouteTableId", "DestinationCidrBlock", "NatGatewayId"}
            _, nat_subnet = net.gateways[net.target(route, "NatGatewayId")]
            owner = str(net.subnet_of_table[table].owner)
            assert nat_subnet.owner == group_of(synth, owner)
            assert nat_subnet.az == net.subnet_of_table[table].az
    nat_templates = sorted({ref[0] for ref in net.gateways})
    for name in (net.assembly.parent, *nat_templates):
        assert cfn_lint_findings(synth.templates[name], synth.config.region) == [], name
