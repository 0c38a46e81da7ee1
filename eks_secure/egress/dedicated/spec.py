"""Shared spec of the patterns that give each app dedicated subnets and nodes (1 and 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, StrictInt

from eks_secure.config.base import ConfigModel
from eks_secure.config.model import NodeGroupSize
from eks_secure.egress.spec import PerAppSpec
from eks_secure.errors import ConfigError
from eks_secure.network.planner import SlotRequest

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.egress.contract import Tenant


class DedicatedNodesApp(ConfigModel):
    """Per-app keys of the dedicated-nodes patterns (``apps[].slot``, ``apps[].nodes``)."""

    slot: StrictInt | None = Field(default=None, ge=0)
    """Explicit slot of the app's subnets in the app pool. Default: the address-plan lock, or
    a slot derived from the app's name."""
    nodes: NodeGroupSize = NodeGroupSize()
    """Size of the app's dedicated node group. Default: ``NodeGroupSize()`` (2 to 4 m7i.large),
    not the system node group's size."""


class DedicatedNodesEgress(PerAppSpec[DedicatedNodesApp]):
    """Base spec: each app gets a slot of the app pool, a node group and placement policies.

    :param apps: per-app options by app name; an app not listed gets ``default_app``.
    :param default_app: options of apps not listed. Default: ``DedicatedNodesApp()``.
    :param fields: error path of each app's options (the loader passes ``apps[i]``). Default:
        ``<Spec>.apps[<name>]``.
    """

    app_model: ClassVar[type[Any] | None] = DedicatedNodesApp
    route_apps_on_prem: ClassVar[bool] = True
    """Whether app subnets get direct static on-prem routes."""

    def check(self, tenants: Sequence[Tenant]) -> list[ConfigError]:
        """Options given for an app that is not a tenant are a mistake."""
        names = {t.name for t in tenants}
        return [
            ConfigError(
                self.field_of(name),
                f"options are given for app '{name}', which is not one of the tenants",
                "remove them or add the app",
            )
            for name in sorted(self.apps)
            if name not in names
        ]

    def app_slots(self, tenants: Sequence[Tenant]) -> tuple[SlotRequest, ...]:
        """One slot of the app pool per tenant (pinned by its ``slot`` option when given)."""
        return tuple(
            SlotRequest(name=t.name, slot=self.options(t.name).slot, field=self.field_of(t.name))
            for t in tenants
        )
