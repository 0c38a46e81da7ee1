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
    "NodeGroupSize": "eks_secure.config.model",
    "OnPremRoute": "eks_secure.config.model",
    "ControlPlaneDestination": "eks_secure.config.model",
    "ExistingVpc": "eks_secure.config.model",
    "KyvernoSettings": "eks_secure.config.model",
    "SubnetSizes": "eks_secure.config.model",
    "load_config": "eks_secure.config.loader",
    "parse_config": "eks_secure.config.loader",
    "plan_for": "eks_secure.config.plan",
    "plan_deployment": "eks_secure.config.plan",
    "plan_network": "eks_secure.network.planner",
    "NetworkPlan": "eks_secure.network.planner",
    "SlotRequest": "eks_secure.network.planner",
    "PoolRequest": "eks_secure.network.planner",
    "read_lock": "eks_secure.network.lock",
    "write_lock": "eks_secure.network.lock",
    "EksSecureDeployment": "eks_secure.deployment",
    "CreatorStack": "eks_secure.deployment",
    "SecureVpc": "eks_secure.network.vpc",
    "SecureCluster": "eks_secure.cluster.cluster",
    "ClusterCreatorRole": "eks_secure.cluster.creator_role",
    "creator_stack_synthesizer": "eks_secure.cluster.creator_role",
    "tag_for_cluster": "eks_secure.cluster.tagging",
    "HardenedNodegroup": "eks_secure.cluster.nodegroup",
    "KyvernoInstall": "eks_secure.cluster.kyverno",
    "HelmRelease": "eks_secure.helm.release",
    "EcrMirrorChart": "eks_secure.helm.source",
    "RepositoryChart": "eks_secure.helm.source",
    "LocalChart": "eks_secure.helm.source",
    "ImageMirror": "eks_secure.registry.mirror",
    "PullThroughCache": "eks_secure.registry.pull_through",
    "ReleaseFenceChart": "eks_secure.k8s.release_fence",
    "BaselineChart": "eks_secure.k8s.baseline",
    "Tenant": "eks_secure.egress.contract",
    "AllowListEntry": "eks_secure.egress.contract",
    "EgressSpec": "eks_secure.egress.spec",
    "PerAppSpec": "eks_secure.egress.spec",
    "ClusterOptions": "eks_secure.egress.spec",
    "NodeTaint": "eks_secure.egress.spec",
    "EgressPattern": "eks_secure.egress.pattern",
    "AppFence": "eks_secure.egress.fence",
    "register_pattern": "eks_secure.egress.registry",
    "DedicatedNodesApp": "eks_secure.egress.dedicated.spec",
    "SubnetPerAppEgress": "eks_secure.egress.subnet_per_app",
    "SubnetPerApp": "eks_secure.egress.subnet_per_app.construct",
    "PrivateNatEgress": "eks_secure.egress.private_nat",
    "PrivateNatApp": "eks_secure.egress.private_nat",
    "PrivateNatSettings": "eks_secure.egress.private_nat",
    "PrivateNat": "eks_secure.egress.private_nat.construct",
    "CiliumEgress": "eks_secure.egress.cilium",
    "CiliumApp": "eks_secure.egress.cilium",
    "CiliumSettings": "eks_secure.egress.cilium",
    "CiliumEgressGateway": "eks_secure.egress.cilium.construct",
    "IstioEgress": "eks_secure.egress.istio",
    "IstioSettings": "eks_secure.egress.istio",
    "IstioDestination": "eks_secure.egress.istio",
    "IstioEgressGateway": "eks_secure.egress.istio.construct",
    "write_allowlists": "eks_secure.egress.allowlist",
    "read_assembly": "eks_secure.egress.allowlist",
    "EksSecureChecks": "eks_secure.checks.pack",
    "EksGuardrailPolicy": "eks_secure.org.guardrail",
    "eks_guardrail_document": "eks_secure.org.scp",
}

