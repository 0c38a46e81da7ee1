"""The synth-time subnet capacity rule (``rules.node_subnet_capacity``) and its shared model."""

from __future__ import annotations

import pytest

from eks_secure import rules
from eks_secure.config.model import NodeGroupSize, SubnetSizes
from eks_secure.network import capacity
from eks_secure.preflight import check_capacity


def problems(types: list[str], max_size: int, prefix: int, **kw: bool) -> list[str]:
    return [
        str(e)
        for e in rules.node_subnet_capacity(
            types,
            max_size,
            3,
            prefix,
            field="apps[0].nodes",
            prefix_field="subnets.app_prefix",
            **kw,
        )
    ]


def test_the_old_default_cannot_hold_the_default_node_group() -> None:
    size = NodeGroupSize()
    (problem,) = problems(list(size.instance_types), size.max_size, 26)
    assert problem == (
        "apps[0].nodes: its subnets (/26, 59 usable addresses each) cannot hold it: 4 nodes per "
        "subnet (max_size 4 over 3 subnets + 2 update surge) x 30 addresses per m7i.large "
        "(secondary IPs, VPC CNI) = 120. Fix: set subnets.app_prefix to 25 or less (a larger "
        "subnet), or lower apps[0].nodes.max_size or choose smaller "
        "apps[0].nodes.instance_types"
    )


def test_the_default_prefix_holds_the_default_node_group() -> None:
    size = NodeGroupSize()
    assert problems(list(size.instance_types), size.max_size, SubnetSizes().app) == []


def test_the_largest_instance_type_counts() -> None:
    # c7i.xlarge: 4 ENIs x 15 = 60 addresses; 3 nodes per subnet = 180 > 123 (/25)
    (problem,) = problems(["m7i.large", "c7i.xlarge"], 3, 25)
    assert "x 60 addresses per c7i.xlarge" in problem and "= 180" in problem
    assert problems(["m7i.large", "c7i.xlarge"], 3, 24) == []


def test_prefix_delegation_counts_prefixes() -> None:
    assert capacity.addresses_per_node("m7i.large", prefix_delegation=True) == 3 * (1 + 9 * 16)
    assert problems(["m7i.large"], 4, 24, prefix_delegation=True)


def test_unknown_instance_types_are_not_sized() -> None:
    assert problems(["zz9.huge"], 1000, 28) == []


@pytest.mark.parametrize("prefix", [24, 25, 26, 27, 28])
def test_rule_and_preflight_share_the_model(prefix: int) -> None:
    """One table, one formula: the preflight's check reads the same data as the rule."""
    assert check_capacity.usable(f"10.0.0.0/{prefix}") == capacity.usable(prefix)
    assert check_capacity.addresses_per_node is capacity.addresses_per_node
    assert check_capacity.eni_limits is capacity.eni_limits
