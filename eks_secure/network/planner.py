"""Stable, deterministic CIDR planning (pure Python, no CDK).

Layout of the primary VPC CIDR::

    [ infrastructure region ][ app slot 0 ][ app slot 1 ] ... [ app slot N-1 ]

* The infrastructure region starts at the VPC's first address and holds, per AZ position, the
  system-node, endpoint and control-plane subnets, followed by the *named pools* an egress
  pattern asks for (NAT subnets, gateway subnets...) unless a pool comes from a secondary CIDR.
  Its layout depends only on the VPC CIDR, the tier sizes, the pools and the AZ count, never on
  the apps.
* Every app of a pattern with dedicated subnets owns one *slot* of the app pool: an aligned
  block holding one subnet per AZ position. Members of a named pool (NAT groups, egress groups)
  own slots of that pool the same way.
* A slot is pinned (``slot:``), recorded in an address-plan lock
  (:mod:`eks_secure.network.lock`) or, without a lock, derived from a hash of the member's
  name. Either way it depends on the member alone: adding, removing or reordering other
  members never moves it.

AZ positions follow the order of ``availability_zones``; the number of positions is that count
rounded up to a power of two, so appending an AZ up to that count changes nothing else.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eks_secure import rules
from eks_secure.errors import ConfigError, ConfigErrors

IPv4Network = ipaddress.IPv4Network

MAX_SUBNETS_PER_VPC = 200
"""AWS default quota of subnets per VPC."""

AWS_RESERVED_LEADING = 4
"""AWS reserves the first four addresses (and the last one) of every subnet."""

APP_POOL = "apps"
"""Name of the app pool in a lock (the rest of the primary CIDR after the infrastructure)."""

DNS1123_LABEL = rules.DNS1123_LABEL
is_private_range = rules.is_private_range


@dataclass(frozen=True)
class SubnetPlan:
    """One planned subnet: which tier, which owner, which AZ, which CIDR."""

    tier: str
    """``control-plane``, ``endpoints``, ``system-nodes``, ``app`` or a pool's tier."""
    owner: str
    """The app or pool member name for slot subnets; the tier name otherwise."""
    az: str
    az_position: int
    cidr: str

    @property
    def construct_id(self) -> str:
        """Stable construct ID: depends on the AZ position only (unique within its owner)."""
        return f"Subnet{self.az_position + 1}"


@dataclass(frozen=True)
class SlotPlan:
    """The subnets of one app or pool member, one per AZ."""

    name: str
    slot: int
    block: str
    subnets: tuple[SubnetPlan, ...]
    fixed_ips: tuple[str, ...] = ()
    """One fixed address per subnet (the first usable one) when the pool asks for it, e.g.
    the primary private IP of a NAT gateway."""

    @property
    def cidrs(self) -> tuple[str, ...]:
        """Subnet CIDRs, in AZ order."""
        return tuple(s.cidr for s in self.subnets)

    @property
    def tier(self) -> str:
        """The tier of the slot's subnets."""
        return self.subnets[0].tier


@dataclass(frozen=True)
class SlotRequest:
    """An app or pool member asking for a slot; ``slot`` pins it explicitly."""

    name: str
    slot: int | None = None
    field: str = "apps"
    """Config path of the request, used in error messages (e.g. ``apps[2]``)."""


