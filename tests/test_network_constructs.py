"""Tests for the network constructs: SecureVpc, PrivateEndpoints and OnPremRouting."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match, Template
from constructs import Construct

from eks_secure.config.model import ExistingVpc, OnPremRoute, VpnGateway
from eks_secure.errors import ConfigError
from eks_secure.network.endpoints import (
    DEFAULT_INTERFACE_ENDPOINT_SERVICES,
    ENDPOINT_POLICY_SERVICES,
    S3_BUCKET_GRANTS,
    endpoint_id,
)
from eks_secure.network.onprem import cidr_id
from eks_secure.network.planner import NetworkPlan, PoolRequest, SlotRequest, plan_network
from eks_secure.network.vpc import EXISTING_ENDPOINTS_WARNING, SecureVpc

pytestmark = pytest.mark.xdist_group("network")

ACCOUNT = "111111111111"
REGION = "eu-west-1"
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
VPC_CIDR = "10.20.0.0/16"
ON_PREM = ("10.0.0.0/14", "192.168.0.0/16")
TGW = "tgw-0123456789abcdef0"
EXISTING_VPC_ID = "vpc-0123456789abcdef0"

Resources = dict[str, Any]


@dataclass
class Built:
    """One synthesized network: the construct, its stack and templates."""

    plan: NetworkPlan
    stack: cdk.Stack
    network: SecureVpc
    template: Template
    nested: dict[str, Template]

    def resources(self, kind: str, *, nested: bool = True) -> Resources:
        """Resources of type ``kind`` in the stack (and its nested stacks), by logical ID."""
        found: Resources = dict(self.template.find_resources(kind))
        if nested:
            for template in self.nested.values():
                found.update(template.find_resources(kind))
        return found

    def ref(self, value: str) -> Any:
        """A token resolved in the stack (e.g. ``{"Ref": "LogicalId"}``)."""
        return self.stack.resolve(value)


def _stack() -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context={f"availability-zones:account={ACCOUNT}:region={REGION}": list(AZS)})
    stack = cdk.Stack(app, "Net", env=cdk.Environment(account=ACCOUNT, region=REGION))
    return app, stack


def _build(plan: NetworkPlan, build: Any, nested_ids: tuple[str, ...] = ()) -> Built:
    _, stack = _stack()
    network = build(stack)
    nested = {
        n: Template.from_stack(stack.node.find_child(n))  # type: ignore[arg-type]
        for n in nested_ids
    }
    # the route-table shards of slots whose subnets live in nested stacks
    for child in network.node.children:
        if isinstance(child, cdk.NestedStack):
            nested[child.node.id] = Template.from_stack(child)
    return Built(plan, stack, network, Template.from_stack(stack), nested)


@pytest.fixture(scope="module")
def tgw() -> Built:
    """3 AZs, transit gateway, app ``payments`` in a child scope, ``orders`` in a nested stack."""
    plan = plan_network(
        vpc_cidr=VPC_CIDR,
        availability_zones=AZS,
        on_prem_cidrs=ON_PREM,
        apps=[SlotRequest("payments"), SlotRequest("orders")],
        app_prefix=26,  # their name-hash slots clash among the 62 slots of /24 app subnets
    )

    def build(stack: cdk.Stack) -> SecureVpc:
        network = SecureVpc(
            stack,
            "Network",
            plan=plan,
            on_prem_cidrs=ON_PREM,
            on_prem_route=OnPremRoute(transit_gateway_id=TGW),
        )
        network.add_subnets(Construct(Construct(stack, "Apps"), "payments"), plan.app("payments"))
        orders = cdk.NestedStack(stack, "Orders")
        network.add_subnets(orders, plan.app("orders"))
        return network

    return _build(plan, build, nested_ids=("Orders",))


@pytest.fixture(scope="module")
def vgw() -> Built:
    """2 AZs, VPN gateway, a NAT group in a secondary CIDR, an app routed by its pattern."""
    plan = plan_network(
        vpc_cidr="10.30.0.0/20",
        availability_zones=AZS[:2],
        on_prem_cidrs=ON_PREM,
        apps=[SlotRequest("payments")],
        pools=[
            PoolRequest(
                name="nat",
                tier="nat",
                members=(SlotRequest("shared"),),
                subnet_prefix=28,
                secondary_cidr="100.64.0.0/24",
                fixed_ips=True,
                field="private_nat.secondary_cidr",
            )
        ],
    )

    def build(stack: cdk.Stack) -> SecureVpc:
        network = SecureVpc(
            stack,
            "Network",
            plan=plan,
            on_prem_cidrs=ON_PREM,
            on_prem_route=OnPremRoute(vpn_gateway=VpnGateway(amazon_side_asn=64700)),
            endpoint_services=("ecr.api", "ecr.dkr", "sts", "eks-auth", "xray"),
        )
        network.add_subnets(Construct(stack, "Nat"), plan.pool("nat").member("shared"))
        network.add_subnets(Construct(stack, "App"), plan.app("payments"), route_on_prem=False)
        return network

    return _build(plan, build)


@pytest.fixture(scope="module")
def existing() -> Built:
    """Existing VPC, its endpoints reused, transit gateway."""
    plan = plan_network(
        vpc_cidr=VPC_CIDR, availability_zones=AZS[:2], apps=[SlotRequest("payments")]
    )

    def build(stack: cdk.Stack) -> SecureVpc:
        network = SecureVpc(
            stack,
            "Network",
            plan=plan,
            existing_vpc=ExistingVpc(vpc_id=EXISTING_VPC_ID, create_endpoints=False),
        )
        network.add_subnets(Construct(stack, "App"), plan.app("payments"))
        return network

    return _build(plan, build)


def _lint_errors(template: Template) -> list[str]:
    from cfnlint.api import lint

    matches = lint(json.dumps(template.to_json()), regions=[REGION])
    return [str(m) for m in matches if m.rule.id.startswith("E")]


# ---------------------------------------------------------------- no path to the internet


@pytest.mark.parametrize("name", ["tgw", "vgw", "existing"])
def test_no_internet_path(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    for kind in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
    ):
        assert built.resources(kind) == {}, kind
    subnets = built.resources("AWS::EC2::Subnet")
    assert subnets
    for logical_id, subnet in subnets.items():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False, logical_id
    for logical_id, route in built.resources("AWS::EC2::Route").items():
        props = route["Properties"]
        assert "GatewayId" not in props or built.network.on_prem_routing, logical_id
        assert props["DestinationCidrBlock"] in ON_PREM, logical_id


def test_vpc_settings(tgw: Built) -> None:
    tgw.template.resource_count_is("AWS::EC2::VPC", 1)
    tgw.template.has_resource_properties(
        "AWS::EC2::VPC",
        {"CidrBlock": VPC_CIDR, "EnableDnsHostnames": True, "EnableDnsSupport": True},
    )
    tgw.template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)
    assert tgw.network.vpc_cidr_block == VPC_CIDR
    assert tgw.network.plan is tgw.plan


# ---------------------------------------------------------------- subnets


@pytest.mark.parametrize("name", ["tgw", "vgw", "existing"])
def test_subnets_follow_the_plan(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    actual = sorted(
        (s["Properties"]["CidrBlock"], s["Properties"]["AvailabilityZone"])
        for s in built.resources("AWS::EC2::Subnet").values()
    )
    expected = sorted((s.cidr, s.az) for s in built.plan.all_subnets())
    assert actual == expected
    # one route table per subnet
    assert len(built.resources("AWS::EC2::RouteTable")) == len(expected)


def test_subnet_construct_ids_are_name_based(tgw: Built) -> None:
    network = tgw.network
    paths = [s.node.path for s in network.control_plane_subnets]
    assert paths == [f"Net/Network/ControlPlane/Subnet{i}" for i in (1, 2, 3)]
    assert network.endpoint_subnets[0].node.path == "Net/Network/Endpoints/Subnet1"
    assert network.system_node_subnets[2].node.path == "Net/Network/SystemNodes/Subnet3"
    assert tgw.stack.node.find_child("Apps").node.find_child("payments").node.find_child("Subnet2")


def test_logical_ids_do_not_depend_on_other_apps(tgw: Built) -> None:
    """A plan with one app less gives the same logical IDs to everything else (no synth)."""
    plan = plan_network(
        vpc_cidr=VPC_CIDR,
        availability_zones=AZS,
        on_prem_cidrs=ON_PREM,
        apps=[SlotRequest("payments")],
        app_prefix=26,  # as in the tgw fixture
    )
    _, stack = _stack()
    network = SecureVpc(
        stack,
        "Network",
        plan=plan,
        on_prem_cidrs=ON_PREM,
        on_prem_route=OnPremRoute(transit_gateway_id=TGW),
    )
    apps = network.add_subnets(
        Construct(Construct(stack, "Apps"), "payments"), plan.app("payments")
    )

    def ids(built_stack: cdk.Stack, subnets: Sequence[ec2.ISubnet]) -> list[Any]:
        return [built_stack.resolve(s.subnet_id) for s in subnets]

    def tier(n: SecureVpc) -> list[ec2.ISubnet]:
        return [*n.control_plane_subnets, *n.endpoint_subnets, *n.system_node_subnets]

    assert ids(stack, tier(network)) == ids(tgw.stack, tier(tgw.network))
    assert plan.app("payments") == tgw.plan.app("payments")
    tgw_apps = tgw.stack.node.find_child("Apps").node.find_child("payments")
    tgw_app_subnets = [c for c in tgw_apps.node.find_all() if isinstance(c, ec2.CfnSubnet)]
    assert ids(stack, apps) == [tgw.stack.resolve(c.attr_subnet_id) for c in tgw_app_subnets]


def test_subnet_tags(tgw: Built) -> None:
    tgw.template.has_resource_properties(
        "AWS::EC2::Subnet",
        {
            "CidrBlock": tgw.plan.system_nodes[0].cidr,
            "Tags": Match.array_with(
                [
                    {"Key": "eks-secure.io/tier", "Value": "system-nodes"},
                    {"Key": "Name", "Value": "Net-system-nodes-eu-west-1a"},
                ]
            ),
        },
    )
    tgw.nested["Orders"].has_resource_properties(
        "AWS::EC2::Subnet",
        {
            "CidrBlock": tgw.plan.app("orders").subnets[1].cidr,
            "Tags": Match.array_with(
                [
                    {"Key": "eks-secure.io/app", "Value": "orders"},
                    {"Key": "eks-secure.io/tier", "Value": "app"},
                    {"Key": "Name", "Value": "Net-app-orders-eu-west-1b"},
                ]
            ),
        },
    )


def test_secondary_cidr_subnets_depend_on_the_association(vgw: Built) -> None:
    association = vgw.template.find_resources(
        "AWS::EC2::VPCCidrBlock", {"Properties": {"CidrBlock": "100.64.0.0/24"}}
    )
    assert len(association) == 1
    (association_id,) = association
    nat_cidrs = set(vgw.plan.pool("nat").member("shared").cidrs)
    for logical_id, subnet in vgw.resources("AWS::EC2::Subnet").items():
        depends = subnet.get("DependsOn", [])
        if subnet["Properties"]["CidrBlock"] in nat_cidrs:
            assert association_id in depends, logical_id
            assert {"Key": "eks-secure.io/nat-group", "Value": "shared"} in subnet["Properties"][
                "Tags"
            ]
        else:
            assert association_id not in depends, logical_id


# ---------------------------------------------------------------- endpoints


def test_interface_endpoints(tgw: Built) -> None:
    endpoints = tgw.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    assert len(endpoints) == len(DEFAULT_INTERFACE_ENDPOINT_SERVICES)
    services = sorted(e["Properties"]["ServiceName"] for e in endpoints.values())
    assert services == sorted(
        f"com.amazonaws.{REGION}.{s}" for s in DEFAULT_INTERFACE_ENDPOINT_SERVICES
    )
    endpoint_subnets = [tgw.ref(s.subnet_id) for s in tgw.network.endpoint_subnets]
    sg = tgw.ref(tgw.network.endpoint_security_group.security_group_id)
    for logical_id, endpoint in endpoints.items():
        props = endpoint["Properties"]
        assert props["PrivateDnsEnabled"] is True, logical_id
        assert props["SubnetIds"] == endpoint_subnets, logical_id
        assert props["SecurityGroupIds"] == [sg], logical_id
    assert {endpoint_id(s) for s in DEFAULT_INTERFACE_ENDPOINT_SERVICES} <= {
        p.split("/")[-1]
        for p in (c.node.path for c in tgw.network.node.find_all())
        if "/PrivateEndpoints/" in p
    }


def _arns(value: Any) -> Any:
    """``Fn::Join`` of strings and ``AWS::Partition`` as text (partition ``aws``)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join("aws" if p == {"Ref": "AWS::Partition"} else p for p in parts)
    if isinstance(value, dict):
        return {k: _arns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arns(v) for v in value]
    return value


