"""Subnet NACLs of the node subnets: an admin (bastion) subnet tier, SSH only from it (seed 003).

Security-group rules only allow, and a node's groups add up, so "SSH to nodes only from the
bastions" cannot be said with security groups. A network ACL can: the node subnets (the system
nodes' and every node group's, app subnets included) get one NACL whose inbound entries, in
order,

1. allow each of :attr:`admin_ports` (default TCP 22) from the admin pool's block (one
   ``/admin_subnet_prefix`` subnet per AZ, planned as pool :data:`ADMIN_POOL`),
2. **deny** the same ports from ``0.0.0.0/0`` (the explicit DENY the seed asks for), and
3. allow everything else from ``0.0.0.0/0``,

and whose one outbound entry allows everything (NACLs are stateless: replies to the bastions'
SSH leave on ephemeral ports, replies from the control plane, endpoints, S3 and on-premises come
back on ephemeral ports, which rule 3 admits). Every flow the cluster needs stays open (the
preflight's network check traces them through this NACL); only the admin ports change.

The admin subnets keep the VPC's default NACL (separate from the node subnets'), have their own
route tables with the on-prem routes and the S3 gateway endpoint, and hold no node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eks_secure.errors import ConfigError
from eks_secure.network.planner import PoolRequest, SlotRequest, stable_slot

ADMIN_POOL = "admin"
"""Name of the admin pool in the address plan and its lock."""
ADMIN_TIER = "admin"
"""Tier of the admin subnets (``eks-secure.io/tier``)."""
ADMIN_MEMBER = "bastion"
"""The admin pool's one member (tag ``eks-secure.io/admin-group``)."""
FIELD = "isolation.subnet_nacls"
ANYWHERE = "0.0.0.0/0"
ALLOW_FIRST = 100
DENY_FIRST = 200
ALLOW_REST = 1000
"""Rule numbers: a port's admin allow is ``100 + h``, its deny ``200 + h``, with ``h`` from the
port alone (:func:`port_offset`), so adding or removing a port renumbers (replaces) no other
entry; everything else is allowed at 1000."""


@dataclass(frozen=True)
class NaclEntry:
    """One entry of the node-subnet NACL (protocol 6 = TCP, -1 = all)."""

    name: str
    number: int
    egress: bool
    allow: bool
    cidr: str
    protocol: int = -1
    port: int | None = None


def admin_pool(subnet_prefix: int) -> PoolRequest:
    """The admin pool: one member, one ``/subnet_prefix`` subnet per AZ.

    It is placed after every pattern pool (``late``), so turning it on moves no pattern pool.
    """
    return PoolRequest(
        name=ADMIN_POOL,
        tier=ADMIN_TIER,
        members=(SlotRequest(name=ADMIN_MEMBER, field=FIELD),),
        subnet_prefix=subnet_prefix,
        pool_prefix=32,  # the pool is exactly its one slot
        field=FIELD,
        prefix_field=f"{FIELD}.admin_subnet_prefix",
        count_field=FIELD,
        late=True,
    )


def port_offset(port: int) -> int:
    """The offset (0-99) of ``port``'s rule numbers: a hash of the port alone."""
    return stable_slot(str(port), 100)


def node_nacl_entries(admin_cidr: str, ports: Sequence[int]) -> list[NaclEntry]:
    """The node-subnet NACL: ``ports`` only from ``admin_cidr`` (explicit DENY from anywhere
    else), everything else allowed both ways."""
    ordered = sorted(set(ports))
    offsets: dict[int, int] = {}
    for port in ordered:
        other = offsets.get(port_offset(port))
        if other is not None:
            raise ConfigError(
                f"{FIELD}.admin_ports",
                f"ports {other} and {port} would get the same NACL rule numbers",
                "list one of them less (or open a range with a security group instead)",
            )
        offsets[port_offset(port)] = port
    entries = [
        NaclEntry(f"AdminTcp{p}", ALLOW_FIRST + port_offset(p), False, True, admin_cidr, 6, p)
        for p in ordered
    ]
    entries += [
        NaclEntry(f"DenyTcp{p}", DENY_FIRST + port_offset(p), False, False, ANYWHERE, 6, p)
        for p in ordered
    ]
    entries.append(NaclEntry("AllowRest", ALLOW_REST, False, True, ANYWHERE))
    entries.append(NaclEntry("AllowAll", ALLOW_FIRST, True, True, ANYWHERE))
    return entries
