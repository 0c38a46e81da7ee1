"""Egress pattern 3, Cilium egress gateway: the spec (pure Python) and, in ``construct``, the CDK.

The cluster runs Cilium alone (ENI IPAM, native routing, kube-proxy replacement): no VPC CNI and
no kube-proxy. Apps are grouped into *egress groups* (one group per app by default, named after
the app). Each group owns small gateway subnets (one per AZ) holding its gateway nodes, which are
labelled and tainted for gateway duty only. The group's ``CiliumEgressGatewayPolicy`` selects its
apps' pods (namespace + group label) and their on-prem destinations, and SNATs that traffic to the
gateway node's primary IP. The on-premises firewall allow-lists the group's gateway subnets:
replacing a gateway node keeps the source inside them. As an opt-in, a group can instead use one
fixed egress IP per gateway AZ, held on a dedicated tagged ENI that Cilium IPAM excludes (see
``docs/patterns/cilium.md`` for the risks).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import Field, StrictInt, StrictStr, field_validator

from eks_secure import rules
from eks_secure.config.base import ConfigModel, check
from eks_secure.config.model import HelmRepository, ImageRegistry, NodeGroupSize, SemVer
from eks_secure.config.types import Label, SubnetPrefix
from eks_secure.egress.spec import ClusterOptions, NodeTaint, PerAppSpec
from eks_secure.errors import ConfigError
from eks_secure.network.planner import PoolRequest, SlotRequest

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.config.model import SubnetSizes
    from eks_secure.egress.contract import Tenant

__all__ = ["CiliumApp", "CiliumEgress", "CiliumSettings", "EgressGroup"]

SETTINGS_KEY = "cilium"
GATEWAY_POOL = "egress-gateways"
"""Name of the gateway pool in the address plan and its lock."""
GATEWAY_TIER = "egress-gateway"
"""Tier tag of the gateway subnets."""
CHART_VERSION = "1.20.0"
"""The Cilium chart version eks-secure is built and tested for."""
SUPPORTED_MINOR = "1.20."
"""Only 1.20.x releases are accepted (values and CRD shape were verified for 1.20)."""
AGENT_NOT_READY_TAINT = NodeTaint(
    key="node.cilium.io/agent-not-ready", value="true", effect="NoExecute"
)
"""Taint every node starts with; the Cilium operator removes it once the agent runs."""
VXLAN_PORT = 8472
"""UDP port of Cilium's VXLAN tunnel (egress-gateway traffic is tunnelled to the gateway)."""
DEFAULT_GATEWAY_NODES = NodeGroupSize(min_size=1, max_size=2, desired_size=1)
"""Size of each gateway node group (one per gateway AZ): one node, two during a rolling update."""


