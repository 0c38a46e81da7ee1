"""Construct-level validation of the cluster constructs: bad props fail fast, naming the field.

These build constructs without synthesizing, so they are cheap.
"""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.cluster.control_plane_egress import ControlPlaneEgress
from eks_secure.cluster.nodegroup import ami_type_for
from eks_secure.config.model import ControlPlaneDestination, NodeGroupSize
from eks_secure.errors import ConfigError
from eks_secure.network.planner import plan_network
from eks_secure.network.vpc import SecureVpc

pytestmark = pytest.mark.xdist_group("constructs")

AZS = ["eu-west-1a", "eu-west-1b"]


class _Stack(cdk.Stack):
    @property
    def availability_zones(self) -> list[str]:
        return AZS


def _network() -> SecureVpc:
    stack = _Stack(cdk.App(), "T", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    plan = plan_network(vpc_cidr="10.30.0.0/16", availability_zones=AZS)
    return SecureVpc(stack, "Network", plan=plan)


def _egress(network: SecureVpc, **props: object) -> ControlPlaneEgress:
    return ControlPlaneEgress(
        network,
        "Egress",
        vpc=network.vpc,
        vpc_cidr=network.vpc_cidr_block,
        subnets=network.control_plane_subnets,
        **props,  # type: ignore[arg-type]
    )


def _field(build: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as info:
        build()
    return info.value.field


def test_destination_without_route() -> None:
    network = _network()
    dest = [ControlPlaneDestination(name="idp", cidr="192.168.0.0/24")]
    assert _field(lambda: _egress(network, destinations=dest)) == "control_plane_egress[0].cidr"


def test_api_client_without_route() -> None:
    network = _network()
    assert _field(lambda: _egress(network, api_access_cidrs=["172.20.0.0/16"])) == (
        "api_access_cidrs[0]"
    )


def test_too_many_nacl_rules() -> None:
    network = _network()
    dests = [
        ControlPlaneDestination(name=f"hook-{i}", cidr=f"10.30.{200 + i}.0/24") for i in range(13)
    ]
    assert _field(lambda: _egress(network, destinations=dests)) == "control_plane_egress"


def test_destinations_inside_the_vpc_need_no_on_prem_route() -> None:
    network = _network()
    egress = _egress(
        network, destinations=[ControlPlaneDestination(name="hook", cidr="10.30.200.0/24")]
    )
    assert isinstance(egress.security_group, ec2.SecurityGroup)


def test_unsupported_kubernetes_version() -> None:
    network = _network()
    assert (
        _field(
            lambda: SecureCluster(
                network, "Eks", network=network, cluster_name="c", kubernetes_version="1.20"
            )
        )
        == "SecureCluster.kubernetes_version"
    )


def test_custom_networking_of_the_wrong_type() -> None:
    network = _network()
    assert (
        _field(
            lambda: SecureCluster(
                network,
                "Eks",
                network=network,
                cluster_name="c",
                kubernetes_version="1.34",
                custom_networking={"secondary_cidr": "100.64.0.0/16"},  # type: ignore[arg-type]
            )
        )
        == "SecureCluster.custom_networking"
    )


def test_no_admin_at_all() -> None:
    network = _network()
    assert (
        _field(
            lambda: SecureCluster(
                network, "Eks", network=network, cluster_name="c", kubernetes_version="1.34"
            )
        )
        == "admin_role_arns"
    )


@pytest.mark.parametrize(
    ("types", "field"),
    [
        (("m7i.large", "m7g.large"), "nodes.instance_types"),
        (("large",), "nodes.instance_types[0]"),
    ],
)
def test_node_group_instance_types(types: tuple[str, ...], field: str) -> None:
    assert _field(lambda: ami_type_for(types, "nodes")) == field


def test_graviton_instance_types_pick_arm64() -> None:
    assert ami_type_for(("m7g.large", "c7gn.xlarge"), "nodes").value == "AL2023_ARM_64_STANDARD"
    assert ami_type_for(("g5.xlarge",), "nodes").value == "AL2023_X86_64_STANDARD"


def test_node_group_size_bounds() -> None:
    """NodeGroupSize checks its own bounds (one rule, for the loader and the Python API)."""
    with pytest.raises(ConfigError) as info:
        NodeGroupSize(min_size=3, desired_size=2, max_size=4)
    assert info.value.field == "NodeGroupSize.desired_size"
    with pytest.raises(ConfigError) as info:
        NodeGroupSize(disk_size_gib=10)
    assert info.value.field == "NodeGroupSize.disk_size_gib"


def _nacl_entries(egress: ControlPlaneEgress) -> dict[str, tuple[int, bool]]:
    stack = cdk.Stack.of(egress)
    result = {}
    for child in egress.network_acl.node.find_all():
        if isinstance(child, ec2.CfnNetworkAclEntry):
            result[stack.get_logical_id(child)] = (child.rule_number, bool(child.egress))
    return result


def test_removing_a_destination_renumbers_no_other_nacl_entry() -> None:
    dests = [
        ControlPlaneDestination(name=name, cidr=f"10.30.{200 + i}.0/24")
        for i, name in enumerate(("oidc", "webhooks", "metrics"))
    ]
    before = _nacl_entries(
        _egress(_network(), destinations=dests, api_access_cidrs=["10.30.250.0/24"])
    )
    after = _nacl_entries(
        _egress(_network(), destinations=dests[1:], api_access_cidrs=["10.30.250.0/24"])
    )
    assert set(after) < set(before)
    for logical_id, numbered in after.items():
        assert before[logical_id] == numbered, logical_id
    numbers = [(n, e) for n, e in before.values()]
    assert len(numbers) == len(set(numbers)), "rule numbers must be unique per direction"