@dataclass(frozen=True)
class PoolRequest:
    """A named address pool an egress pattern needs besides the app pool.

    The pool is a block of the infrastructure region (``pool_prefix``, or the one slot it needs
    if that is larger) or the whole ``secondary_cidr``; it is cut into slots of one
    ``/subnet_prefix`` subnet per AZ position, one slot per member.
    """

    name: str
    """Pool name: its key in the lock and in :meth:`NetworkPlan.pool`."""
    tier: str
    """Tier of its subnets (``eks-secure.io/tier`` tag)."""
    members: tuple[SlotRequest, ...]
    subnet_prefix: int
    pool_prefix: int = 24
    secondary_cidr: str | None = None
    """Carve the pool from this additional VPC CIDR block instead of the primary CIDR."""
    fixed_ips: bool = False
    """Reserve each subnet's first usable address (see :attr:`SlotPlan.fixed_ips`)."""
    field: str = ""
    """Config path of the pool's CIDR or size, for errors (e.g. ``private_nat.secondary_cidr``)."""
    prefix_field: str = ""
    """Config path of ``subnet_prefix`` (e.g. ``subnets.nat_prefix``)."""
    count_field: str = "apps"
    """Config path blamed when the members do not fit."""
    late: bool = False
    """Place the pool after every other pool (an isolation pool): turning it on then moves no
    pattern pool."""


@dataclass(frozen=True)
class PoolPlan:
    """A planned named pool and its members."""

    name: str
    tier: str
    block: str
    slot_count: int
    members: tuple[SlotPlan, ...]
    secondary_cidr: str | None = None

    def member(self, name: str) -> SlotPlan:
        """The plan of member ``name``."""
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)


@dataclass(frozen=True)
class NetworkPlan:
    """The complete address plan of a deployment."""

    vpc_cidr: str
    availability_zones: tuple[str, ...]
    control_plane: tuple[SubnetPlan, ...]
    endpoints: tuple[SubnetPlan, ...]
    system_nodes: tuple[SubnetPlan, ...]
    apps: tuple[SlotPlan, ...]
    app_slot_count: int
    pools: tuple[PoolPlan, ...] = ()
    secondary_cidr: str | None = None
    lock: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Every slot of the plan, by pool (``apps`` for the app pool) and member: what an
    address-plan lock records."""

    @property
    def vpc_cidrs(self) -> tuple[str, ...]:
        """The VPC's CIDR blocks: the primary and, when planned, the secondary."""
        return (self.vpc_cidr, *((self.secondary_cidr,) if self.secondary_cidr else ()))

    @property
    def endpoint_cidrs(self) -> tuple[str, ...]:
        """The interface endpoint subnets' CIDRs, one per AZ (where the endpoints' ENIs are)."""
        return tuple(s.cidr for s in self.endpoints)

    def app(self, name: str) -> SlotPlan:
        """The plan of the app called ``name``."""
        for app in self.apps:
            if app.name == name:
                return app
        raise KeyError(name)

    def pool(self, name: str) -> PoolPlan:
        """The named pool ``name``."""
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise KeyError(name)

    def has_pool(self, name: str) -> bool:
        """Whether the plan has a named pool ``name``."""
        return any(pool.name == name for pool in self.pools)

    def slots(self) -> tuple[SlotPlan, ...]:
        """Every app and pool-member slot."""
        return (*self.apps, *(m for pool in self.pools for m in pool.members))

    def all_subnets(self) -> tuple[SubnetPlan, ...]:
        """Every planned subnet."""
        result: list[SubnetPlan] = [*self.control_plane, *self.endpoints, *self.system_nodes]
        for slot in self.slots():
            result.extend(slot.subnets)
        return tuple(result)


def stable_slot(name: str, slot_count: int) -> int:
    """The slot a name maps to when none is pinned or locked: a hash of the name, nothing else."""
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


