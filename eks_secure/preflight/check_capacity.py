"""Check 7: each node subnet holds its node group at ``max_size`` plus a rolling-update surge.

Per managed node group (``AWS::EKS::Nodegroup``) and subnet, with the sizing model of
:mod:`eks_secure.network.capacity` (shared with the synth-time rule
:func:`eks_secure.rules.node_subnet_capacity`): nodes per subnet at ``max_size`` plus the update
surge (``UpdateConfig.MaxUnavailable`` from the template), times the VPC CNI's most addresses
per node for the largest of the group's instance types (``ENABLE_PREFIX_DELEGATION`` read from
the vpc-cni add-on), plus one Hyperplane ENI per distinct security-group set of each in-VPC
Lambda function placed in the subnet. A node group whose pods take
no address of its own subnets (a CNI allocating pod IPs from other subnets, e.g. Cilium's
gateway nodes) says so in its metadata, ``{"eks-secure:addresses-per-node": N}``, and counts
``N`` per node. With custom networking (``AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG``) a node takes
one address (its primary) of its node subnet, and each AZ's pod subnet (tier tag ``pods``) must
hold every node group's nodes in that AZ times ``(ENIs - 1) x IPv4 per ENI``.
"""

from __future__ import annotations

import ipaddress
import json

from eks_secure.isolation.custom_networking import POD_TIER, pod_addresses_per_node
from eks_secure.network import capacity
from eks_secure.network.capacity import (
    addresses_per_node,
    eni_limits,
    nodes_per_subnet,
    prefix_for,
    surge,
)
from eks_secure.network.planner import TIER_TAG
from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.physical import render
from eks_secure.preflight.report import Problem, Report

CHECK = "capacity"
ADDRESSES_METADATA = "eks-secure:addresses-per-node"
"""Nodegroup metadata overriding the addresses each node takes of its subnet."""


def usable(cidr: str) -> int:
    """Addresses AWS lets you use in a subnet."""
    return capacity.usable(ipaddress.IPv4Network(cidr).prefixlen)


def _cni_env(assembly: Assembly) -> dict[str, str]:
    """The vpc-cni add-on's environment (empty without the add-on)."""
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
        return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}
    return {}


def _on(env: dict[str, str], key: str) -> bool:
    return env.get(key, "false").lower() == "true"


def _pod_subnets(assembly: Assembly) -> dict[str, tuple[Stack, str, str]]:
    """Custom networking's pod subnets (tier tag ``pods``) by AZ: (stack, logical ID, CIDR)."""
    found: dict[str, tuple[Stack, str, str]] = {}
    for stack, logical_id, resource in assembly.all_resources():
        if resource.get("Type") != "AWS::EC2::Subnet":
            continue
        props = stack.properties(logical_id)
        tags = {render(t.get("Key")): render(t.get("Value")) for t in props.get("Tags", [])}
        if tags.get(TIER_TAG) == POD_TIER:
            found[render(props.get("AvailabilityZone", ""))] = (
                stack,
                logical_id,
                render(props.get("CidrBlock", "")),
            )
    return found


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
    env = _cni_env(assembly)
    prefix = _on(env, "ENABLE_PREFIX_DELEGATION")
    custom = _on(env, "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG")
    pod_subnets = _pod_subnets(assembly) if custom else {}
    pod_demand: list[tuple[str, int]] = []
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
        extra_nodes = surge(len(subnets), unavailable)
        nodes = nodes_per_subnet(max_size, len(subnets), unavailable)
        types = [render(t) for t in props.get("InstanceTypes", ["t3.medium"])]
        declared = resource.get("Metadata", {}).get(ADDRESSES_METADATA)
        if custom:
            # the node's primary address only; its pods take the pod subnet of its AZ
            declared = 1 if declared is None else declared
            pods = [n for n in (pod_addresses_per_node(t) for t in types) if n is not None]
            if pods:
                pod_demand.append((f"{stack.name}/{logical_id}", nodes * max(pods)))
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
                    f"{len(subnets)} subnets + {extra_nodes} surge) x {per_node} addresses per "
                    f"{widest} ({mode}){f' + {extra} Lambda ENIs' if extra else ''} = {need}",
                    f"give the subnet a prefix of at most /{prefix_for(need)}, or use fewer or "
                    "smaller nodes (max_size, instance_types)",
                )
            )
    check_pod_subnets(pod_subnets, pod_demand, report)


def check_pod_subnets(
    pod_subnets: dict[str, tuple[Stack, str, str]],
    demand: list[tuple[str, int]],
    report: Report,
) -> None:
    """Each AZ's pod subnet holds the pod ENIs of every node group's nodes in that AZ."""
    need = sum(n for _, n in demand)
    for _az, (stack, logical_id, cidr) in sorted(pod_subnets.items()):
        report.count(CHECK)
        if "/" not in cidr or need <= usable(cidr):
            continue
        parts = ", ".join(f"{name} {n}" for name, n in demand)
        report.add(
            Problem(
                CHECK,
                stack.name,
                logical_id,
                f"pod subnet {cidr} ({usable(cidr)} usable addresses) cannot hold the pod ENIs "
                f"of every node group in its AZ (custom networking): {parts} = {need}",
                f"give the pod subnets a prefix of at most /{prefix_for(need)} "
                "(isolation.custom_networking.pod_subnet_prefix), or lower max_size",
            )
        )