def _policy(endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    doc = endpoint["Properties"].get("PolicyDocument")
    return [] if doc is None else list(_arns(doc)["Statement"])


def test_interface_endpoint_policies_admit_this_account_only(tgw: Built) -> None:
    endpoints = tgw.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    seen = set()
    for logical_id, endpoint in endpoints.items():
        service = endpoint["Properties"]["ServiceName"].split(".", 3)[-1]
        statements = _policy(endpoint)
        if service not in ENDPOINT_POLICY_SERVICES:
            # the service accepts only the full-access policy: none is attached
            assert statements == [], logical_id
            continue
        seen.add(service)
        for statement in statements:
            assert statement["Effect"] == "Allow" and statement["Principal"] == {"AWS": "*"}
            (keys,) = statement["Condition"].values()
            assert keys in ({"aws:PrincipalAccount": ACCOUNT}, {"aws:ResourceAccount": ACCOUNT})
        if service == "sts":
            web = [s for s in statements if s["Sid"] == "WebIdentityToThisAccountsRoles"]
            assert web and web[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
        else:
            assert [s["Sid"] for s in statements] == ["ThisAccountsPrincipals"]
    assert seen == ENDPOINT_POLICY_SERVICES & set(DEFAULT_INTERFACE_ENDPOINT_SERVICES)


def test_s3_gateway_policy_lists_the_needed_buckets_only(tgw: Built) -> None:
    (endpoint,) = tgw.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}}
    ).values()
    statements = _policy(endpoint)
    assert [s["Sid"] for s in statements] == [g.sid for g in S3_BUCKET_GRANTS]
    resources = [
        r
        for s in statements
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert all(r.startswith("arn:") and r.endswith("/*") and "*" not in r[:-2] for r in resources)
    assert f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*" in resources
    assert f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/*" in resources
    assert (
        f"arn:aws:s3:::cloudformation-custom-resource-response-{REGION.replace('-', '')}/*"
        in resources
    )
    # writes only to CloudFormation's reply buckets; no statement allows s3:* or ListBucket
    writes = [s for s in statements if s["Action"] != "s3:GetObject"]
    assert [s["Sid"] for s in writes] == ["CloudFormationResponses"]


def test_endpoint_service_override(vgw: Built) -> None:
    endpoints = vgw.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    assert sorted(e["Properties"]["ServiceName"] for e in endpoints.values()) == sorted(
        f"com.amazonaws.{REGION}.{s}" for s in ("ecr.api", "ecr.dkr", "sts", "eks-auth", "xray")
    )


@pytest.mark.parametrize("name", ["tgw", "vgw"])
def test_endpoint_security_group(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    expected = [built.plan.vpc_cidr]
    if built.plan.secondary_cidr:
        expected.append(built.plan.secondary_cidr)
    groups = built.template.find_resources("AWS::EC2::SecurityGroup")
    sg_id = built.ref(built.network.endpoint_security_group.security_group_id)["Fn::GetAtt"][0]
    props = groups[sg_id]["Properties"]
    ingress = props["SecurityGroupIngress"]
    assert sorted(r["CidrIp"] for r in ingress) == sorted(expected)
    for rule in ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    # allow_all_outbound=False: only CDK's placeholder "disallow all" egress rule
    assert [r["CidrIp"] for r in props["SecurityGroupEgress"]] == ["255.255.255.255/32"]
    assert built.template.find_resources("AWS::EC2::SecurityGroupIngress") == {}


@pytest.mark.parametrize("name", ["tgw", "vgw"])
def test_s3_gateway_endpoint_on_every_route_table(
    name: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(name)
    gateways = built.template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}}
    )
    assert len(gateways) == 1
    (gateway,) = gateways.values()
    assert gateway["Properties"]["ServiceName"]["Fn::Join"][1][-1] == ".s3"
    associated = gateway["Properties"]["RouteTableIds"]
    # Every route table (app and NAT-group ones too) lives in the VPC's stack or in one of its
    # route-table shards (route tables only), so the endpoint never waits for an app's stack:
    # S3 is reachable before any node group starts.
    from_shard = [r for r in associated if r.get("Fn::GetAtt", ["", ""])[1].startswith("Outputs.")]
    local = {r["Ref"] if "Ref" in r else r["Fn::GetAtt"][0] for r in associated} - {
        r["Fn::GetAtt"][0] for r in from_shard
    }
    assert local == set(built.template.find_resources("AWS::EC2::RouteTable"))
    shards = {r["Fn::GetAtt"][0] for r in from_shard}
    stacks = built.template.find_resources("AWS::CloudFormation::Stack")
    assert shards <= {k for k in stacks if k.startswith("NetworkRouteTables")}
    for stack_id, nested in built.nested.items():
        if stack_id.startswith("RouteTables-"):
            assert set(nested.to_json()["Resources"]) == set(
                nested.find_resources("AWS::EC2::RouteTable")
            ), stack_id
        else:
            nested.resource_count_is("AWS::EC2::RouteTable", 0)
    assert len(associated) == len(built.plan.all_subnets())
    assert built.network.endpoints is not None
    assert built.network.endpoints.route_table_count == len(built.plan.all_subnets())


def test_existing_vpc_reuses_endpoints(existing: Built) -> None:
    existing.template.resource_count_is("AWS::EC2::VPC", 0)
    existing.template.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    assert existing.network.endpoints is None
    for subnet in existing.resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["VpcId"] == EXISTING_VPC_ID
    Annotations.from_stack(existing.stack).has_warning(
        "/Net/Network",
        Match.string_like_regexp(f"S3 gateway endpoint.*{EXISTING_ENDPOINTS_WARNING}"),
    )
    existing.template.has_resource_properties(
        "AWS::EC2::FlowLog", {"ResourceId": EXISTING_VPC_ID, "ResourceType": "VPC"}
    )
    assert existing.network.on_prem_routing is None
    existing.template.resource_count_is("AWS::EC2::Route", 0)


# ---------------------------------------------------------------- flow logs


def test_flow_log(tgw: Built) -> None:
    tgw.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceId": tgw.ref(tgw.network.vpc.vpc_id),
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
        },
    )
    tgw.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"RetentionInDays": 365, "KmsKeyId": Match.object_like({"Fn::GetAtt": Match.any_value()})},
    )
    tgw.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


# ---------------------------------------------------------------- on-prem routing


def test_transit_gateway_routes(tgw: Built) -> None:
    attachments = tgw.template.find_resources("AWS::EC2::TransitGatewayVpcAttachment")
    assert len(attachments) == 1
    ((attachment_id, attachment),) = attachments.items()
    assert attachment["Properties"]["TransitGatewayId"] == TGW
    assert attachment["Properties"]["SubnetIds"] == [
        tgw.ref(s.subnet_id) for s in tgw.network.endpoint_subnets
    ]
    routes = tgw.template.find_resources("AWS::EC2::Route")
    # control-plane + system-node + payments subnets (orders is in the nested stack)
    assert len(routes) == 3 * 3 * len(ON_PREM)
    for logical_id, route in routes.items():
        assert route["Properties"]["TransitGatewayId"] == TGW, logical_id
        assert attachment_id in route["DependsOn"], logical_id
    nested_routes = tgw.nested["Orders"].find_resources("AWS::EC2::Route")
    assert len(nested_routes) == 3 * len(ON_PREM)
    (nested_stack,) = (
        v
        for k, v in tgw.template.find_resources("AWS::CloudFormation::Stack").items()
        if k.startswith("Orders")
    )
    assert attachment_id in nested_stack["DependsOn"]
    # routed tables: control plane, system nodes, apps; never the endpoint subnets
    routed = {json.dumps(r["Properties"]["RouteTableId"]) for r in routes.values()}
    for subnet in tgw.network.endpoint_subnets:
        assert json.dumps(tgw.ref(subnet.route_table.route_table_id)) not in routed
    for subnet in (*tgw.network.control_plane_subnets, *tgw.network.system_node_subnets):
        assert json.dumps(tgw.ref(subnet.route_table.route_table_id)) in routed


def test_route_ids_are_derived_from_the_cidr(tgw: Built) -> None:
    assert cidr_id("10.0.0.0/14") == "10x0x0x0m14"
    subnet = tgw.network.system_node_subnets[0]
    assert subnet.node.try_find_child("OnPrem10x0x0x0m14") is not None
    assert subnet.node.try_find_child("OnPrem192x168x0x0m16") is not None


def test_vpn_gateway_routes(vgw: Built) -> None:
    vgw.template.resource_count_is("AWS::EC2::VPNGatewayRoutePropagation", 0)
    vgw.template.has_resource_properties(
        "AWS::EC2::VPNGateway", {"Type": "ipsec.1", "AmazonSideAsn": 64700}
    )
    attachments = vgw.template.find_resources("AWS::EC2::VPCGatewayAttachment")
    assert len(attachments) == 1
    ((attachment_id, attachment),) = attachments.items()
    assert "InternetGatewayId" not in attachment["Properties"]
    routes = vgw.template.find_resources("AWS::EC2::Route")
    # control plane + system nodes + NAT group, 2 AZs; the app subnets are left to the pattern
    assert len(routes) == 3 * 2 * len(ON_PREM)
    assert vgw.network.on_prem_routing is not None
    vgw_ref = vgw.ref(vgw.network.on_prem_routing.target_id)
    for logical_id, route in routes.items():
        assert route["Properties"]["GatewayId"] == vgw_ref, logical_id
        assert attachment_id in route["DependsOn"], logical_id
    app_tables = {
        json.dumps(vgw.ref(c.route_table_id))
        for c in vgw.stack.node.find_child("App").node.find_all()
        if isinstance(c, ec2.CfnSubnetRouteTableAssociation)
    }
    assert len(app_tables) == 2
    assert not app_tables & {json.dumps(r["Properties"]["RouteTableId"]) for r in routes.values()}


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: OnPremRoute(transit_gateway_id="tgw-x"), "OnPremRoute.transit_gateway_id"),
        (OnPremRoute, "OnPremRoute"),
        (
            lambda: OnPremRoute(transit_gateway_id=TGW, vpn_gateway=VpnGateway()),
            "OnPremRoute",
        ),
        (lambda: VpnGateway(amazon_side_asn=65535), "VpnGateway.amazon_side_asn"),
        (lambda: ExistingVpc(vpc_id="my-vpc"), "ExistingVpc.vpc_id"),
    ],
)
def test_invalid_network_settings_name_their_field(build: Any, field: str) -> None:
    """The settings objects check themselves, so the Python API gets the YAML loader's rules."""
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == field
    assert "Fix:" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"on_prem_cidrs": ON_PREM}, "on_prem_route"),
        ({"endpoint_services": ("ecr.api", "ECR API")}, "SecureVpc.endpoint_services[1]"),
    ],
)
def test_invalid_input_raises_config_error(tgw: Built, kwargs: dict[str, Any], field: str) -> None:
    _, stack = _stack()
    with pytest.raises(ConfigError) as info:
        SecureVpc(stack, "Network", plan=tgw.plan, **kwargs)
    assert info.value.field == field
    assert info.value.fix
    assert stack.node.try_find_child("Network") is None


def test_missing_on_prem_route_names_the_fix(tgw: Built) -> None:
    _, stack = _stack()
    with pytest.raises(ConfigError, match="transit_gateway_id") as info:
        SecureVpc(stack, "Network", plan=tgw.plan, on_prem_cidrs=ON_PREM)
    assert info.value.field == "on_prem_route"
    assert "vpn_gateway" in info.value.fix


def test_add_subnets_rejects_foreign_slots(tgw: Built, vgw: Built) -> None:
    with pytest.raises(ConfigError) as info:
        tgw.network.add_subnets(Construct(_stack()[1], "Foreign"), vgw.plan.app("payments"))
    assert info.value.field == "SecureVpc.add_subnets.slot"


# ---------------------------------------------------------------- cfn-lint


@pytest.mark.parametrize("name", ["tgw", "vgw", "existing"])
def test_cfn_lint_has_no_errors(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    errors = _lint_errors(built.template)
    for template in built.nested.values():
        errors += _lint_errors(template)
    assert errors == []


@pytest.mark.parametrize(
    ("route", "target_key", "target"),
    [
        (OnPremRoute(transit_gateway_id=TGW, already_attached=True), "TransitGatewayId", TGW),
        (
            OnPremRoute(vpn_gateway=VpnGateway(id="vgw-0a1b2c3d4e5f67890")),
            "GatewayId",
            "vgw-0a1b2c3d4e5f67890",
        ),
    ],
    ids=["tgw-already-attached", "existing-vgw"],
)
def test_adopted_vpc_reuses_its_on_prem_attachment(
    route: OnPremRoute, target_key: str, target: str
) -> None:
    """An adopted VPC keeps its TGW attachment / VGW: eks-secure only adds routes to it."""
    plan = plan_network(vpc_cidr=VPC_CIDR, availability_zones=AZS[:2])
    _, stack = _stack()
    SecureVpc(
        stack,
        "Network",
        plan=plan,
        on_prem_cidrs=ON_PREM,
        on_prem_route=route,
        existing_vpc=ExistingVpc(vpc_id=EXISTING_VPC_ID),
    )
    template = Template.from_stack(stack)
    for rtype in (
        "AWS::EC2::TransitGatewayVpcAttachment",
        "AWS::EC2::VPNGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::VPC",
    ):
        template.resource_count_is(rtype, 0)
    routes = template.find_resources("AWS::EC2::Route")
    assert len(routes) == 2 * 2 * len(ON_PREM)  # control-plane + system-node subnets, 2 AZs
    for route_resource in routes.values():
        assert route_resource["Properties"][target_key] == target
        assert "DependsOn" not in route_resource
