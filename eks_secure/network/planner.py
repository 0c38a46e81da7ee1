"""Stable, deterministic CIDR planning (pure Python, no CDK).

Layout of the primary VPC CIDR::

    [ infrastructure region ][ app slot 0 ][ app slot 1 ] ... [ app slot N-1 ]

* The infrastructure region starts at the VPC's first address and holds, per AZ position, the
  system-node, endpoint and control-plane subnets (and the NAT pool when the pattern needs one and
  no secondary CIDR is given). Its layout depends only on the VPC CIDR, the tier sizes and the AZ
  count, never on the apps.
* Every app owns one *slot*: an aligned block holding one subnet per AZ position. An app's slot is
  given explicitly (``slot:``) or derived from a hash of its name, so it depends on the app's name
  alone: adding, removing or reordering other apps never moves it. Two names that hash to the
  same slot are an error that lists free slots, so the user pins one of them.
* NAT groups use the same scheme inside the NAT pool.

AZ positions follow the order of ``availability_zones``; the number of positions is that count
rounded up to a power of two, so appending an AZ up to that count changes nothing else.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eks_secure.errors import ConfigError, ConfigErrors

IPv4Network = ipaddress.IPv4Network

MAX_SUBNETS_PER_VPC = 200
"""AWS default quota of subnets per VPC."""

AWS_RESERVED_LEADING = 4
"""AWS reserves the first four addresses (and the last one) of every subnet."""

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

PRIVATE_RANGES: tuple[IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""Address space a VPC CIDR may come from: RFC 1918 and RFC 6598 (shared address space)."""


def is_private_range(network: IPv4Network) -> bool:
    """Whether ``network`` lies inside RFC 1918 or RFC 6598 space (:data:`PRIVATE_RANGES`)."""
    return any(network.subnet_of(r) for r in PRIVATE_RANGES)


@dataclass(frozen=True)
class SubnetPlan:
    """One planned subnet: which tier, which owner, which AZ, which CIDR."""

    tier: str
    """``control-plane``, ``endpoints``, ``system-nodes``, ``app`` or ``nat``."""
    owner: str
    """The app or NAT group name for ``app``/``nat`` subnets; the tier name otherwise."""
    az: str
    az_position: int
    cidr: str

    @property
    def construct_id(self) -> str:
        """Stable construct ID: depends on the AZ position only (unique within its owner)."""
        return f"Subnet{self.az_position + 1}"


@dataclass(frozen=True)
class SlotPlan:
    """The subnets of one app or NAT group, one per AZ."""

    name: str
    slot: int
    block: str
    subnets: tuple[SubnetPlan, ...]

    @property
    def cidrs(self) -> tuple[str, ...]:
        """Subnet CIDRs, in AZ order."""
        return tuple(s.cidr for s in self.subnets)


@dataclass(frozen=True)
class NatGroupPlan(SlotPlan):
    """A NAT group's subnets and the fixed primary private IP of its gateway in each AZ."""

    nat_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkPlan:
    """The complete address plan of a deployment."""

    vpc_cidr: str
    availability_zones: tuple[str, ...]
    control_plane: tuple[SubnetPlan, ...]
    endpoints: tuple[SubnetPlan, ...]
    system_nodes: tuple[SubnetPlan, ...]
    apps: tuple[SlotPlan, ...]
    nat_groups: tuple[NatGroupPlan, ...]
    app_slot_count: int
    nat_slot_count: int
    secondary_cidr: str | None = None

    def app(self, name: str) -> SlotPlan:
        """The plan of the app called ``name``."""
        for app in self.apps:
            if app.name == name:
                return app
        raise KeyError(name)

    def nat_group(self, name: str) -> NatGroupPlan:
        """The plan of the NAT group called ``name``."""
        for group in self.nat_groups:
            if group.name == name:
                return group
        raise KeyError(name)

    def all_subnets(self) -> tuple[SubnetPlan, ...]:
        """Every planned subnet."""
        result: list[SubnetPlan] = [*self.control_plane, *self.endpoints, *self.system_nodes]
        for slot in (*self.apps, *self.nat_groups):
            result.extend(slot.subnets)
        return tuple(result)


@dataclass(frozen=True)
class SlotRequest:
    """An app or NAT group asking for a slot; ``slot`` pins it explicitly."""

    name: str
    slot: int | None = None
    field: str = "apps"
    """Config path of the request, used in error messages (e.g. ``apps[2]``)."""


