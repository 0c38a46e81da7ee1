"""The data of the egress contract: tenants in, allow-list entries out.

Each pattern answers one question for the network team: *which source IPs does application X's
traffic carry when it reaches the on-premises firewall, and to which destinations?* It takes
:class:`Tenant` objects and returns :class:`AllowListEntry` objects (see
:class:`eks_secure.egress.pattern.EgressPattern`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eks_secure import rules
from eks_secure.errors import ConfigError
from eks_secure.network.services import S3_GATEWAY_SERVICE


@dataclass(frozen=True)
class Tenant:
    """An application that needs a fixed upstream source IP: what every pattern needs of it.

    Pattern-specific settings (its NAT group, its dedicated node group...) live with the
    pattern's :class:`~eks_secure.egress.spec.EgressSpec`. A tenant checks itself when built, so
    a Python-API mistake names ``Tenant.<field>`` (or the config path in ``field``).
    """

    name: str
    """DNS-1123 label of at most 40 characters; names its namespace by default and every
    construct, subnet and policy of the app."""
    destinations: tuple[str, ...]
    """On-prem CIDRs the app may reach (each inside the cluster's on-prem CIDRs)."""
    namespace: str = ""
    """Kubernetes namespace of the app. Default: the app's name."""
    ports: tuple[int, ...] = (443,)
    """TCP ports the app may use towards on-premises. Default: 443."""
    team_roles: tuple[str, ...] = ()
    """ARNs of the IAM roles of the app's team (access entries, group ``eks-secure:app:<name>``,
    ``edit`` in the app's namespace only). Default: none."""
    aws_services: tuple[str, ...] = ()
    """AWS services the app's pods may call (opt-in): short names of the VPC's interface
    endpoints (``sts``, ``kms``...) and ``s3`` (the gateway endpoint, with :attr:`s3_cidrs`).
    Any entry also opens the node's EKS Pod Identity agent. Default: none (no AWS API)."""
    s3_cidrs: tuple[str, ...] = ()
    """S3's addresses behind the gateway endpoint (the region's S3 prefix-list CIDRs), required
    with ``s3`` in :attr:`aws_services`. Default: none."""
    field: str = ""
    """Path of the app in error messages (the loader sets ``apps[2]``). Default: ``Tenant``."""

    def __post_init__(self) -> None:
        if not self.field:
            object.__setattr__(self, "field", "Tenant")
        if not self.namespace:
            object.__setattr__(self, "namespace", self.name)
        for attr in ("destinations", "ports", "team_roles", "aws_services", "s3_cidrs"):
            value = getattr(self, attr)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ConfigError(
                    self.path(attr),
                    f"must be a list, got {type(value).__name__}",
                    f"pass a list or tuple, e.g. {attr}=[...]",
                )
            object.__setattr__(self, attr, tuple(value))
        problems = rules.app_name(self.name, self.path("name"))
        problems += rules.app_namespace(self.namespace, self.path("namespace"))
        for i, port in enumerate(self.ports):
            if isinstance(port, bool) or not isinstance(port, int):
                problems.append(
                    ConfigError(
                        self.path(f"ports[{i}]"), f"{port!r} is not a port number", "use 1..65535"
                    )
                )
            else:
                problems += rules.port(port, self.path(f"ports[{i}]"))
        if not self.ports:
            problems.append(
                ConfigError(self.path("ports"), "is empty", "list at least one TCP port")
            )
        for i, role in enumerate(self.team_roles):
            problems += rules.arn(str(role), self.path(f"team_roles[{i}]"), ("role",))
        for i, cidr in enumerate(self.destinations):
            try:
                rules.parse_cidr(str(cidr), self.path(f"destinations[{i}]"), "10.1.0.0/16")
            except ConfigError as exc:
                problems.append(exc)
        problems += rules.aws_services(
            [str(s) for s in self.aws_services], None, self.path("aws_services")
        )
        problems += rules.s3_access(self.aws_services, self.s3_cidrs, self.path("s3_cidrs"))
        for i, cidr in enumerate(self.s3_cidrs):
            try:
                rules.parse_cidr(str(cidr), self.path(f"s3_cidrs[{i}]"), "52.218.0.0/17")
            except ConfigError as exc:
                problems.append(exc)
        rules.raise_problems(problems)

    def path(self, attr: str) -> str:
        """The error path of one of this tenant's fields."""
        if attr.startswith("team_roles") and self.field != "Tenant":
            attr = "team_role_arns" + attr.removeprefix("team_roles")  # the YAML key
        return f"{self.field}.{attr}"

    def check_aws_access(
        self, endpoint_services: Sequence[str] | None, private_cidrs: Sequence[str]
    ) -> list[ConfigError]:
        """Each of :attr:`aws_services` is ``s3`` or one of ``endpoint_services`` (the VPC's
        interface endpoints; ``None``: not known, e.g. reused endpoints), and no
        :attr:`s3_cidrs` entry overlaps ``private_cidrs`` (the VPC and on-premises)."""
        interface = [s for s in self.aws_services if s != S3_GATEWAY_SERVICE]
        if endpoint_services is None and interface:
            return [
                ConfigError(
                    self.path("aws_services"),
                    f"lists interface endpoints ({', '.join(interface)}) but the VPC's endpoints "
                    "are not this deployment's (existing_vpc with create_endpoints false): the "
                    "subnets of their ENIs, which the app's NetworkPolicy must name, are unknown",
                    "set existing_vpc.create_endpoints: true, or leave only s3 in aws_services",
                )
            ]
        problems = rules.aws_services(
            self.aws_services, endpoint_services or (), self.path("aws_services")
        )
        problems += rules.s3_cidrs(
            [ipaddress.IPv4Network(c) for c in self.s3_cidrs],
            [ipaddress.IPv4Network(c) for c in private_cidrs],
            self.path("s3_cidrs"),
        )
        return problems

    def check_destinations(self, on_prem_cidrs: Sequence[str]) -> list[ConfigError]:
        """Each destination must lie inside one of ``on_prem_cidrs`` (the only routed space)."""
        networks = [ipaddress.IPv4Network(c) for c in on_prem_cidrs]
        listed = ", ".join(on_prem_cidrs) or "none listed"
        problems = []
        for i, cidr in enumerate(self.destinations):
            net = ipaddress.IPv4Network(cidr)
            if not any(net.subnet_of(o) for o in networks):
                problems.append(
                    ConfigError(
                        self.path(f"destinations[{i}]"),
                        f"{net} is not inside any on_prem_cidrs entry ({listed}), so the VPC has "
                        "no route to it",
                        "narrow the destination to on-premises space or add its range to "
                        "on_prem_cidrs",
                    )
                )
        return problems


def check_tenants(tenants: object, field: str = "tenants") -> tuple[Tenant, ...]:
    """``tenants`` as a tuple of :class:`Tenant` with unique names and namespaces."""
    if isinstance(tenants, str | bytes | Mapping) or not isinstance(tenants, Sequence):
        raise ConfigError(
            field,
            f"must be a list of Tenant, got {type(tenants).__name__}",
            "pass [Tenant(...), ...]",
        )
    result = []
    for i, tenant in enumerate(tenants):
        if not isinstance(tenant, Tenant):
            raise ConfigError(
                f"{field}[{i}]",
                f"is a {type(tenant).__name__}, not a Tenant",
                "build it with eks_secure.Tenant(name=..., destinations=[...])",
            )
        result.append(tenant)
    problems = rules.unique_names([t.name for t in result], lambda i: result[i].path("name"))
    problems += rules.unique_namespaces(
        [t.namespace for t in result], lambda i: result[i].path("namespace")
    )
    rules.raise_problems(problems)
    return tuple(result)


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
    destination_hosts: tuple[str, ...] = ()
    """Host names behind ``destination_cidrs`` (patterns that route by name, e.g. ``istio``).
    Default: none (the key is then left out of the JSON)."""

    @property
    def is_control_plane(self) -> bool:
        """Whether this is a row of the control plane's own ``CUSTOMER_ROUTED`` calls (published
        in every pattern), not an app's."""
        return self.app == rules.RESERVED_APP

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (lists, fixed key order; ``destination_hosts`` only when set)."""
        data: dict[str, object] = {
            "app": self.app,
            "namespace": self.namespace,
            "pattern": self.pattern,
            "source_cidrs": list(self.source_cidrs),
            "destination_cidrs": list(self.destination_cidrs),
            "ports": list(self.ports),
            "protocol": self.protocol,
        }
        if self.destination_hosts:
            data["destination_hosts"] = list(self.destination_hosts)
        return data

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
            destination_hosts=strings("destination_hosts") if "destination_hosts" in data else (),
        )
