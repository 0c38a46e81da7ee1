"""Egress pattern 4, Istio egress gateway: the spec (pure Python) and, in ``construct``, the CDK.

Apps keep running on the cluster's ordinary nodes, inside the mesh (Istio in sidecar mode,
``outboundTrafficPolicy: REGISTRY_ONLY``). Their on-prem traffic goes, over Istio mutual TLS, to
an egress gateway (release ``istio-egressgateway`` in namespace ``istio-egress``) that runs alone
on a tainted node group in dedicated egress subnets, one per AZ. The on-premises firewall
allow-lists those subnets only. Per *destination* (host, port, protocol and the apps allowed)
the pattern generates the five Istio objects; the gateway's AuthorizationPolicy admits only the
listed apps' namespaces, read from their mTLS identities. Istio alone cannot force traffic
through the gateway, so NetworkPolicies (app namespaces reach only DNS, istiod and the gateway
pods; only the gateway namespace reaches on-premises) and Kyverno rules (no opting out of the
mesh) close the bypasses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictStr, field_validator, model_validator

from eks_secure import rules
from eks_secure.config.base import ConfigModel, check
from eks_secure.config.model import (
    HelmRepository,
    ImageRegistry,
    NodeGroupSize,
    SemVer,
    SubnetSizes,
)
from eks_secure.config.types import Cidr, Int, Label, Port, SubnetPrefix
from eks_secure.egress.spec import ClusterOptions, EgressSpec
from eks_secure.errors import ConfigError
from eks_secure.network.planner import PoolRequest, SlotRequest

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.egress.contract import Tenant

__all__ = [
    "EGRESS_NAMESPACE",
    "EGRESS_POOL",
    "ISTIO_NAMESPACE",
    "IstioDestination",
    "IstioEgress",
    "IstioGatewaySettings",
    "IstioSettings",
]

SETTINGS_KEY = "istio"
EGRESS_POOL = "istio-egress"
"""Name of the egress-gateway pool in the address plan and its lock."""
GATEWAY_MEMBER = "gateway"
"""The pool's one member: the gateway's subnets (one per AZ)."""
ISTIO_NAMESPACE = "istio-system"
ISTIOD_IMAGE_NAMES = ("pilot", "proxyv2")
"""Images of the istiod chart's hub (``docker.io/istio/<name>``): istiod itself, and the proxy
it injects into every sidecar pod and the egress gateway."""
CNI_IMAGE_NAMES = ("install-cni",)
"""Image of the istio-cni chart's hub: the node agent."""
EGRESS_NAMESPACE = "istio-egress"
WEBHOOK_PORT = 15017
"""istiod's webhook server (sidecar injection and config validation); the API server calls it."""
XDS_PORT = 15012
"""istiod's xDS and CA port (TLS): sidecars and gateways connect to it, the API server never."""
CHART_VERSION = "1.30.3"
"""The Istio chart version eks-secure is built and tested for."""
Protocol = Literal["TLS", "HTTPS", "TCP"]
PROTOCOLS: tuple[str, ...] = ("TLS", "HTTPS", "TCP")


def check_host(host: str, field: str) -> list[ConfigError]:
    """A destination host: a lower-case FQDN (wildcards are rejected by the destination)."""
    labels = host.removeprefix("*.").split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(rules.DNS1123_LABEL.match(label) for label in labels)
    ):
        return [
            ConfigError(
                field,
                f"{host!r} is not a fully qualified host name",
                "use a lower-case FQDN such as ledger.corp.example",
            )
        ]
    return []