def stable_slot(name: str, slot_count: int) -> int:
    """The slot a name maps to when none is pinned: a hash of the name, nothing else."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % slot_count


def az_positions(az_count: int) -> int:
    """Number of AZ positions reserved per slot: ``az_count`` rounded up to a power of two."""
    positions = 1
    while positions < az_count:
        positions *= 2
    return positions


def _block_prefix(subnet_prefix: int, positions: int) -> int:
    return subnet_prefix - (positions.bit_length() - 1)


def _check_prefix(field: str, prefix: int, lowest: int = 16, highest: int = 28) -> None:
    if not lowest <= prefix <= highest:
        raise ConfigError(
            field,
            f"prefix /{prefix} is outside what AWS allows for a subnet",
            f"use a prefix between /{lowest} and /{highest}",
        )


def _allocate(
    region: IPv4Network, requests: Sequence[tuple[str, int]]
) -> tuple[dict[str, IPv4Network], IPv4Network]:
    """Allocate aligned blocks from the start of ``region``, in the order given.

    Callers pass the fixed tiers first (largest first, so no space is lost to alignment) and
    optional pools after them, so an optional pool never moves a fixed tier. Returns the blocks
    by name and the smallest aligned block at the start of ``region`` that contains them all.
    """
    blocks: dict[str, IPv4Network] = {}
    cursor = int(region.network_address)
    for name, prefix in requests:
        size = 2 ** (32 - prefix)
        cursor = -(-cursor // size) * size
        blocks[name] = ipaddress.IPv4Network((cursor, prefix))
        cursor += size
    used = cursor - int(region.network_address)
    prefix = 32
    while 2 ** (32 - prefix) < used:
        prefix -= 1
    return blocks, ipaddress.IPv4Network((int(region.network_address), prefix))


def _tier(tier: str, block: IPv4Network, prefix: int, azs: Sequence[str]) -> tuple[SubnetPlan, ...]:
    subnets = list(block.subnets(new_prefix=prefix))
    return tuple(
        SubnetPlan(tier=tier, owner=tier, az=az, az_position=i, cidr=str(subnets[i]))
        for i, az in enumerate(azs)
    )


def _assign_slots(
    requests: Sequence[SlotRequest], slot_count: int, what: str, size_fix: str, count_field: str
) -> dict[str, int]:
    """Map each request to its slot; raise a field-named error on any clash."""
    errors: list[ConfigError] = []
    if len(requests) > slot_count:
        raise ConfigError(
            count_field,
            f"{len(requests)} {what} are configured but only {slot_count} fit",
            size_fix,
        )
    taken: dict[int, str] = {}
    pinned = [r for r in requests if r.slot is not None]
    hashed = [r for r in requests if r.slot is None]
    wanted = {
        r.name: r.slot if r.slot is not None else stable_slot(r.name, slot_count) for r in requests
    }
    claimed = {slot: name for name, slot in wanted.items()}
    assigned: dict[str, int] = {}
    for request in (*pinned, *hashed):
        slot = wanted[request.name]
        if not 0 <= slot < slot_count:
            errors.append(
                ConfigError(
                    f"{request.field}.slot",
                    f"slot {slot} of '{request.name}' is outside 0..{slot_count - 1}",
                    f"pick a slot between 0 and {slot_count - 1}",
                )
            )
            continue
        if slot in taken:
            errors.append(
                ConfigError(
                    f"{request.field}.slot",
                    f"'{request.name}' and '{taken[slot]}' both use slot {slot}",
                    "pin the one that is not deployed yet to a free slot with `slot:` "
                    f"(free: {_free_slots(claimed, slot_count, slot)})",
                )
            )
            continue
        taken[slot] = request.name
        assigned[request.name] = slot
    if errors:
        raise ConfigErrors(errors)
    return assigned


def _free_slots(taken: dict[int, str], slot_count: int, clash: int) -> str:
    free = [s for s in range(slot_count) if s not in taken and s != clash]
    shown = ", ".join(str(s) for s in free[:8])
    return shown + (", ..." if len(free) > 8 else "") if free else "none"


def _slot_plans(
    *,
    tier: str,
    requests: Sequence[SlotRequest],
    slots: dict[str, int],
    blocks: Sequence[IPv4Network],
    subnet_prefix: int,
    azs: Sequence[str],
) -> list[tuple[SlotRequest, int, IPv4Network, tuple[SubnetPlan, ...]]]:
    result = []
    for request in sorted(requests, key=lambda r: r.name):
        slot = slots[request.name]
        block = blocks[slot]
        subnets = list(block.subnets(new_prefix=subnet_prefix))
        planned = tuple(
            SubnetPlan(tier=tier, owner=request.name, az=az, az_position=i, cidr=str(subnets[i]))
            for i, az in enumerate(azs)
        )
        result.append((request, slot, block, planned))
    return result


def _network(field: str, value: str) -> IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ConfigError(
            field,
            f"'{value}' is not an IPv4 network address in CIDR form ({exc})",
            "write it as a.b.c.d/n with no host bits set, e.g. 10.20.0.0/16",
        ) from None


def _networks(field: str, values: Iterable[str]) -> list[IPv4Network]:
    return [_network(f"{field}[{i}]", value) for i, value in enumerate(values)]


def plan_network(
    *,
    vpc_cidr: str,
    availability_zones: Sequence[str],
    on_prem_cidrs: Sequence[str] = (),
    apps: Sequence[SlotRequest] = (),
    nat_groups: Sequence[SlotRequest] = (),
    control_plane_prefix: int = 27,
    endpoint_prefix: int = 26,
    system_node_prefix: int = 24,
    app_prefix: int = 26,
    nat_prefix: int = 28,
    nat_pool_prefix: int = 24,
    secondary_cidr: str | None = None,
) -> NetworkPlan:
    """Plan every subnet of a deployment; raise :class:`ConfigError` on input that cannot fit.

    ``nat_groups`` non-empty reserves a NAT pool: a ``/nat_pool_prefix`` block in the
    infrastructure region, or all of ``secondary_cidr`` when given.
    """
    vpc = _network("vpc_cidr", vpc_cidr)
    if not 16 <= vpc.prefixlen <= 24:
        raise ConfigError(
            "vpc_cidr",
            f"a VPC CIDR must be between /16 and /24, got /{vpc.prefixlen}",
            "use a /16 to /24 block",
        )
    if not is_private_range(vpc):
        raise ConfigError(
            "vpc_cidr",
            f"{vpc} is not private (RFC 1918 / RFC 6598) address space",
            "use a block from 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
        )
    azs = tuple(availability_zones)
    if len(azs) < 2:
        raise ConfigError(
            "availability_zones",
            f"{len(azs)} availability zone(s) given; EKS needs subnets in at least two",
            "list two or more availability zones of the region",
        )
    if len(set(azs)) != len(azs):
        raise ConfigError(
            "availability_zones", "an availability zone is listed twice", "list each AZ once"
        )
    for field, prefix in (
        ("subnets.control_plane_prefix", control_plane_prefix),
        ("subnets.endpoint_prefix", endpoint_prefix),
        ("subnets.system_node_prefix", system_node_prefix),
        ("subnets.app_prefix", app_prefix),
        ("subnets.nat_prefix", nat_prefix),
    ):
        _check_prefix(field, prefix)
    positions = az_positions(len(azs))

    onprem = _networks("on_prem_cidrs", on_prem_cidrs)
    for i, net in enumerate(onprem):
        if net.overlaps(vpc):
            raise ConfigError(
                f"on_prem_cidrs[{i}]",
                f"{net} overlaps the VPC CIDR {vpc}, so it could never be routed on-premises",
                "ask the network team for a VPC range disjoint from on-premises space",
            )

    secondary: IPv4Network | None = None
    if secondary_cidr is not None:
        secondary = _network("private_nat.secondary_cidr", secondary_cidr)
        if not is_private_range(secondary) or not 16 <= secondary.prefixlen <= 28:
            raise ConfigError(
                "private_nat.secondary_cidr",
                f"{secondary} must be a /16 to /28 block of private (RFC 1918 / RFC 6598) space",
                "use e.g. a block from 100.64.0.0/10 that is unused on-premises",
            )
        if secondary.overlaps(vpc):
            raise ConfigError(
                "private_nat.secondary_cidr",
                f"{secondary} overlaps the primary VPC CIDR {vpc}",
                "pick a secondary block outside vpc_cidr",
            )
        for i, net in enumerate(onprem):
            if secondary.overlaps(net):
                raise ConfigError(
                    "private_nat.secondary_cidr",
                    f"{secondary} overlaps on_prem_cidrs[{i}] {net}; NAT subnets must be "
                    "routable from on-premises",
                    "pick a secondary block disjoint from every on-premises CIDR",
                )

    requests = [
        ("system-nodes", _block_prefix(system_node_prefix, positions)),
        ("endpoints", _block_prefix(endpoint_prefix, positions)),
        ("control-plane", _block_prefix(control_plane_prefix, positions)),
    ]
    nat_block_prefix = _block_prefix(nat_prefix, positions)
    if nat_groups and secondary is None:
        requests.append(("nat-pool", min(nat_pool_prefix, nat_block_prefix)))
    for name, prefix in requests:
        if prefix < vpc.prefixlen:
            raise ConfigError(
                "vpc_cidr",
                f"the {name} tier needs a /{prefix} but the VPC is only a /{vpc.prefixlen}",
                "use a larger vpc_cidr or smaller subnets (`subnets:` prefixes)",
            )
    infra_blocks, infra = _allocate(vpc, requests)
    if infra.prefixlen < vpc.prefixlen or not infra.subnet_of(vpc):
        raise ConfigError(
            "vpc_cidr",
            f"{vpc} cannot hold the infrastructure subnets (they need a /{infra.prefixlen})",
            "use a larger vpc_cidr or smaller tier prefixes under `subnets:`",
        )

    app_block_prefix = _block_prefix(app_prefix, positions)
    app_blocks: list[IPv4Network] = []
    if app_block_prefix >= vpc.prefixlen:
        app_blocks = [b for b in vpc.subnets(new_prefix=app_block_prefix) if not b.overlaps(infra)]
    tier_subnets = 3 * len(azs)
    quota_apps = max(0, (MAX_SUBNETS_PER_VPC - tier_subnets - len(nat_groups) * len(azs)))
    quota_apps //= len(azs)
    if apps and len(apps) > quota_apps:
        raise ConfigError(
            "apps",
            f"{len(apps)} apps need {len(apps) * len(azs)} subnets; with the "
            f"{tier_subnets + len(nat_groups) * len(azs)} infrastructure subnets only "
            f"{quota_apps} apps fit in the {MAX_SUBNETS_PER_VPC}-subnet-per-VPC quota",
            f"keep at most {quota_apps} apps per VPC, use fewer AZs, or raise the subnet quota "
            "with AWS and split the apps over several clusters",
        )
    app_slots = _assign_slots(
        apps,
        len(app_blocks),
        "apps",
        f"{len(app_blocks)} app slots of /{app_block_prefix} ({positions} x /{app_prefix}) fit "
        f"after the infrastructure subnets of {vpc}: use a larger vpc_cidr or a smaller "
        "subnets.app_prefix",
        "apps",
    )
    app_plans = tuple(
        SlotPlan(name=r.name, slot=slot, block=str(block), subnets=subnets)
        for r, slot, block, subnets in _slot_plans(
            tier="app",
            requests=apps,
            slots=app_slots,
            blocks=app_blocks,
            subnet_prefix=app_prefix,
            azs=azs,
        )
    )

    nat_plans: tuple[NatGroupPlan, ...] = ()
    nat_slot_count = 0
    if nat_groups:
        pool = secondary if secondary is not None else infra_blocks["nat-pool"]
        if nat_block_prefix < pool.prefixlen:
            raise ConfigError(
                "private_nat.secondary_cidr" if secondary is not None else "subnets.nat_prefix",
                f"one NAT group needs a /{nat_block_prefix} ({positions} x /{nat_prefix}) but "
                f"the NAT pool is a /{pool.prefixlen}",
                "use a larger secondary CIDR or a smaller subnets.nat_prefix",
            )
        nat_blocks = list(pool.subnets(new_prefix=nat_block_prefix))
        nat_slot_count = len(nat_blocks)
        nat_slots = _assign_slots(
            nat_groups,
            nat_slot_count,
            "NAT groups",
            f"{nat_slot_count} NAT groups fit in the NAT pool {pool}: use fewer groups or a "
            "larger private_nat.secondary_cidr",
            "private_nat.secondary_cidr" if secondary is not None else "apps",
        )
        nat_plans = tuple(
            NatGroupPlan(
                name=r.name,
                slot=slot,
                block=str(block),
                subnets=subnets,
                nat_ips=tuple(
                    str(ipaddress.IPv4Network(s.cidr).network_address + AWS_RESERVED_LEADING)
                    for s in subnets
                ),
            )
            for r, slot, block, subnets in _slot_plans(
                tier="nat",
                requests=nat_groups,
                slots=nat_slots,
                blocks=nat_blocks,
                subnet_prefix=nat_prefix,
                azs=azs,
            )
        )

    return NetworkPlan(
        vpc_cidr=str(vpc),
        availability_zones=azs,
        control_plane=_tier(
            "control-plane", infra_blocks["control-plane"], control_plane_prefix, azs
        ),
        endpoints=_tier("endpoints", infra_blocks["endpoints"], endpoint_prefix, azs),
        system_nodes=_tier("system-nodes", infra_blocks["system-nodes"], system_node_prefix, azs),
        apps=app_plans,
        nat_groups=nat_plans,
        app_slot_count=len(app_blocks),
        nat_slot_count=nat_slot_count,
        secondary_cidr=str(secondary) if secondary is not None else None,
    )
