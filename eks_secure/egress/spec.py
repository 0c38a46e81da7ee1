"""What an egress pattern is, as plain Python data: its settings, needs and builder.

An :class:`EgressSpec` is the object a user picks (``egress=PrivateNatEgress(...)``) and the YAML
loader builds from a config. It is pure Python (no CDK, no jsii): the loader, the planner and the
``eks-secure`` command use it without starting the CDK runtime. It answers, before anything is
built:

* which problems its tenants have for this pattern (:meth:`EgressSpec.check`);
* which address pools it needs besides the tier subnets (:meth:`EgressSpec.address_pools`);
* what the cluster must look like for it (:meth:`EgressSpec.cluster_options`: CNI, add-on
  settings, taints on every node group, platform namespaces);

and then builds its constructs (:meth:`EgressSpec.build`, the only method that imports the CDK).
"""

from __future__ import annotations

import importlib
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from eks_secure.config.model import SubnetSizes
from eks_secure.errors import ConfigError
from eks_secure.network.planner import PoolRequest, SlotRequest

if TYPE_CHECKING:  # pragma: no cover - the CDK is imported by build() only
    from constructs import Construct

    from eks_secure.cluster.cluster import SecureCluster
    from eks_secure.egress.contract import Tenant
    from eks_secure.egress.pattern import EgressPattern

TaintEffect = Literal["NoSchedule", "NoExecute", "PreferNoSchedule"]


@dataclass(frozen=True)
class NodeTaint:
    """A Kubernetes taint every node group of the cluster must carry (e.g. a CNI's not-ready)."""

    key: str
    value: str | None = None
    effect: TaintEffect = "NoSchedule"


@dataclass(frozen=True)
class ClusterOptions:
    """What a pattern needs from the cluster it runs on.

    The deployment builds the cluster with these options; a pattern construct added to a
    cluster built without them fails with a field-named error instead of deploying a cluster
    that cannot work.
    """

    vpc_cni: bool = True
    """Install the VPC CNI and kube-proxy add-ons (``False``: the pattern brings its own CNI, and
    EKS creates the cluster with ``BootstrapSelfManagedAddons: false``). Default: True."""
    vpc_cni_env: Mapping[str, str] = field(default_factory=dict)
    """Environment of the vpc-cni add-on the pattern needs (e.g. external SNAT). Default: none."""
    node_taints: tuple[NodeTaint, ...] = ()
    """Taints every node group starts with (removed by the pattern's agent). Default: none."""
    control_plane_ports: tuple[int, ...] = ()
    """TCP ports the control plane must reach on nodes besides the common webhook ports."""
    platform_namespaces: tuple[str, ...] = ()
    """Namespaces the pattern owns; no app may use them. Default: none."""

    def merged_vpc_cni_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The pattern's vpc-cni environment plus ``extra``; a conflicting value is an error."""
        env = dict(self.vpc_cni_env)
        for key, value in extra.items():
            if key in env and env[key] != value:
                raise ConfigError(
                    "SecureCluster.vpc_cni_env",
                    f"{key}={value} conflicts with {key}={env[key]} that the egress pattern needs",
                    f"drop {key} from vpc_cni_env",
                )
            env[key] = value
        return env