class IstioDestination(ConfigModel):
    """One upstream the mesh may reach through the egress gateway (``istio.destinations[]``)."""

    name: Label = Field(examples=["ledger"])
    """DNS-1123 label, unique: names the destination's five Istio objects."""
    host: StrictStr = Field(examples=["ledger.corp.example"])
    """Fully qualified host name the apps connect to (no wildcard: Istio cannot resolve one by
    DNS, and ``resolution: NONE`` would let the gateway forward to any address)."""
    port: Port = 443
    """Upstream TCP port."""
    protocol: Protocol = "TLS"
    """``TLS`` or ``HTTPS`` (routed by SNI, the app's TLS passes through the gateway) or
    ``TCP`` (routed by port; needs ``addresses``)."""
    apps: tuple[Label, ...] = Field(examples=[["payments-api"]])
    """Names of the apps allowed to reach it (at least one, each declared under ``apps``)."""
    addresses: tuple[Cidr, ...] = ()
    """On-prem CIDRs the host resolves to (each inside ``on_prem_cidrs``): the gateway may
    connect there only, and a ``TCP`` destination's sidecars match them. Default: the listed
    apps' ``destinations``."""
    resolution: Literal["DNS", "NONE"] = "DNS"
    """How the gateway finds the upstream: ``DNS`` (the only value that works behind an egress
    gateway; ``NONE`` would send the traffic back to the gateway itself)."""
    tls_origination: StrictBool = False
    """Apps speak plain HTTP on ``app_port`` and the gateway opens TLS to ``host:port``
    (``protocol: HTTPS`` only). Default: off (the app's own TLS passes through)."""
    app_port: Port = 80
    """Plain-HTTP port the apps use when ``tls_origination`` is on."""

    @field_validator("apps")
    @classmethod
    def _apps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = rules.not_empty(value, "", "list the apps allowed to reach this destination")
        check(problems + rules.no_duplicates(value, "", "app"))
        return value

    @model_validator(mode="after")
    def _rules(self) -> IstioDestination:
        problems = check_host(self.host, "host")
        wildcard = self.host.startswith("*")
        if self.resolution == "NONE":
            problems.append(
                ConfigError(
                    "resolution",
                    "resolution NONE makes the egress gateway forward to the address the client "
                    "asked for: its own pod (a loop)"
                    + (", and with a wildcard host any address at all" if wildcard else ""),
                    "use resolution: DNS with one fully qualified host per destination",
                )
            )
        elif wildcard:
            problems.append(
                ConfigError(
                    "host",
                    f"wildcard host {self.host!r}: Istio cannot resolve a wildcard by DNS",
                    "list each host as its own destination",
                )
            )
        if self.tls_origination and self.protocol != "HTTPS":
            problems.append(
                ConfigError(
                    "tls_origination",
                    f"TLS origination needs protocol HTTPS, not {self.protocol}",
                    "set protocol: HTTPS or turn tls_origination off",
                )
            )
        if self.protocol == "TCP" and not self.addresses:
            problems.append(
                ConfigError(
                    "addresses",
                    "a TCP destination has no SNI, so sidecars can only match it by address",
                    "list the on-prem CIDRs the host resolves to under addresses",
                )
            )
        problems += rules.no_duplicates(self.addresses, "addresses", "CIDR")
        check(problems)
        return self

    @property
    def listener_port(self) -> int:
        """The port the apps connect to and the gateway listens on."""
        return self.app_port if self.tls_origination else self.port


class IstioGatewaySettings(ConfigModel):
    """The egress gateway's size (``istio.gateway``)."""

    min_replicas: Int = Field(default=2, ge=1, le=100)
    """HorizontalPodAutoscaler minimum (at least 2 keeps one replica per zone through a
    disruption)."""
    max_replicas: Int = Field(default=6, ge=1, le=100)
    """HorizontalPodAutoscaler maximum."""
    nodes: NodeGroupSize = NodeGroupSize()
    """The dedicated egress node group. Default: 2 to 4 m7i.large."""

    @model_validator(mode="after")
    def _bounds(self) -> IstioGatewaySettings:
        if self.max_replicas < self.min_replicas:
            check(
                [
                    ConfigError(
                        "max_replicas",
                        f"is {self.max_replicas}, below min_replicas {self.min_replicas}",
                        "raise max_replicas or lower min_replicas",
                    )
                ]
            )
        return self


