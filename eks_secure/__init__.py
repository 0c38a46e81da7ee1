"""eks-secure: AWS CDK constructs for fully private EKS with fixed, auditable egress source IPs.

The public API is importable from here (``from eks_secure import SecureVpc, SecureCluster``).
Names load lazily, so pure-Python users (the ``eks-secure`` command, the config loader and the
planner) never start the jsii runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ConfigError": "eks_secure.errors",
    "ConfigErrors": "eks_secure.errors",
    "DeploymentConfig": "eks_secure.config.model",
    "load_config": "eks_secure.config.loader",
    "parse_config": "eks_secure.config.loader",
    "plan_for": "eks_secure.config.plan",
    "plan_network": "eks_secure.network.planner",
    "NetworkPlan": "eks_secure.network.planner",
    "SlotRequest": "eks_secure.network.planner",
    "SecureVpc": "eks_secure.network.vpc",
    "SecureCluster": "eks_secure.cluster.cluster",
    "ClusterCreatorRole": "eks_secure.cluster.creator_role",
    "creator_stack_synthesizer": "eks_secure.cluster.creator_role",
    "HardenedNodegroup": "eks_secure.cluster.nodegroup",
    "KyvernoInstall": "eks_secure.cluster.kyverno",
    "BaselineChart": "eks_secure.k8s.baseline",
    "Tenant": "eks_secure.egress.contract",
    "AllowListEntry": "eks_secure.egress.contract",
    "EgressPattern": "eks_secure.egress.pattern",
    "SubnetPerApp": "eks_secure.egress.subnet_per_app",
    "PrivateNat": "eks_secure.egress.private_nat",
    "write_allowlists": "eks_secure.egress.allowlist",
    "read_assembly": "eks_secure.egress.allowlist",
    "EksSecureChecks": "eks_secure.checks.pack",
    "EksGuardrailPolicy": "eks_secure.org.guardrail",
    "eks_guardrail_document": "eks_secure.org.scp",
}

__all__ = [
    "AllowListEntry",
    "BaselineChart",
    "ClusterCreatorRole",
    "ConfigError",
    "ConfigErrors",
    "DeploymentConfig",
    "EgressPattern",
    "EksGuardrailPolicy",
    "EksSecureChecks",
    "HardenedNodegroup",
    "KyvernoInstall",
    "NetworkPlan",
    "PrivateNat",
    "SecureCluster",
    "SecureVpc",
    "SlotRequest",
    "SubnetPerApp",
    "Tenant",
    "creator_stack_synthesizer",
    "eks_guardrail_document",
    "load_config",
    "parse_config",
    "plan_for",
    "plan_network",
    "read_assembly",
    "write_allowlists",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'eks_secure' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from eks_secure.checks.pack import EksSecureChecks
    from eks_secure.cluster.cluster import SecureCluster
    from eks_secure.cluster.creator_role import ClusterCreatorRole, creator_stack_synthesizer
    from eks_secure.cluster.kyverno import KyvernoInstall
    from eks_secure.cluster.nodegroup import HardenedNodegroup
    from eks_secure.config.loader import load_config, parse_config
    from eks_secure.config.model import DeploymentConfig
    from eks_secure.config.plan import plan_for
    from eks_secure.egress.allowlist import read_assembly, write_allowlists
    from eks_secure.egress.contract import AllowListEntry, Tenant
    from eks_secure.egress.pattern import EgressPattern
    from eks_secure.egress.private_nat import PrivateNat
    from eks_secure.egress.subnet_per_app import SubnetPerApp
    from eks_secure.errors import ConfigError, ConfigErrors
    from eks_secure.k8s.baseline import BaselineChart
    from eks_secure.network.planner import NetworkPlan, SlotRequest, plan_network
    from eks_secure.network.vpc import SecureVpc
    from eks_secure.org.guardrail import EksGuardrailPolicy
    from eks_secure.org.scp import eks_guardrail_document
