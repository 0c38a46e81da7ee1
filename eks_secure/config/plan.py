"""Turn a deployment's settings, egress spec and tenants into its :class:`NetworkPlan`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from eks_secure.config.model import IsolationSettings, SubnetSizes
from eks_secure.isolation.subnet_nacls import admin_pool
from eks_secure.network.planner import NetworkPlan, PoolRequest, plan_network

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.config.model import DeploymentConfig
    from eks_secure.egress.contract import Tenant
    from eks_secure.egress.spec import EgressSpec


def plan_deployment(
    *,
    vpc_cidr: str,
    availability_zones: Sequence[str],
    on_prem_cidrs: Sequence[str],
    subnet_sizes: SubnetSizes,
    egress: EgressSpec | None,
    tenants: Sequence[Tenant],
    lock: Mapping[str, Mapping[str, int]] | None = None,
    isolation: IsolationSettings | None = None,
) -> NetworkPlan:
    """Plan every subnet: the tiers, the pattern's app slots, its named pools and those of the
    isolation features (:func:`isolation_pools`, placed after the pattern's).

    Raises field-named ``ConfigError(s)`` when the plan cannot fit.
    """
    return plan_network(
        vpc_cidr=vpc_cidr,
        availability_zones=availability_zones,
        on_prem_cidrs=on_prem_cidrs,
        apps=egress.app_slots(tenants) if egress is not None else (),
        pools=(
            *(egress.address_pools(tenants, subnet_sizes) if egress is not None else ()),
            *isolation_pools(isolation),
        ),
        control_plane_prefix=subnet_sizes.control_plane,
        endpoint_prefix=subnet_sizes.endpoints,
        system_node_prefix=subnet_sizes.system_nodes,
        app_prefix=subnet_sizes.app,
        max_subnets=subnet_sizes.subnets_per_vpc,
        lock=lock,
    )


def isolation_pools(isolation: IsolationSettings | None) -> tuple[PoolRequest, ...]:
    """The named pools the isolation features need: the admin pool of ``subnet_nacls``."""
    if isolation is None or isolation.subnet_nacls is None:
        return ()
    return (admin_pool(isolation.subnet_nacls.admin_subnet_prefix),)


def plan_for(
    config: DeploymentConfig, lock: Mapping[str, Mapping[str, int]] | None = None
) -> NetworkPlan:
    """The plan of a validated config (see :func:`plan_deployment`)."""
    return plan_deployment(
        vpc_cidr=config.vpc_cidr,
        availability_zones=config.availability_zones,
        on_prem_cidrs=config.on_prem_cidrs,
        subnet_sizes=config.subnet_sizes,
        egress=config.egress,
        tenants=config.tenants,
        lock=lock,
        isolation=config.isolation,
    )