__all__ = [
    "AllowListEntry",
    "AppFence",
    "BaselineChart",
    "CiliumApp",
    "CiliumEgress",
    "CiliumEgressGateway",
    "CiliumSettings",
    "ClusterCreatorRole",
    "ClusterOptions",
    "ConfigError",
    "ConfigErrors",
    "ControlPlaneDestination",
    "CreatorStack",
    "DedicatedNodesApp",
    "DeploymentConfig",
    "EcrMirrorChart",
    "EgressPattern",
    "EgressSpec",
    "EksGuardrailPolicy",
    "EksSecureChecks",
    "EksSecureDeployment",
    "ExistingVpc",
    "HardenedNodegroup",
    "HelmRelease",
    "ImageMirror",
    "IstioDestination",
    "IstioEgress",
    "IstioEgressGateway",
    "IstioSettings",
    "KyvernoInstall",
    "KyvernoSettings",
    "LocalChart",
    "NetworkPlan",
    "NodeGroupSize",
    "NodeTaint",
    "OnPremRoute",
    "PerAppSpec",
    "PoolRequest",
    "PrivateNat",
    "PrivateNatApp",
    "PrivateNatEgress",
    "PrivateNatSettings",
    "PullThroughCache",
    "ReleaseFenceChart",
    "RepositoryChart",
    "SecureCluster",
    "SecureVpc",
    "SlotRequest",
    "SubnetPerApp",
    "SubnetPerAppEgress",
    "SubnetSizes",
    "Tenant",
    "creator_stack_synthesizer",
    "eks_guardrail_document",
    "load_config",
    "parse_config",
    "plan_deployment",
    "plan_for",
    "plan_network",
    "read_assembly",
    "read_lock",
    "register_pattern",
    "tag_for_cluster",
    "write_allowlists",
    "write_lock",
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
    from eks_secure.cluster.tagging import tag_for_cluster
    from eks_secure.config.loader import load_config, parse_config
    from eks_secure.config.model import (
        ControlPlaneDestination,
        DeploymentConfig,
        ExistingVpc,
        KyvernoSettings,
        NodeGroupSize,
        OnPremRoute,
        SubnetSizes,
    )
    from eks_secure.config.plan import plan_deployment, plan_for
    from eks_secure.deployment import CreatorStack, EksSecureDeployment
    from eks_secure.egress.allowlist import read_assembly, write_allowlists
    from eks_secure.egress.cilium import CiliumApp, CiliumEgress, CiliumSettings
    from eks_secure.egress.cilium.construct import CiliumEgressGateway
    from eks_secure.egress.contract import AllowListEntry, Tenant
    from eks_secure.egress.dedicated.spec import DedicatedNodesApp
    from eks_secure.egress.fence import AppFence
    from eks_secure.egress.istio import IstioDestination, IstioEgress, IstioSettings
    from eks_secure.egress.istio.construct import IstioEgressGateway
    from eks_secure.egress.pattern import EgressPattern
    from eks_secure.egress.private_nat import PrivateNatApp, PrivateNatEgress, PrivateNatSettings
    from eks_secure.egress.private_nat.construct import PrivateNat
    from eks_secure.egress.registry import register as register_pattern
    from eks_secure.egress.spec import ClusterOptions, EgressSpec, NodeTaint, PerAppSpec
    from eks_secure.egress.subnet_per_app import SubnetPerAppEgress
    from eks_secure.egress.subnet_per_app.construct import SubnetPerApp
    from eks_secure.errors import ConfigError, ConfigErrors
    from eks_secure.helm.release import HelmRelease
    from eks_secure.helm.source import EcrMirrorChart, LocalChart, RepositoryChart
    from eks_secure.k8s.baseline import BaselineChart
    from eks_secure.k8s.release_fence import ReleaseFenceChart
    from eks_secure.network.lock import read_lock, write_lock
    from eks_secure.network.planner import NetworkPlan, PoolRequest, SlotRequest, plan_network
    from eks_secure.network.vpc import SecureVpc
    from eks_secure.org.guardrail import EksGuardrailPolicy
    from eks_secure.org.scp import eks_guardrail_document
    from eks_secure.registry.mirror import ImageMirror
    from eks_secure.registry.pull_through import PullThroughCache
