"""The registered egress patterns, by name: the one list the loader, the planner, the reference
app and the contract tests dispatch through.

Adding a pattern is one new package under ``eks_secure/egress/`` with an
:class:`~eks_secure.egress.spec.EgressSpec` subclass, plus one line in :data:`PATTERNS`.
Everything here is pure Python: importing the registry never starts the CDK runtime.
"""

from __future__ import annotations

from eks_secure.egress.cilium import CiliumEgress
from eks_secure.egress.istio import IstioEgress
from eks_secure.egress.private_nat import PrivateNatEgress
from eks_secure.egress.spec import EgressSpec
from eks_secure.egress.subnet_per_app import SubnetPerAppEgress
from eks_secure.errors import ConfigError
from eks_secure.rules import suggest

BASE = "base"
"""The VPC, cluster and creator role alone: no egress pattern, no apps."""

PATTERNS: dict[str, type[EgressSpec]] = {
    SubnetPerAppEgress.name: SubnetPerAppEgress,
    PrivateNatEgress.name: PrivateNatEgress,
    CiliumEgress.name: CiliumEgress,
    IstioEgress.name: IstioEgress,
}
"""Registered egress patterns by name."""

PLANNED: dict[str, str] = {}
"""Pattern names reserved for patterns that are not built yet (rejected with a clear error)."""


def pattern_names() -> tuple[str, ...]:
    """Every name ``-c pattern=`` accepts: ``base`` and the registered patterns."""
    return (BASE, *PATTERNS)


def spec_class(name: str, field: str = "pattern") -> type[EgressSpec] | None:
    """The spec class of pattern ``name`` (``None`` for ``base``); a clear error otherwise."""
    if name == BASE:
        return None
    spec = PATTERNS.get(name)
    if spec is not None:
        return spec
    known = pattern_names()
    if name in PLANNED:
        raise ConfigError(
            field,
            f"pattern '{name}' ({PLANNED[name]}) is not available in this version",
            f"use one of: {', '.join(known)}",
        )
    raise ConfigError(
        field, f"unknown pattern '{name}'", f"{suggest(name, known)}use one of: {', '.join(known)}"
    )


def register(spec: type[EgressSpec]) -> type[EgressSpec]:
    """Register an extra pattern (tests, or an organisation's own pattern); returns ``spec``."""
    if spec.name in PATTERNS or spec.name == BASE:
        raise ConfigError(
            "pattern", f"a pattern named '{spec.name}' is already registered", "pick another name"
        )
    PATTERNS[spec.name] = spec
    return spec


register_pattern = register
"""Public alias of :func:`register` (``eks_secure.register_pattern``)."""


def unregister(name: str) -> None:
    """Remove a pattern registered with :func:`register`."""
    PATTERNS.pop(name, None)
