"""Check 7: each node subnet holds its node group at ``max_size`` plus a rolling-update surge.

Per managed node group (``AWS::EKS::Nodegroup``) and subnet:

* nodes per subnet: ``ceil(max_size / subnets)`` plus the update surge. EKS updates a managed
  node group by raising the group by up to twice the number of AZs it spans, so two more nodes
  per subnet (or ``UpdateConfig.MaxUnavailable`` spread over the subnets, if larger);
* addresses per node: the VPC CNI allocates, at most, every address of every ENI the instance
  type can attach (``ENIs x IPv4 per ENI``, from the VPC CNI's own limits table pinned in
  ``data/eni_limits.json``); with ``ENABLE_PREFIX_DELEGATION`` on, every secondary slot is a /28
  (16 addresses) instead. The largest of the group's instance types counts;
* a node group whose pods take no address of its own subnets (a CNI allocating pod IPs from
  other subnets, e.g. Cilium's gateway nodes) says so in its metadata,
  ``{"eks-secure:addresses-per-node": N}``, and counts ``N`` per node;
* other ENIs in the subnet: one per distinct security-group set of each in-VPC Lambda function
  placed there (Hyperplane ENIs).

A subnet holds ``2^(32 - prefix) - 5`` addresses (AWS reserves five).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
from importlib import resources
from typing import Any

from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.physical import render
from eks_secure.preflight.report import Problem, Report

CHECK = "capacity"
SURGE_PER_SUBNET = 2
ADDRESSES_METADATA = "eks-secure:addresses-per-node"
"""Nodegroup metadata overriding the addresses each node takes of its subnet."""
PREFIX_SIZE = 16


@functools.cache
def eni_limits() -> dict[str, Any]:
    """The pinned table ``{"source": ..., "types": {type: [enis, ipv4_per_eni]}}``."""
    path = resources.files("eks_secure.preflight").joinpath("data").joinpath("eni_limits.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def addresses_per_node(instance_type: str, prefix_delegation: bool) -> int | None:
    """Most addresses the VPC CNI takes for one node of ``instance_type`` (None if unknown)."""
    limits = eni_limits()["types"].get(instance_type)
    if limits is None:
        return None
    enis, per_eni = int(limits[0]), int(limits[1])
    if prefix_delegation:
        return enis * (1 + (per_eni - 1) * PREFIX_SIZE)
    return enis * per_eni


def usable(cidr: str) -> int:
    """Addresses AWS lets you use in a subnet."""
    return int(ipaddress.IPv4Network(cidr).num_addresses) - 5


def _prefix_delegation(assembly: Assembly) -> bool:
    for stack, logical_id, resource in assembly.all_resources():
        if resource.get("Type") != "AWS::EKS::Addon":
            continue
        props = stack.properties(logical_id)
        if render(props.get("AddonName")) != "vpc-cni":
            continue
        try:
            config = json.loads(render(props.get("ConfigurationValues", "{}")) or "{}")
        except json.JSONDecodeError:
            continue
        env = config.get("env", {}) if isinstance(config, dict) else {}
        if str(env.get("ENABLE_PREFIX_DELEGATION", "false")).lower() == "true":
            return True
    return False


def _subnet(value: object) -> tuple[Stack, str] | None:
    if isinstance(value, ResourceRef) and value.type == "AWS::EC2::Subnet":
        return value.stack, value.logical_id
    return None


def _lambda_enis(assembly: Assembly) -> dict[tuple[str, str], int]:
    sets: dict[tuple[str, str], set[str]] = {}
    for stack, logical_id, resource in assembly.all_resources():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        vpc = stack.properties(logical_id).get("VpcConfig", {})
        groups = ",".join(sorted(render(g) for g in vpc.get("SecurityGroupIds", [])))
        for raw in vpc.get("SubnetIds", []):
            subnet = _subnet(raw)
            if subnet is not None:
                sets.setdefault((subnet[0].key, subnet[1]), set()).add(groups)
    return {k: len(v) for k, v in sets.items()}


def run(assembly: Assembly, report: Report) -> None:
    """Check every managed node group's subnets."""
    prefix = _prefix_delegation(assembly)
    lambdas = _lambda_enis(assembly)
    for stack, logical_id, resource in assembly.all_resources():
        if resource.get("Type") != "AWS::EKS::Nodegroup":
            continue
        props = stack.properties(logical_id)
        subnets = [s for s in (_subnet(v) for v in props.get("Subnets", [])) if s is not None]
        if not subnets:
            continue
        scaling = props.get("ScalingConfig", {})
        max_size = int(render(scaling.get("MaxSize", 1)))
        unavailable = int(render(props.get("UpdateConfig", {}).get("MaxUnavailable", 1)))
        surge = max(SURGE_PER_SUBNET, math.ceil(unavailable / len(subnets)))
        nodes = math.ceil(max_size / len(subnets)) + surge
        types = [render(t) for t in props.get("InstanceTypes", ["t3.medium"])]
        declared = resource.get("Metadata", {}).get(ADDRESSES_METADATA)
        per_type = {
            t: int(declared) if declared is not None else addresses_per_node(t, prefix)
            for t in types
        }
        unknown = [t for t, n in per_type.items() if n is None]
        if unknown:
            report.notes.append(
                f"capacity: {stack.name}/{logical_id}: instance type(s) {', '.join(unknown)} "
                f"not in the pinned VPC CNI table ({eni_limits()['source']}); not sized"
            )
        known = [n for n in per_type.values() if n is not None]
        if not known:
            continue
        per_node = max(known)
        widest = max((t for t in types if per_type[t] == per_node), key=str)
        for subnet_stack, subnet_id in subnets:
            report.count(CHECK)
            cidr = render(subnet_stack.properties(subnet_id).get("CidrBlock", ""))
            if "/" not in cidr:
                continue
            extra = lambdas.get((subnet_stack.key, subnet_id), 0)
            need = nodes * per_node + extra
            have = usable(cidr)
            if need <= have:
                continue
            mode = "prefix delegation" if prefix else "secondary IPs"
            report.add(
                Problem(
                    CHECK,
                    subnet_stack.name,
                    subnet_id,
                    f"subnet {cidr} ({have} usable addresses) cannot hold node group "
                    f"{stack.name}/{logical_id}: {nodes} nodes (max_size {max_size} over "
                    f"{len(subnets)} subnets + {surge} surge) x {per_node} addresses per "
                    f"{widest} ({mode}){f' + {extra} Lambda ENIs' if extra else ''} = {need}",
                    f"give the subnet a prefix of at most /{_prefix_for(need)}, or use fewer or "
                    "smaller nodes (max_size, instance_types)",
                )
            )


def _prefix_for(addresses: int) -> int:
    prefix = 28
    while prefix > 16 and 2 ** (32 - prefix) - 5 < addresses:
        prefix -= 1
    return prefix
