"""CIDR planner: deterministic, stable under app changes, non-overlapping, field-named errors."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.network.planner import (
    MAX_SUBNETS_PER_VPC,
    NetworkPlan,
    PoolRequest,
    SlotPlan,
    SlotRequest,
    az_positions,
    plan_network,
    stable_slot,
)

AZS3 = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
AZS4 = (*AZS3, "eu-west-1d")
VPC = "10.20.0.0/16"
ONPREM = ("10.0.0.0/14", "172.16.0.0/16")


def apps(*names: str) -> list[SlotRequest]:
    return [SlotRequest(name=n, field=f"apps[{i}]") for i, n in enumerate(names)]


def nat_pool(groups: Sequence[SlotRequest], secondary: str | None = None) -> PoolRequest:
    """The NAT pool pattern private-nat asks for."""
    return PoolRequest(
        name="nat",
        tier="nat",
        members=tuple(groups),
        subnet_prefix=28,
        secondary_cidr=secondary,
        fixed_ips=True,
        field="private_nat.secondary_cidr",
        prefix_field="subnets.nat_prefix",
        count_field="private_nat.secondary_cidr" if secondary else "apps",
    )


def plan(**kwargs: Any) -> NetworkPlan:
    """``plan_network`` with defaults; ``nat_groups``/``secondary_cidr`` make a NAT pool.

    The layout tests use /26 app subnets (the default before 0.2.0): small numbers, many slots.
    """
    args: dict[str, Any] = {
        "vpc_cidr": VPC,
        "availability_zones": AZS3,
        "on_prem_cidrs": ONPREM,
        "app_prefix": 26,
    }
    groups = kwargs.pop("nat_groups", None)
    secondary = kwargs.pop("secondary_cidr", None)
    if groups is not None or secondary is not None:
        kwargs["pools"] = [nat_pool(groups or [SlotRequest("g")], secondary)]
    args.update(kwargs)
    return plan_network(**args)


def nat_members(p: NetworkPlan) -> tuple[SlotPlan, ...]:
    return p.pool("nat").members if p.has_pool("nat") else ()


def infra(p: NetworkPlan) -> tuple[object, ...]:
    return (p.control_plane, p.endpoints, p.system_nodes)


def cidrs_by_app(p: NetworkPlan) -> dict[str, tuple[str, ...]]:
    return {a.name: a.cidrs for a in p.apps}


def assert_disjoint(networks: Sequence[str]) -> None:
    nets = [ipaddress.IPv4Network(n) for n in networks]
    for a, b in itertools.combinations(nets, 2):
        assert not a.overlaps(b), f"{a} overlaps {b}"


def test_deterministic() -> None:
    requests = apps("payments-api", "ledger", "fraud-scoring")
    groups = [SlotRequest("core-banking"), SlotRequest("analytics")]
    first = plan(apps=requests, nat_groups=groups)
    second = plan(apps=list(requests), nat_groups=list(groups))
    assert first == second


def test_stable_when_apps_added_removed_and_reordered() -> None:
    before = cidrs_by_app(plan(apps=apps("a", "b", "c")))
    after = cidrs_by_app(plan(apps=apps("d", "c", "a")))
    assert set(after) == {"a", "c", "d"}
    for name in ("a", "c"):
        assert after[name] == before[name]


def test_stable_slot_depends_on_name_only() -> None:
    assert stable_slot("payments-api", 248) == stable_slot("payments-api", 248)
    p = plan(apps=apps("payments-api"))
    assert p.app("payments-api").slot == stable_slot("payments-api", p.app_slot_count)


@pytest.mark.parametrize("secondary", [None, "100.64.0.0/22"])
@pytest.mark.parametrize("azs", [AZS3[:2], AZS3, AZS4])
def test_subnets_disjoint_and_inside_vpc(azs: tuple[str, ...], secondary: str | None) -> None:
    p = plan(
        availability_zones=azs,
        apps=apps("payments-api", "ledger", "fraud-scoring", "batch"),
        nat_groups=[SlotRequest("core-banking"), SlotRequest("analytics")],
        secondary_cidr=secondary,
    )
    subnets = p.all_subnets()
    assert len(subnets) == len(azs) * (3 + 4 + 2)
    assert_disjoint([s.cidr for s in subnets])
    vpc = ipaddress.IPv4Network(VPC)
    for s in subnets:
        net = ipaddress.IPv4Network(s.cidr)
        if s.tier == "nat" and secondary is not None:
            assert net.subnet_of(ipaddress.IPv4Network(secondary))
        else:
            assert net.subnet_of(vpc)
    for slot in (*p.apps, *nat_members(p)):
        assert [s.az for s in slot.subnets] == list(azs)
        assert all(
            ipaddress.IPv4Network(c).subnet_of(ipaddress.IPv4Network(slot.block))
            for c in slot.cidrs
        )


def test_tier_sizes_follow_prefixes() -> None:
    p = plan(
        control_plane_prefix=27,
        endpoint_prefix=25,
        system_node_prefix=23,
        app_prefix=24,
        apps=apps("a"),
    )
    assert {ipaddress.IPv4Network(s.cidr).prefixlen for s in p.control_plane} == {27}
    assert {ipaddress.IPv4Network(s.cidr).prefixlen for s in p.endpoints} == {25}
    assert {ipaddress.IPv4Network(s.cidr).prefixlen for s in p.system_nodes} == {23}
    assert {ipaddress.IPv4Network(c).prefixlen for c in p.app("a").cidrs} == {24}


def test_tiers_and_apps_unchanged_when_nat_pool_added() -> None:
    requests = apps("payments-api", "ledger")
    without = plan(apps=requests)
    with_nat = plan(apps=requests, nat_groups=[SlotRequest("core-banking")])
    assert infra(with_nat) == infra(without)
    assert cidrs_by_app(with_nat) == cidrs_by_app(without)
    assert nat_members(without) == ()
    assert with_nat.pool("nat").member("core-banking").cidrs


def test_infra_tiers_stable_when_az_count_goes_from_3_to_4() -> None:
    three = plan(apps=apps("a", "b"))
    four = plan(availability_zones=AZS4, apps=apps("a", "b"))
    for tier3, tier4 in zip(infra(three), infra(four), strict=True):
        assert isinstance(tier3, tuple) and isinstance(tier4, tuple)
        assert tier4[:3] == tier3
        assert len(tier4) == 4
    for name in ("a", "b"):
        assert four.app(name).cidrs[:3] == three.app(name).cidrs
    assert four.app_slot_count == three.app_slot_count


@pytest.mark.parametrize("secondary", [None, "100.64.0.0/22"])
def test_nat_ips_inside_subnets_and_not_reserved(secondary: str | None) -> None:
    p = plan(
        apps=apps("a"),
        nat_groups=[SlotRequest("core-banking"), SlotRequest("analytics")],
        secondary_cidr=secondary,
    )
    for group in nat_members(p):
        assert len(group.fixed_ips) == len(group.subnets)
        for ip_text, subnet in zip(group.fixed_ips, group.subnets, strict=True):
            ip = ipaddress.IPv4Address(ip_text)
            net = ipaddress.IPv4Network(subnet.cidr)
            assert ip in net
            reserved = {net.network_address + i for i in range(4)} | {net.broadcast_address}
            assert ip not in reserved


def test_app_slot_clash_names_both_fields() -> None:
    requests = [
        SlotRequest("payments-api", slot=4, field="apps[0]"),
        SlotRequest("ledger", slot=4, field="apps[1]"),
    ]
    with pytest.raises(ConfigErrors) as info:
        plan(apps=requests)
    assert info.value.fields == ("apps[1].slot",)
    assert "payments-api" in info.value.problem and "ledger" in info.value.problem
    assert "free:" in info.value.fix


def test_hashed_name_clashing_with_pinned_slot() -> None:
    count = plan().app_slot_count
    pinned = SlotRequest("payments-api", slot=stable_slot("ledger", count), field="apps[1]")
    with pytest.raises(ConfigErrors) as info:
        plan(apps=[SlotRequest("ledger", field="apps[0]"), pinned])
    # the pinned app keeps its slot; the hashed one is the one to move
    assert info.value.fields == ("apps[0].slot",)


def test_slot_out_of_range() -> None:
    with pytest.raises(ConfigErrors) as info:
        plan(apps=[SlotRequest("a", slot=10_000, field="apps[0]")])
    assert info.value.fields == ("apps[0].slot",)


def test_explicit_slot_honoured() -> None:
    p = plan(apps=[SlotRequest("a", slot=17, field="apps[0]"), SlotRequest("z", slot=0)])
    a, z = p.app("a"), p.app("z")
    assert (a.slot, z.slot) == (17, 0)
    # app blocks follow the infrastructure region back to back, so slot 17 is 17 blocks on
    block, first = ipaddress.IPv4Network(a.block), ipaddress.IPv4Network(z.block)
    assert int(block.network_address) == int(first.network_address) + 17 * block.num_addresses


def test_subnet_quota_error() -> None:
    count = (MAX_SUBNETS_PER_VPC - 3 * len(AZS3)) // len(AZS3) + 1
    requests = [SlotRequest(f"app-{i}", slot=i, field=f"apps[{i}]") for i in range(count)]
    with pytest.raises(ConfigError) as info:
        plan(apps=requests)
    assert info.value.field == "apps"
    assert "quota" in info.value.problem


def test_too_many_apps_for_vpc() -> None:
    p = plan(vpc_cidr="10.20.0.0/20")
    assert p.app_slot_count == 8
    requests = [SlotRequest(f"app-{i}", slot=i, field=f"apps[{i}]") for i in range(9)]
    with pytest.raises(ConfigError) as info:
        plan(vpc_cidr="10.20.0.0/20", apps=requests)
    assert info.value.field == "apps"


def test_too_many_nat_groups_names_a_config_field() -> None:
    groups = [SlotRequest(f"g{i}", slot=i) for i in range(5)]
    with pytest.raises(ConfigError) as info:
        plan(apps=apps("a"), nat_groups=groups)
    assert info.value.field == "apps"


@pytest.mark.parametrize(
    ("count", "positions"), [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (6, 8), (8, 8), (9, 16)]
)
def test_az_positions_rounds_up_to_power_of_two(count: int, positions: int) -> None:
    assert az_positions(count) == positions


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vpc_cidr": "10.20.0.0/15"}, "vpc_cidr"),
        ({"vpc_cidr": "10.20.0.1/16"}, "vpc_cidr"),
        ({"vpc_cidr": "11.0.0.0/16"}, "vpc_cidr"),
        ({"availability_zones": ("eu-west-1a",)}, "availability_zones"),
        ({"availability_zones": ("eu-west-1a", "eu-west-1a")}, "availability_zones[1]"),
        ({"app_prefix": 29}, "subnets.app_prefix"),
        ({"on_prem_cidrs": ("10.20.5.0/24",)}, "on_prem_cidrs[0]"),
        ({"secondary_cidr": "10.20.0.0/22"}, "private_nat.secondary_cidr"),
        ({"secondary_cidr": "10.1.0.0/22"}, "private_nat.secondary_cidr"),
        ({"secondary_cidr": "9.9.9.0/24"}, "private_nat.secondary_cidr"),
    ],
)
def test_input_errors_name_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        plan(**kwargs)
    assert info.value.field == field
    assert "Fix:" in str(info.value)


def test_shared_address_space_vpc_allowed() -> None:
    p = plan(vpc_cidr="100.64.0.0/16", on_prem_cidrs=())
    assert p.vpc_cidr == "100.64.0.0/16"


def test_construct_ids_depend_on_az_position() -> None:
    p = plan(apps=apps("a"))
    assert [s.construct_id for s in p.app("a").subnets] == ["Subnet1", "Subnet2", "Subnet3"]


# -- the address-plan lock -------------------------------------------------------------------


def test_plan_records_every_slot_in_its_lock() -> None:
    p = plan(apps=apps("a", "b"), nat_groups=[SlotRequest("core")])
    assert p.lock == {
        "apps": {"a": p.app("a").slot, "b": p.app("b").slot},
        "nat": {"core": p.pool("nat").member("core").slot},
    }


def test_locked_members_keep_their_slots_and_new_ones_take_the_next_free_slot() -> None:
    lock = {"apps": {"a": 7, "b": 3}}
    p = plan(apps=apps("a", "b", "c", "d"), lock=lock)
    assert (p.app("a").slot, p.app("b").slot) == (7, 3)
    assert (p.app("c").slot, p.app("d").slot) == (8, 9)  # after the highest slot in use
    assert p.lock["apps"] == {"a": 7, "b": 3, "c": 8, "d": 9}


def test_new_members_never_clash_even_when_their_names_hash_alike() -> None:
    """Without a lock, names hashing to one slot clash; with a lock they never do."""
    count = plan().app_slot_count
    names = [f"app-{i}" for i in range(400)]
    by_slot: dict[int, str] = {}
    clash = None
    for name in names:
        slot = stable_slot(name, count)
        if slot in by_slot:
            clash = (by_slot[slot], name)
            break
        by_slot[slot] = name
    assert clash is not None
    with pytest.raises(ConfigErrors):
        plan(apps=apps(*clash))
    p = plan(apps=apps(*clash), lock={"apps": {}})
    assert p.app(clash[0]).slot != p.app(clash[1]).slot


def test_a_removed_members_slot_is_not_reused_in_the_same_plan() -> None:
    count = plan().app_slot_count
    lock = {"apps": {"gone": count - 1, "kept": 0}}
    p = plan(apps=apps("kept", "new"), lock=lock)
    assert p.app("new").slot not in (0, count - 1)
    assert p.lock["apps"] == {"kept": 0, "new": p.app("new").slot}


def test_a_pin_that_contradicts_the_lock_is_an_error() -> None:
    with pytest.raises(ConfigErrors) as info:
        plan(apps=[SlotRequest("a", slot=2, field="apps[0]")], lock={"apps": {"a": 5}})
    assert info.value.fields == ("apps[0].slot",)
    assert "slot: 5" in info.value.errors[0].fix


def test_locked_pool_members_keep_their_slots() -> None:
    p = plan(
        apps=apps("a"),
        nat_groups=[SlotRequest("one"), SlotRequest("two")],
        lock={"nat": {"two": 0}},
    )
    assert p.pool("nat").member("two").slot == 0
    assert p.pool("nat").member("one").slot == 1
