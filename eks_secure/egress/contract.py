"""The data of the egress contract: tenants in, allow-list entries out.

Each pattern answers one question for the network team: *which source IPs does application X's
traffic carry when it reaches the on-premises firewall, and to which destinations?* It takes
:class:`Tenant` objects and returns :class:`AllowListEntry` objects (see
:class:`eks_secure.egress.pattern.EgressPattern`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eks_secure.config.model import AppConfig, NodeGroupSize


@dataclass(frozen=True)
class Tenant:
    """An application that needs a fixed upstream source IP."""

    name: str
    """DNS-1123 label; also names its subnets, node group and policies."""
    namespace: str
    """Kubernetes namespace of the app."""
    destinations: tuple[str, ...]
    """On-prem CIDRs the app may reach."""
    ports: tuple[int, ...] = (443,)
    """TCP ports the app may use towards on-premises."""
    nodes: NodeGroupSize = field(default_factory=NodeGroupSize)
    """Size of the app's dedicated node group (patterns with a node group per app)."""
    nat_group: str | None = None
    """NAT group of the app (pattern ``private-nat``)."""
    team_roles: tuple[str, ...] = ()
    """ARNs of the IAM roles of the app's team (group ``eks-secure:app:<name>``)."""
    field: str = "apps"
    """Config path of the app, for error messages (e.g. ``apps[2]``)."""

    @classmethod
    def from_app(cls, app: AppConfig, on_prem_cidrs: Sequence[str], field: str) -> Tenant:
        """The tenant of a configured app; its destinations default to all on-prem CIDRs."""
        return cls(
            name=app.name,
            namespace=app.namespace,
            destinations=tuple(app.destinations or on_prem_cidrs),
            ports=app.ports,
            nodes=app.nodes,
            nat_group=app.nat_group,
            team_roles=app.team_role_arns,
            field=field,
        )


@dataclass(frozen=True)
class AllowListEntry:
    """What the on-premises firewall must allow for one app.

    ``source_cidrs`` are the addresses the app's traffic carries when it reaches on-premises
    (single IPs as ``/32``).
    """

    app: str
    namespace: str
    pattern: str
    source_cidrs: tuple[str, ...]
    destination_cidrs: tuple[str, ...]
    ports: tuple[int, ...]
    protocol: str = "tcp"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (lists, fixed key order)."""
        return {
            "app": self.app,
            "namespace": self.namespace,
            "pattern": self.pattern,
            "source_cidrs": list(self.source_cidrs),
            "destination_cidrs": list(self.destination_cidrs),
            "ports": list(self.ports),
            "protocol": self.protocol,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AllowListEntry:
        """Inverse of :meth:`to_dict`."""

        def strings(key: str) -> tuple[str, ...]:
            value = data[key]
            assert isinstance(value, list)
            return tuple(str(v) for v in value)

        ports = data["ports"]
        assert isinstance(ports, list)
        return cls(
            app=str(data["app"]),
            namespace=str(data["namespace"]),
            pattern=str(data["pattern"]),
            source_cidrs=strings("source_cidrs"),
            destination_cidrs=strings("destination_cidrs"),
            ports=tuple(int(p) for p in ports),
            protocol=str(data.get("protocol", "tcp")),
        )