def _allocate(
    region: IPv4Network, requests: Sequence[tuple[str, int]]
) -> tuple[dict[str, IPv4Network], IPv4Network]:
    """Allocate aligned blocks from the start of ``region``, in the order given.

    Callers pass the fixed tiers first (largest first, so no space is lost to alignment) and
    the pools after them, so a pool never moves a fixed tier. Returns the blocks by name and the
    smallest aligned block at the start of ``region`` that contains them all.
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


def _next_free(taken: set[int], slot_count: int, after: int) -> int | None:
    """The lowest free slot above ``after``, wrapping to the lowest free one."""
    for slot in (*range(after + 1, slot_count), *range(after + 1)):
        if slot not in taken:
            return int(slot)
    return None


def _assign_slots(  # noqa: PLR0917 -- internal helper, called twice with every argument
    requests: Sequence[SlotRequest],
    slot_count: int,
    what: str,
    size_fix: str,
    count_field: str,
    locked: Mapping[str, int] | None,
) -> dict[str, int]:
    """Map each request to its slot; raise a field-named error on any clash.

    Order of precedence: a pinned ``slot``, then the lock, then (new members with a lock) the
    next free slot after the highest one in use, or (no lock) the hash of the name.
    """
    if len(requests) > slot_count:
        raise ConfigError(
            count_field,
            f"{len(requests)} {what} are configured but only {slot_count} fit",
            size_fix,
        )
    errors: list[ConfigError] = []
    taken: dict[int, str] = {}
    wanted: dict[str, int] = {}
    for r in requests:
        if r.slot is not None:
            wanted[r.name] = r.slot
            if locked is not None and r.name in locked and locked[r.name] != r.slot:
                errors.append(
                    ConfigError(
                        f"{r.field}.slot",
                        f"'{r.name}' is pinned to slot {r.slot} but the address-plan lock "
                        f"records slot {locked[r.name]}; moving it would replace its subnets",
                        f"set slot: {locked[r.name]}, or remove the pin",
                    )
                )
        elif locked is not None and r.name in locked:
            wanted[r.name] = locked[r.name]
        elif locked is None:
            wanted[r.name] = stable_slot(r.name, slot_count)
    # slots recorded for members that are gone stay reserved in this plan: their subnets are
    # only deleted after the new ones are created, so reusing them now would collide
    reserved = {s for n, s in (locked or {}).items() if n not in wanted}
    claimed = {slot: name for name, slot in wanted.items()}
    assigned: dict[str, int] = {}
    pinned_first = sorted(requests, key=lambda r: (r.slot is None, r.name not in wanted))
    for request in pinned_first:
        slot = wanted.get(request.name)
        if slot is None:  # a new member with a lock: the next free slot
            in_use = set(taken) | set(claimed) | reserved
            after = max(in_use) if in_use else -1
            free = _next_free(in_use, slot_count, after)
            if free is None:
                errors.append(
                    ConfigError(
                        count_field,
                        f"no free slot is left for '{request.name}' ({slot_count} {what} fit)",
                        size_fix,
                    )
                )
                continue
            slot = free
            claimed[slot] = request.name
        if not 0 <= slot < slot_count:
            errors.append(
                ConfigError(
                    f"{request.field}.slot",
                    f"slot {slot} of '{request.name}' is outside 0..{slot_count - 1}",
                    f"pick a slot between 0 and {slot_count - 1}",
                )
            )
            continue
        occupied = {**claimed, **dict.fromkeys(reserved, "")}
        if slot in taken or (slot in reserved and request.slot is not None):
            other = taken.get(slot, "a removed member")
            errors.append(
                ConfigError(
                    f"{request.field}.slot",
                    f"'{request.name}' and '{other}' both use slot {slot}",
                    "pin the one that is not deployed yet to a free slot with `slot:` "
                    f"(free: {_free_slots(occupied, slot_count, slot)})",
                )
            )
            continue
        taken[slot] = request.name
        assigned[request.name] = slot
    if errors:
        raise ConfigErrors(errors)
    return assigned


def _free_slots(taken: Mapping[int, str], slot_count: int, clash: int) -> str:
    free = [s for s in range(slot_count) if s not in taken and s != clash]
    shown = ", ".join(str(s) for s in free[:8])
    return shown + (", ..." if len(free) > 8 else "") if free else "none"


def _slot_plans(
    *,
    tier: str,
    requests: Sequence[SlotRequest],
    slots: Mapping[str, int],
    blocks: Sequence[IPv4Network],
    subnet_prefix: int,
    azs: Sequence[str],
    fixed_ips: bool = False,
) -> tuple[SlotPlan, ...]:
    result = []
    for request in sorted(requests, key=lambda r: r.name):
        slot = slots[request.name]
        block = blocks[slot]
        subnets = list(block.subnets(new_prefix=subnet_prefix))
        planned = tuple(
            SubnetPlan(tier=tier, owner=request.name, az=az, az_position=i, cidr=str(subnets[i]))
            for i, az in enumerate(azs)
        )
        ips = (
            tuple(
                str(ipaddress.IPv4Network(s.cidr).network_address + AWS_RESERVED_LEADING)
                for s in planned
            )
            if fixed_ips
            else ()
        )
        result.append(
            SlotPlan(name=request.name, slot=slot, block=str(block), subnets=planned, fixed_ips=ips)
        )
    return tuple(result)


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
    pools: Sequence[PoolRequest] = (),
    control_plane_prefix: int = 27,
    endpoint_prefix: int = 26,
    system_node_prefix: int = 24,
    app_prefix: int = 24,
    max_subnets: int = MAX_SUBNETS_PER_VPC,
    lock: Mapping[str, Mapping[str, int]] | None = None,
) -> NetworkPlan:
    """Plan every subnet of a deployment; raise :class:`ConfigError` on input that cannot fit.

    ``apps`` take slots of the app pool; each of ``pools`` is a named pool in the
    infrastructure region (or its secondary CIDR). With ``lock`` (pool -> member -> slot, as in
    :attr:`NetworkPlan.lock`) recorded members keep their slots and new ones take the next free
    slot; without it slots come from name hashes. ``max_subnets`` is the account's subnets-per-VPC
    quota (default: AWS's default).
    """
    vpc = _network("vpc_cidr", vpc_cidr)
    rules.raise_problems(rules.vpc_cidr(vpc))
    azs = tuple(availability_zones)
    rules.raise_problems(rules.availability_zones(azs, None, "availability_zones")[:1])
    for name, prefix in (
        ("subnets.control_plane_prefix", control_plane_prefix),
        ("subnets.endpoint_prefix", endpoint_prefix),
        ("subnets.system_node_prefix", system_node_prefix),
        ("subnets.app_prefix", app_prefix),
        *(
            (pool.prefix_field or f"{pool.name}.subnet_prefix", pool.subnet_prefix)
            for pool in pools
        ),
    ):
        rules.raise_problems(rules.subnet_prefix(prefix, name))
    positions = az_positions(len(azs))

    onprem = _networks("on_prem_cidrs", on_prem_cidrs)
    rules.raise_problems(
        [p for p in rules.on_prem_cidrs(onprem, vpc) if "VPC CIDR" in p.problem][:1]
    )

    secondaries = {p.secondary_cidr for p in pools if p.secondary_cidr is not None}
    if len(secondaries) > 1:
        raise ConfigError(
            pools[0].field,
            f"the address pools ask for different secondary CIDRs {sorted(secondaries)}",
            "carve every pool from one secondary CIDR",
        )
    secondary: IPv4Network | None = None
    if secondaries:
        pool_field = next(p.field for p in pools if p.secondary_cidr is not None)
        secondary = _network(pool_field, next(iter(secondaries)))
        rules.raise_problems(rules.secondary_cidr(secondary, vpc, onprem, pool_field)[:1])

    requests = [
        ("system-nodes", _block_prefix(system_node_prefix, positions)),
        ("endpoints", _block_prefix(endpoint_prefix, positions)),
        ("control-plane", _block_prefix(control_plane_prefix, positions)),
    ]
    ordered_pools = sorted(pools, key=lambda p: (p.late, p.name))
    for pool in ordered_pools:
        if pool.members and pool.secondary_cidr is None:
            block = _block_prefix(pool.subnet_prefix, positions)
            requests.append((f"pool:{pool.name}", min(pool.pool_prefix, block)))
    for name, prefix in requests:
        if prefix < vpc.prefixlen:
            raise ConfigError(
                "vpc_cidr",
                f"the {name.removeprefix('pool:')} tier needs a /{prefix} but the VPC is only a "
                f"/{vpc.prefixlen}",
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
    pool_subnets = sum(len(p.members) for p in pools) * len(azs)
    quota_apps = max(0, (max_subnets - tier_subnets - pool_subnets)) // len(azs)
    if apps and len(apps) > quota_apps:
        raise ConfigError(
            "apps",
            f"{len(apps)} apps need {len(apps) * len(azs)} subnets; with the "
            f"{tier_subnets + pool_subnets} infrastructure subnets only "
            f"{quota_apps} apps fit in the {max_subnets}-subnet-per-VPC quota",
            f"keep at most {quota_apps} apps per VPC, use fewer AZs, or have AWS raise the "
            "subnet quota and set subnets.subnets_per_vpc to it",
        )
    if pool_subnets + tier_subnets > max_subnets:
        raise ConfigError(
            ordered_pools[0].count_field,
            f"the address pools need {pool_subnets} subnets besides the {tier_subnets} tier "
            f"subnets, over the {max_subnets}-subnet-per-VPC quota",
            "use fewer groups or AZs, or have AWS raise the subnet quota and set "
            "subnets.subnets_per_vpc to it",
        )
    app_slots = _assign_slots(
        apps,
        len(app_blocks),
        "apps",
        f"{len(app_blocks)} app slots of /{app_block_prefix} ({positions} x /{app_prefix}) fit "
        f"after the infrastructure subnets of {vpc}: use a larger vpc_cidr or a smaller "
        "subnets.app_prefix",
        "apps",
        None if lock is None else lock.get(APP_POOL, {}),
    )
    app_plans = _slot_plans(
        tier="app",
        requests=apps,
        slots=app_slots,
        blocks=app_blocks,
        subnet_prefix=app_prefix,
        azs=azs,
    )

    pool_plans: list[PoolPlan] = []
    new_lock: dict[str, dict[str, int]] = {}
    if apps:
        new_lock[APP_POOL] = dict(sorted(app_slots.items()))
    for pool in ordered_pools:
        if not pool.members:
            continue
        region = secondary if pool.secondary_cidr is not None else infra_blocks[f"pool:{pool.name}"]
        assert region is not None
        block_prefix = _block_prefix(pool.subnet_prefix, positions)
        if block_prefix < region.prefixlen:
            raise ConfigError(
                pool.field if pool.secondary_cidr is not None else pool.prefix_field or pool.field,
                f"one {pool.name} slot needs a /{block_prefix} ({positions} x "
                f"/{pool.subnet_prefix}) but the {pool.name} pool is a /{region.prefixlen}",
                "use a larger secondary CIDR or a smaller subnet prefix",
            )
        blocks = list(region.subnets(new_prefix=block_prefix))
        slots = _assign_slots(
            pool.members,
            len(blocks),
            f"{pool.name} pool members",
            f"{len(blocks)} fit in the {pool.name} pool {region}: use fewer of them or a "
            "larger pool",
            pool.field if pool.secondary_cidr is not None else pool.count_field,
            None if lock is None else lock.get(pool.name, {}),
        )
        new_lock[pool.name] = dict(sorted(slots.items()))
        pool_plans.append(
            PoolPlan(
                name=pool.name,
                tier=pool.tier,
                block=str(region),
                slot_count=len(blocks),
                members=_slot_plans(
                    tier=pool.tier,
                    requests=pool.members,
                    slots=slots,
                    blocks=blocks,
                    subnet_prefix=pool.subnet_prefix,
                    azs=azs,
                    fixed_ips=pool.fixed_ips,
                ),
                secondary_cidr=pool.secondary_cidr,
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
        app_slot_count=len(app_blocks),
        pools=tuple(pool_plans),
        secondary_cidr=str(secondary) if secondary is not None else None,
        lock=new_lock,
    )