class IstioSettings(ConfigModel):
    """Section ``istio``: chart source, egress subnets, the gateway, and the destinations.

    The four charts (``base``, ``cni``, ``istiod``, ``gateway``) come from ``chart_repository``
    (an ``https://`` Helm repository holding all four, or an ``oci://`` prefix under which each is
    pushed as ``<prefix>/<chart>``), by default the deployment's own ECR
    (``oci://<account>.dkr.ecr.<region>.<url suffix>/eks-secure/istio/<chart>``).
    """

    chart_repository: HelmRepository | None = None
    """Helm repository of the four charts (``base``, ``cni``, ``istiod``, ``gateway``), or an
    ``oci://`` prefix (``<prefix>/<chart>``).
    Default: the deployment's ECR, ``oci://<ECR>/eks-secure/istio/<chart>``."""
    chart_version: SemVer = CHART_VERSION
    """Pinned version of all four charts (1.30.3 is tested; ``cni`` is not rendered offline)."""
    image_registry: ImageRegistry | None = None
    """Mirror root the Istio images come from (``<root>/docker-hub/istio/pilot:1.30.3``).
    Default: ``<account>.dkr.ecr.<region>.<url suffix>/eks-secure``."""
    egress_subnet_prefix: SubnetPrefix = 25
    """Prefix of each egress-gateway subnet (one per AZ): the gateway nodes and pods."""
    gateway: IstioGatewaySettings = IstioGatewaySettings()
    """Replicas and nodes of the egress gateway."""
    destinations: tuple[IstioDestination, ...] = Field(default=(), min_length=1)
    """The upstreams the apps may reach, at least one."""

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, value: tuple[IstioDestination, ...]) -> tuple[IstioDestination, ...]:
        problems = rules.unique_names([d.name for d in value], lambda i: f"[{i}].name")
        owners: dict[int, int] = {}
        for i, dest in enumerate(value):
            if dest.protocol != "TCP":
                continue
            other = owners.setdefault(dest.listener_port, i)
            if other != i:
                problems.append(
                    ConfigError(
                        f"[{i}].port",
                        f"TCP port {dest.listener_port} is already used by destinations[{other}]"
                        " (TCP has no SNI: the gateway tells TCP destinations apart by port)",
                        "give each TCP destination a port of its own",
                    )
                )
        taken = {d.listener_port for d in value if d.protocol == "TCP"}
        for i, dest in enumerate(value):
            if dest.protocol != "TCP" and dest.listener_port in taken:
                problems.append(
                    ConfigError(
                        f"[{i}].port",
                        f"port {dest.listener_port} is a TCP destination's gateway port",
                        "use another port for one of them",
                    )
                )
        check(problems)
        return value


