"""Egress pattern 2, private NAT gateway: the spec (pure Python) and, in ``construct``, the CDK.

Apps keep the tenant model of pattern 1 (own subnets per AZ, tainted node group, fenced
namespace), but their subnets get no direct route to on-premises. The apps are grouped into
*NAT groups*: each group owns small NAT subnets (one per AZ) holding a private NAT gateway whose
primary private IP is fixed by the address plan. Every app subnet sends the on-prem CIDRs to its
group's gateway in the same AZ, so the on-premises firewall sees a group's traffic from the
group's NAT IPs alone: one ``/32`` per AZ. The VPC CNI's external SNAT is on, so pods keep their
own IPs up to the NAT gateway and flow logs inside the VPC still show which pod sent what.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, StrictInt, StrictStr, field_validator

from eks_secure import rules
from eks_secure.config.base import ConfigModel, check
from eks_secure.config.model import SubnetSizes
from eks_secure.egress.dedicated.spec import DedicatedNodesApp, DedicatedNodesEgress
from eks_secure.egress.spec import ClusterOptions
from eks_secure.errors import ConfigError
from eks_secure.network.planner import PoolRequest, SlotRequest

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.egress.contract import Tenant

__all__ = ["NatGroupPin", "PrivateNatApp", "PrivateNatEgress", "PrivateNatSettings"]

NAT_POOL = "nat"
"""Name of the NAT pool in the address plan and its lock."""

EXTERNAL_SNAT = {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}
"""vpc-cni setting the pattern needs: pods keep their IPs up to the NAT gateway."""

SETTINGS_KEY = "private_nat"


class NatGroupPin(ConfigModel):
    """A NAT group's explicit slot in the NAT pool (``private_nat.groups.<name>``)."""

    slot: StrictInt = Field(ge=0)
    """The slot; a group not pinned keeps the lock's slot, and a new one takes the lock's next
    free slot (without a lock, one derived from its name)."""


class PrivateNatSettings(ConfigModel):
    """Section ``private_nat``: where NAT subnets are carved from, and pinned group slots.

    With ``secondary_cidr`` set, the NAT subnets come from that extra VPC CIDR block (the answer
    when the node CIDRs overlap on-premises space); otherwise from the primary CIDR.
    """

    secondary_cidr: StrictStr | None = None
    """Additional VPC CIDR block for the NAT subnets (private, /16 to /28, outside the VPC and
    on-premises). Default: NAT subnets from the primary CIDR."""
    groups: dict[StrictStr, NatGroupPin] = Field(default={})
    """Pinned NAT-pool slots by group name. Default: none."""

    @field_validator("secondary_cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                rules.parse_cidr(value, "", "100.64.0.0/22")
            except ConfigError as exc:
                check([exc])
        return value

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: dict[str, NatGroupPin]) -> dict[str, NatGroupPin]:
        problems = []
        for name in value:
            problems += rules.dns_label(name, name, "core-banking")
        check(problems)
        return value


class PrivateNatApp(DedicatedNodesApp):
    """Per-app keys of pattern ``private-nat``: ``nat_group`` besides ``slot`` and ``nodes``."""

    nat_group: StrictStr | None = None
    """The NAT group whose gateways translate this app's traffic (required): apps sharing a
    group share its NAT IPs."""

    @field_validator("nat_group")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None:
            check(rules.dns_label(value, "", "core-banking"))
        return value


class PrivateNatEgress(DedicatedNodesEgress):
    """Pattern ``private-nat``: the firewall allow-lists each NAT group's fixed NAT IPs.

    :param apps: per-app options by app name; each needs ``nat_group``.
    :param settings: the ``private_nat`` section. Default: NAT subnets from the primary CIDR.
    """

    name = "private-nat"
    construct = "eks_secure.egress.private_nat.construct:PrivateNat"
    title = "apps grouped behind private NAT gateways; on-premises sees one fixed IP per AZ"
    settings_key = SETTINGS_KEY
    settings_model = PrivateNatSettings
    app_model = PrivateNatApp
    route_apps_on_prem = False
    starter_app: ClassVar[Mapping[str, Any]] = {"nat_group": "core"}

    def __init__(
        self,
        *,
        apps: Mapping[str, PrivateNatApp] | None = None,
        settings: PrivateNatSettings | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(apps=apps, fields=fields)
        self.settings = settings or PrivateNatSettings()

    def nat_group_of(self, app: str) -> str | None:
        """The NAT group of ``app``."""
        options = self.options(app)
        assert isinstance(options, PrivateNatApp)
        return options.nat_group

    def groups(self, tenants: Sequence[Tenant]) -> dict[str, list[str]]:
        """NAT group -> its apps (sorted), for the tenants that name a group."""
        result: dict[str, list[str]] = {}
        for tenant in tenants:
            group = self.nat_group_of(tenant.name)
            if group is not None:
                result.setdefault(group, []).append(tenant.name)
        return {g: sorted(a) for g, a in sorted(result.items())}

    def check(self, tenants: Sequence[Tenant]) -> list[ConfigError]:
        """Every app names a NAT group, and every pinned group is used by an app."""
        problems = super().check(tenants)
        for tenant in tenants:
            if self.nat_group_of(tenant.name) is None:
                problems.append(
                    ConfigError(
                        f"{self.field_of(tenant.name)}.nat_group",
                        "pattern private-nat needs a nat_group for every app; "
                        f"'{tenant.name}' has none",
                        "add `nat_group: <name>`; apps sharing a group share its NAT IPs",
                    )
                )
        used = sorted(self.groups(tenants))
        for name in self.settings.groups:
            if name not in used:
                problems.append(
                    ConfigError(
                        f"{SETTINGS_KEY}.groups.{name}",
                        f"no app uses NAT group '{name}'",
                        f"{rules.suggest(name, used)}name a group some app's nat_group uses "
                        f"({', '.join(used) or 'none yet'}), or remove it",
                    )
                )
        return problems

    def address_pools(
        self, tenants: Sequence[Tenant], sizes: SubnetSizes
    ) -> tuple[PoolRequest, ...]:
        """The NAT pool: one slot (a NAT subnet per AZ) per NAT group."""
        groups = self.groups(tenants)
        if not groups:
            return ()
        secondary = self.settings.secondary_cidr
        return (
            PoolRequest(
                name=NAT_POOL,
                tier="nat",
                members=tuple(
                    SlotRequest(
                        name=group,
                        slot=pin.slot if (pin := self.settings.groups.get(group)) else None,
                        field=f"{SETTINGS_KEY}.groups.{group}",
                    )
                    for group in groups
                ),
                subnet_prefix=sizes.nat,
                pool_prefix=24,
                secondary_cidr=secondary,
                fixed_ips=True,
                field=f"{SETTINGS_KEY}.secondary_cidr",
                prefix_field="subnets.nat_prefix",
                count_field=f"{SETTINGS_KEY}.secondary_cidr" if secondary else "apps",
            ),
        )

    def secondary_network(self) -> ipaddress.IPv4Network | None:
        """The secondary CIDR block, if any."""
        cidr = self.settings.secondary_cidr
        return ipaddress.IPv4Network(cidr) if cidr else None

    def egress_point(self, tenant: Tenant) -> tuple[str, str] | None:
        """The app's NAT group in the NAT pool."""
        group = self.nat_group_of(tenant.name)
        return (NAT_POOL, group) if group is not None else None

    def cluster_options(self) -> ClusterOptions:
        """External SNAT on: the NAT gateway, not the node, translates pod traffic."""
        return ClusterOptions(vpc_cni_env=dict(EXTERNAL_SNAT))