class EgressGroup(ConfigModel):
    """One egress group (``cilium.groups.<name>``): its apps, slot, zones and optional fixed IPs."""

    apps: tuple[Label, ...] = ()
    """Apps of the group (besides the apps naming it in ``egress_group``). Default: none."""
    slot: StrictInt | None = Field(default=None, ge=0)
    """Explicit slot of the group's gateway subnets in the gateway pool. Default: the lock's
    slot or one derived from the group's name."""
    zones: tuple[StrictStr, ...] = ()
    """Availability zones with a gateway node group (each in ``availability_zones``). Default:
    every planned AZ. A single zone is warned about: no gateway survives that AZ's loss."""
    fixed_egress_ips: tuple[StrictStr, ...] = ()
    """Opt-in, high risk: one fixed egress IP per gateway zone, in zone order, each inside the
    group's gateway subnet of that zone. Held on a dedicated ENI tagged for the group and
    excluded from Cilium IPAM; the ENI must be attached to the zone's gateway node at run time
    (lifecycle hook or controller, not built here) and the policy re-applied after a move.
    Default: none (the gateway node's primary IP in the gateway subnets)."""
    nodes: NodeGroupSize = DEFAULT_GATEWAY_NODES
    """Size of each of the group's gateway node groups (one per zone). Default: 1 to 2 m7i.large."""

    @field_validator("fixed_egress_ips")
    @classmethod
    def _ips(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = []
        for i, ip in enumerate(value):
            try:
                ipaddress.IPv4Address(ip)
            except ValueError:
                problems.append(
                    ConfigError(f"[{i}]", f"{ip!r} is not an IPv4 address", "e.g. 10.20.4.10")
                )
        check(problems)
        return value


class CiliumSettings(ConfigModel):
    """Section ``cilium``: chart source, image mirror, gateway subnet size and egress groups."""

    chart_repository: HelmRepository | None = None
    """Helm repository of the cilium chart (``https://`` or ``oci://`` ending in ``/cilium``).
    Default: ``oci://<account>.dkr.ecr.<region>.<url suffix>/eks-secure/cilium``."""
    chart_version: SemVer = CHART_VERSION
    """Pinned chart version, a 1.20.x release."""
    image_registry: ImageRegistry | None = None
    """Mirror root of the Cilium images (laid out by upstream registry). Default: the
    deployment's own ECR, ``<account>.dkr.ecr.<region>.<url suffix>/eks-secure``."""
    gateway_prefix: SubnetPrefix = 28
    """Prefix length of each group's gateway subnets (one per AZ)."""
    gateway_pool_prefix: SubnetPrefix = 22
    """Size of the gateway pool in the infrastructure region (all groups' subnets)."""
    groups: dict[StrictStr, EgressGroup] = Field(default={})
    """Egress groups by name. Default: none (every app its own group, named after it)."""

    @field_validator("chart_version")
    @classmethod
    def _minor(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_MINOR):
            check(
                [
                    ConfigError(
                        "",
                        f"chart {value} is not a Cilium 1.20.x release",
                        f"pin a 1.20.x chart, e.g. {CHART_VERSION}",
                    )
                ]
            )
        return value

    @field_validator("groups")
    @classmethod
    def _names(cls, value: dict[str, EgressGroup]) -> dict[str, EgressGroup]:
        problems = []
        for name in value:
            problems += rules.dns_label(name, name, "core-banking", max_length=40)
        check(problems)
        return value


class CiliumApp(ConfigModel):
    """Per-app key of pattern ``cilium``: ``egress_group``."""

    egress_group: StrictStr | None = None
    """The egress group whose gateways translate this app's traffic. Default: the group
    listing the app in ``cilium.groups.<g>.apps``, else the app's own group named after it."""

    @field_validator("egress_group")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None:
            check(rules.dns_label(value, "", "core-banking", max_length=40))
        return value


class CiliumEgress(PerAppSpec[CiliumApp]):
    """Pattern ``cilium``: Cilium egress gateways; on-premises allow-lists gateway subnets.

    :param apps: per-app options by app name. Default: every app in its own group.
    :param settings: the ``cilium`` section. Default: ``CiliumSettings()``.
    :param fields: error path of each app (the loader passes ``apps[i]``).
    """

    name = "cilium"
    construct = "eks_secure.egress.cilium.construct:CiliumEgressGateway"
    title = "Cilium egress gateways per egress group; on-premises sees the gateway subnets"
    settings_key = SETTINGS_KEY
    settings_model = CiliumSettings
    app_model = CiliumApp

    def __init__(
        self,
        *,
        apps: Mapping[str, CiliumApp] | None = None,
        settings: CiliumSettings | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(apps=apps, fields=fields)
        self.settings = settings or CiliumSettings()

    def group_field(self, group: str) -> str:
        """Error path of group ``group``'s settings."""
        return f"{SETTINGS_KEY}.groups.{group}"

    def egress_group_of(self, app: str) -> str:
        """The egress group of ``app``: its ``egress_group``, the group listing it, or itself."""
        options = self.apps.get(app)
        if options is not None and options.egress_group is not None:
            return options.egress_group
        for group, settings in sorted(self.settings.groups.items()):
            if app in settings.apps:
                return group
        return app

    def groups(self, tenants: Sequence[Tenant]) -> dict[str, list[str]]:
        """Egress group -> its apps (sorted)."""
        result: dict[str, list[str]] = {}
        for tenant in tenants:
            result.setdefault(self.egress_group_of(tenant.name), []).append(tenant.name)
        return {g: sorted(a) for g, a in sorted(result.items())}

    def group_settings(self, group: str) -> EgressGroup:
        """The settings of ``group`` (defaults when not configured)."""
        return self.settings.groups.get(group) or EgressGroup()

    def check(self, tenants: Sequence[Tenant]) -> list[ConfigError]:
        """Every configured group has apps, no app is in two groups, fixed IPs are unique."""
        problems: list[ConfigError] = []
        names = {t.name for t in tenants}
        for name in sorted(self.apps):
            if name not in names:
                problems.append(
                    ConfigError(
                        self.field_of(name),
                        f"options are given for app '{name}', which is not one of the tenants",
                        "remove them or add the app",
                    )
                )
        listed: dict[str, str] = {}
        for group, settings in sorted(self.settings.groups.items()):
            for i, app in enumerate(settings.apps):
                field = f"{self.group_field(group)}.apps[{i}]"
                if app not in names:
                    problems.append(
                        ConfigError(
                            field,
                            f"app '{app}' is not one of the apps",
                            f"{rules.suggest(app, sorted(names))}list apps declared under apps:",
                        )
                    )
                elif app in listed and listed[app] != group:
                    problems.append(
                        ConfigError(
                            field,
                            f"app '{app}' is already in egress group '{listed[app]}'; an app "
                            "has one egress identity",
                            "list the app in one group only",
                        )
                    )
                listed.setdefault(app, group)
        for tenant in tenants:
            options = self.apps.get(tenant.name)
            chosen = options.egress_group if options is not None else None
            if chosen is not None and tenant.name in listed and listed[tenant.name] != chosen:
                problems.append(
                    ConfigError(
                        f"{self.field_of(tenant.name)}.egress_group",
                        f"app '{tenant.name}' names group '{chosen}' but is listed in group "
                        f"'{listed[tenant.name]}'; an app is in one egress group",
                        "keep one of the two",
                    )
                )
        used = self.groups(tenants)
        for group in sorted(self.settings.groups):
            if group not in used:
                problems.append(
                    ConfigError(
                        self.group_field(group),
                        f"egress group '{group}' has no apps; its gateway nodes would serve "
                        "nothing",
                        f"{rules.suggest(group, sorted(used))}set some app's egress_group to "
                        "it, list apps in it, or remove it",
                    )
                )
        seen: dict[str, str] = {}
        for group, settings in sorted(self.settings.groups.items()):
            zones = settings.zones
            for i, ip in enumerate(settings.fixed_egress_ips):
                field = f"{self.group_field(group)}.fixed_egress_ips[{i}]"
                if ip in seen:
                    problems.append(
                        ConfigError(
                            field,
                            f"{ip} is already the fixed egress IP {seen[ip]}",
                            "give every gateway its own address",
                        )
                    )
                seen.setdefault(ip, field)
            if zones:
                problems += rules.no_duplicates(
                    list(zones), f"{self.group_field(group)}.zones", "zone"
                )
            if settings.fixed_egress_ips and zones and len(settings.fixed_egress_ips) != len(zones):
                problems.append(
                    ConfigError(
                        f"{self.group_field(group)}.fixed_egress_ips",
                        f"lists {len(settings.fixed_egress_ips)} IPs for {len(zones)} zones",
                        "give one IP per gateway zone, in zone order",
                    )
                )
        return problems

    def address_pools(
        self, tenants: Sequence[Tenant], sizes: SubnetSizes
    ) -> tuple[PoolRequest, ...]:
        """The gateway pool: one slot (a small gateway subnet per AZ) per egress group."""
        groups = self.groups(tenants)
        if not groups:
            return ()
        return (
            PoolRequest(
                name=GATEWAY_POOL,
                tier=GATEWAY_TIER,
                members=tuple(
                    SlotRequest(
                        name=group,
                        slot=self.group_settings(group).slot,
                        field=self.group_field(group),
                    )
                    for group in groups
                ),
                subnet_prefix=self.settings.gateway_prefix,
                pool_prefix=self.settings.gateway_pool_prefix,
                field=f"{SETTINGS_KEY}.gateway_pool_prefix",
                prefix_field=f"{SETTINGS_KEY}.gateway_prefix",
                count_field=f"{SETTINGS_KEY}.groups",
            ),
        )

    def egress_point(self, tenant: Tenant) -> tuple[str, str] | None:
        """The app's egress group in the gateway pool."""
        return (GATEWAY_POOL, self.egress_group_of(tenant.name))

    def cluster_options(self) -> ClusterOptions:
        """No VPC CNI and no kube-proxy; every node starts tainted until its agent runs."""
        return ClusterOptions(vpc_cni=False, node_taints=(AGENT_NOT_READY_TAINT,))