class IstioEgress(EgressSpec):
    """Pattern ``istio``: apps leave through an Istio egress gateway in dedicated subnets.

    :param settings: the ``istio`` section (chart source, gateway size, destinations).
    """

    name = "istio"
    construct = "eks_secure.egress.istio.construct:IstioEgressGateway"
    title = "mesh apps leave through an Istio egress gateway; on-premises sees its subnets"
    settings_key = SETTINGS_KEY
    settings_model = IstioSettings
    starter_settings: ClassVar[Mapping[str, Any] | None] = {
        "destinations": [
            {
                "name": "core-banking",
                "host": "core.bank.corp.example",
                "port": 443,
                "protocol": "TLS",
                "addresses": ["10.1.4.0/24"],
                "apps": ["payments-api"],
            }
        ]
    }

    def __init__(self, *, settings: IstioSettings | None = None) -> None:
        if settings is not None and not isinstance(settings, IstioSettings):
            raise ConfigError(
                "IstioEgress.settings",
                f"is a {type(settings).__name__}, not IstioSettings",
                "pass IstioSettings(destinations=[...])",
            )
        self.settings = settings or IstioSettings.model_construct()

    @classmethod
    def from_config(
        cls, settings: Any | None, apps: Sequence[tuple[str, str, Any | None]]
    ) -> EgressSpec:
        """The spec of a validated ``istio`` section."""
        del apps
        return cls(settings=settings)

    @property
    def destinations(self) -> tuple[IstioDestination, ...]:
        """The configured destinations."""
        return tuple(self.settings.destinations)

    def apps_of(self, destination: IstioDestination, tenants: Sequence[Tenant]) -> list[Tenant]:
        """The tenants allowed to reach ``destination`` (in its ``apps`` order)."""
        by_name = {t.name: t for t in tenants}
        return [by_name[a] for a in destination.apps if a in by_name]

    def destinations_of(self, app: str) -> list[IstioDestination]:
        """The destinations ``app`` may reach."""
        return [d for d in self.destinations if app in d.apps]

    def addresses_of(self, destination: IstioDestination, tenants: Sequence[Tenant]) -> list[str]:
        """Where the gateway may connect for ``destination``: its addresses, or the CIDRs every
        app listed for it may reach (the narrowest of each overlap)."""
        if destination.addresses:
            return sorted(set(destination.addresses))
        sets = [[ipaddress.IPv4Network(c) for c in t.destinations]
                for t in self.apps_of(destination, tenants)]  # fmt: skip
        if not sets:
            return []
        common = sets[0]
        for other in sets[1:]:
            common = [
                a if a.subnet_of(b) else b
                for a in common
                for b in other
                if a.subnet_of(b) or b.subnet_of(a)
            ]
        return sorted({str(n) for n in common})

    def check(self, tenants: Sequence[Tenant]) -> list[ConfigError]:
        """No app with ``aws_services`` (not supported yet); at least one destination; every
        listed app declared; each destination's port and addresses among those of every app
        listed for it (so the allow-list covers them)."""
        problems: list[ConfigError] = [
            ConfigError(
                t.path("aws_services"),
                "is not supported by pattern istio yet: the sidecars run with outbound policy "
                "REGISTRY_ONLY and capture all traffic, so AWS endpoints and the Pod Identity "
                "agent would need ServiceEntries the pattern does not create",
                "remove aws_services from this app, or use another pattern for apps that call "
                "AWS APIs",
            )
            for t in tenants
            if t.aws_services
        ]
        if not self.destinations:
            return [
                *problems,
                ConfigError(
                    f"{SETTINGS_KEY}.destinations",
                    "pattern istio needs at least one destination",
                    "list the upstreams under istio.destinations (host, port, protocol, apps)",
                ),
            ]
        names = sorted(t.name for t in tenants)
        for i, dest in enumerate(self.destinations):
            for j, app in enumerate(dest.apps):
                if app not in names:
                    problems.append(
                        ConfigError(
                            f"{SETTINGS_KEY}.destinations[{i}].apps[{j}]",
                            f"app '{app}' is not declared under apps",
                            f"{rules.suggest(app, names)}declare it under apps or remove it",
                        )
                    )
            listed = self.apps_of(dest, tenants)
            if listed and not dest.addresses and not self.addresses_of(dest, tenants):
                problems.append(
                    ConfigError(
                        f"{SETTINGS_KEY}.destinations[{i}].apps",
                        f"the apps listed for '{dest.name}' share no destination CIDR, so the "
                        "gateway could connect nowhere for them",
                        "list apps whose destinations overlap, or set addresses",
                    )
                )
            for tenant in listed:
                if dest.port not in tenant.ports:
                    problems.append(
                        ConfigError(
                            f"{SETTINGS_KEY}.destinations[{i}].port",
                            f"port {dest.port} is not one of app '{tenant.name}' ports "
                            f"({', '.join(map(str, tenant.ports))}), so its allow-list would "
                            "not cover it",
                            f"add {dest.port} to {tenant.path('ports')} or remove the app",
                        )
                    )
                networks = [ipaddress.IPv4Network(c) for c in tenant.destinations]
                for k, cidr in enumerate(dest.addresses):
                    net = ipaddress.IPv4Network(cidr)
                    if not any(net.subnet_of(n) for n in networks):
                        problems.append(
                            ConfigError(
                                f"{SETTINGS_KEY}.destinations[{i}].addresses[{k}]",
                                f"{net} is outside the destinations of app '{tenant.name}'",
                                f"widen {tenant.path('destinations')} or narrow the address",
                            )
                        )
        return problems

    def address_pools(
        self, tenants: Sequence[Tenant], sizes: SubnetSizes
    ) -> tuple[PoolRequest, ...]:
        """The egress-gateway pool: one member, one subnet per AZ."""
        del tenants, sizes
        return (
            PoolRequest(
                name=EGRESS_POOL,
                tier="egress-gateway",
                members=(SlotRequest(name=GATEWAY_MEMBER, field=f"{SETTINGS_KEY}"),),
                subnet_prefix=self.settings.egress_subnet_prefix,
                pool_prefix=24,
                field=f"{SETTINGS_KEY}.egress_subnet_prefix",
                prefix_field=f"{SETTINGS_KEY}.egress_subnet_prefix",
                count_field=f"{SETTINGS_KEY}.egress_subnet_prefix",
            ),
        )

    def egress_point(self, tenant: Tenant) -> tuple[str, str] | None:
        """The egress gateway's subnets, through which every app leaves."""
        del tenant
        return (EGRESS_POOL, GATEWAY_MEMBER)

    def cluster_options(self) -> ClusterOptions:
        """istiod's webhook port open from the control plane; the mesh's namespaces reserved."""
        return ClusterOptions(
            control_plane_ports=(WEBHOOK_PORT,),
            platform_namespaces=(ISTIO_NAMESPACE, EGRESS_NAMESPACE),
        )