class EgressSpec(ABC):
    """One egress pattern with its settings; subclasses are registered in
    :mod:`eks_secure.egress.registry`.

    Class attributes describe the pattern's YAML: ``settings_key`` names its top-level section
    (``settings_model`` is its pydantic model) and ``app_model`` the extra keys it reads from
    each ``apps[]`` entry. :meth:`from_config` turns a validated section plus each app's extra
    keys into the spec object.
    """

    name: ClassVar[str]
    """The pattern's name (``-c pattern=``)."""
    title: ClassVar[str] = ""
    """One line for docs and ``--help``."""
    settings_key: ClassVar[str | None] = None
    """Top-level YAML key of the pattern's own section, if it has one."""
    settings_model: ClassVar[type[Any] | None] = None
    """pydantic model of that section."""
    app_model: ClassVar[type[Any] | None] = None
    """pydantic model of the keys the pattern adds to each ``apps[]`` entry."""
    construct: ClassVar[str] = ""
    """The pattern's construct as ``module:Class`` (imported by :meth:`build` only, so the spec
    stays free of the CDK); it takes ``cluster``, ``tenants``, ``spec`` and ``nested``."""
    needs_apps: ClassVar[bool] = True
    """Whether the pattern needs at least one app (and on-prem CIDRs with a route)."""
    starter_app: ClassVar[Mapping[str, Any]] = {}
    """The pattern's keys of the example app ``eks-secure init`` writes (e.g. its NAT group)."""
    starter_settings: ClassVar[Mapping[str, Any] | None] = None
    """The example section ``eks-secure init`` writes under ``settings_key``, if any."""

    @classmethod
    def from_config(
        cls, settings: Any | None, apps: Sequence[tuple[str, str, Any | None]]
    ) -> EgressSpec:
        """The spec of a validated config: ``settings`` is the pattern's section (or ``None``),
        ``apps`` lists (app name, config path, that app's pattern keys) in config order."""
        del settings, apps
        return cls()

    def check(self, tenants: Sequence[Tenant]) -> list[ConfigError]:
        """Problems of ``tenants`` for this pattern (pure; no address plan needed)."""
        del tenants
        return []

    def address_pools(
        self, tenants: Sequence[Tenant], sizes: SubnetSizes
    ) -> tuple[PoolRequest, ...]:
        """Named address pools the pattern needs (NAT subnets, gateway subnets...)."""
        del tenants, sizes
        return ()

    def app_slots(self, tenants: Sequence[Tenant]) -> tuple[SlotRequest, ...]:
        """Slots in the app pool (dedicated subnets per app); default: none."""
        del tenants
        return ()

    def cluster_options(self) -> ClusterOptions:
        """What the cluster must look like for this pattern."""
        return ClusterOptions()

    def egress_point(self, tenant: Tenant) -> tuple[str, str] | None:
        """Where ``tenant``'s traffic gets the source IP on-premises sees: (pool, member) of the
        address plan, or ``None`` for the app's own subnets (drawn by ``eks-secure diagram``)."""
        del tenant
        return None

    def build(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        nested: bool = True,
    ) -> EgressPattern:
        """Build the pattern's construct (:attr:`construct`) into ``scope`` (imports the CDK)."""
        if not self.construct:
            raise NotImplementedError(f"{type(self).__name__} names no construct")
        module, _, name = self.construct.partition(":")
        pattern: type[EgressPattern] = getattr(importlib.import_module(module), name)
        return pattern(scope, id, cluster=cluster, tenants=tenants, spec=self, nested=nested)  # type: ignore[call-arg]


AppOptions = TypeVar("AppOptions")
"""The type of a pattern's per-app options (its ``app_model``)."""


class PerAppSpec(EgressSpec, Generic[AppOptions]):
    """Base of the specs that read per-app keys (``app_model``), keeping each app's error path.

    :param apps: per-app options by app name; an app not listed gets ``default_app``.
    :param default_app: options of apps not listed. Default: ``app_model()``.
    :param fields: error path of each app's options (the loader passes ``apps[i]``). Default:
        ``<Spec>.apps[<name>]``.
    """

    def __init__(
        self,
        *,
        apps: Mapping[str, AppOptions] | None = None,
        default_app: AppOptions | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        model = self.app_model
        if model is None:  # pragma: no cover - a subclass without app_model is a library bug
            raise TypeError(f"{type(self).__name__} sets no app_model")
        self.apps: dict[str, AppOptions] = dict(apps or {})
        self.default_app: AppOptions = default_app or model()
        self.fields: dict[str, str] = dict(fields or {})
        for name, options in self.apps.items():
            if not isinstance(options, model):
                raise ConfigError(
                    self.field_of(name),
                    f"is a {type(options).__name__}, not a {model.__name__}",
                    f"pass {model.__name__}(...)",
                )

    @classmethod
    def from_config(
        cls, settings: Any | None, apps: Sequence[tuple[str, str, Any | None]]
    ) -> EgressSpec:
        """One options object per configured app, with its ``apps[i]`` path; ``settings`` too
        when the pattern has a section (``settings_model``)."""
        kwargs: dict[str, Any] = {
            "apps": {name: opts for name, _, opts in apps if opts is not None},
            "fields": {name: path for name, path, _ in apps},
        }
        if cls.settings_model is not None:
            kwargs["settings"] = settings
        return cls(**kwargs)

    def field_of(self, app: str) -> str:
        """Error path of ``app``'s options."""
        return self.fields.get(app, f"{type(self).__name__}.apps[{app}]")

    def options(self, app: str) -> AppOptions:
        """The options of ``app`` (``default_app`` when not listed)."""
        return self.apps.get(app, self.default_app)
