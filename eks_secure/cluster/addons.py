"""Pinned EKS managed add-ons: vpc-cni (network policy on), coredns, kube-proxy, pod identity."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.addon_versions import ADDON_NAMES, ADDON_VERSIONS, table_problems
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.config.model import require_supported_version

if table_problems(ADDON_VERSIONS):  # pragma: no cover - import check
    raise RuntimeError(f"ADDON_VERSIONS: {table_problems(ADDON_VERSIONS)}")
if set(ADDON_NAMES) != set(rules.MANAGED_ADDONS):  # pragma: no cover - import check
    raise RuntimeError("ADDON_NAMES and rules.MANAGED_ADDONS must list the same add-ons")

CNI_ADDONS: tuple[str, ...] = ("vpc-cni", "kube-proxy")
"""Add-ons a pattern that brings its own CNI (and kube-proxy replacement) leaves out."""


def vpc_cni_configuration(extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """vpc-cni configuration values: network policy enforcement on, plus ``extra_env``."""
    config: dict[str, Any] = {"enableNetworkPolicy": "true"}
    if extra_env:
        config["env"] = dict(sorted(extra_env.items()))
    return config


class ManagedAddons(Construct):
    """The cluster's pinned managed add-ons.

    :param cluster: the cluster to install them into.
    :param kubernetes_version: selects the pinned versions (``ADDON_VERSIONS``).
    :param versions: per-add-on overrides of the pinned versions.
    :param vpc_cni_env: extra vpc-cni environment (e.g. ``AWS_VPC_K8S_CNI_EXTERNALSNAT``); read
        at synthesis, so additions to the mapping after construction are included.
    :param vpc_cni: install vpc-cni and kube-proxy. Default: True (``False`` when the egress
        pattern brings its own CNI).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: eks.Cluster,
        kubernetes_version: str,
        versions: Mapping[str, str] | None = None,
        vpc_cni_env: Mapping[str, str] | None = None,
        vpc_cni: bool = True,
    ) -> None:
        super().__init__(scope, id)
        require_supported_version(kubernetes_version)
        overrides = dict(versions or {})
        rules.raise_problems(
            [p for name in overrides for p in rules.addon_name(name, f"addon_versions.{name}")]
        )
        self.versions: dict[str, str] = {**ADDON_VERSIONS[kubernetes_version], **overrides}
        """The add-on versions actually installed."""
        self.addons: dict[str, eks.Addon] = {}
        """The add-on constructs by name."""
        for name in ADDON_NAMES:
            if not vpc_cni and name in CNI_ADDONS:
                continue
            self.addons[name] = eks.Addon(
                self,
                _construct_id(name),
                cluster=as_icluster(cluster),
                addon_name=name,
                addon_version=self.versions[name],
                preserve_on_delete=False,
            )
            cfn = self.addons[name].node.default_child
            assert isinstance(cfn, eks.CfnAddon)
            if name == "vpc-cni":
                cfn.configuration_values = cdk.Lazy.string(_CniConfiguration(vpc_cni_env))
            # EKS installs self-managed vpc-cni, kube-proxy and coredns at creation; the managed
            # add-on (with our configuration) must take their fields over, not fail on them.
            cfn.resolve_conflicts = "OVERWRITE"


@jsii.implements(cdk.IStableStringProducer)
class _CniConfiguration:
    """The vpc-cni configuration JSON, produced at synthesis from the env as it is then (egress
    patterns add to the mapping after the add-on is constructed)."""

    def __init__(self, env: Mapping[str, str] | None) -> None:
        self.env = env

    def produce(self) -> str:
        return json.dumps(vpc_cni_configuration(self.env), separators=(",", ":"))


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
