"""Turn a validated :class:`DeploymentConfig` into its :class:`NetworkPlan`."""

from __future__ import annotations

from eks_secure.config.model import DeploymentConfig
from eks_secure.network.planner import NetworkPlan, SlotRequest, plan_network


def nat_group_field(name: str) -> str:
    """Config path of a NAT group's slot request (the planner appends ``.slot``)."""
    return f"private_nat.groups.{name}"


def plan_for(config: DeploymentConfig) -> NetworkPlan:
    """Plan every subnet of ``config``; raise ConfigError(s) when the plan cannot fit.

    Apps get a slot only when the pattern is not ``base``; NAT groups (one per distinct
    ``nat_group``, pinned by ``private_nat.groups``) only with pattern ``private-nat``.
    """
    apps: list[SlotRequest] = []
    nat_groups: list[SlotRequest] = []
    if config.pattern != "base":
        apps = [
            SlotRequest(name=app.name, slot=app.slot, field=f"apps[{i}]")
            for i, app in enumerate(config.apps)
        ]
    secondary_cidr: str | None = None
    if config.pattern == "private-nat":
        pinned = dict(config.private_nat.group_slots)
        nat_groups = [
            SlotRequest(name=group, slot=pinned.get(group), field=nat_group_field(group))
            for group in config.nat_groups
        ]
        secondary_cidr = config.private_nat.secondary_cidr
    sizes = config.subnet_sizes
    return plan_network(
        vpc_cidr=config.vpc_cidr,
        availability_zones=config.availability_zones,
        on_prem_cidrs=config.on_prem_cidrs,
        apps=apps,
        nat_groups=nat_groups,
        control_plane_prefix=sizes.control_plane,
        endpoint_prefix=sizes.endpoints,
        system_node_prefix=sizes.system_nodes,
        app_prefix=sizes.app,
        nat_prefix=sizes.nat,
        secondary_cidr=secondary_cidr,
    )
