"""Custom networking: pods in dedicated pod subnets, one per AZ, through per-AZ ``ENIConfig``.

With :data:`CUSTOM_NETWORK_ENV` ipamd takes the subnet and security groups of every secondary
ENI from the ``ENIConfig`` named by the node's zone label (``ENI_CONFIG_LABEL_DEF``), so pods get
addresses from the pod subnets and the pod ENIs' security groups, not the node's primary ENI
groups; the primary ENI carries no pod, which lowers max-pods (:func:`max_pods`).

How it changes each pattern's allow-list (the sources on-premises sees):

* ``subnet-per-app`` (pattern 1): unchanged while the VPC CNI SNATs off-VPC traffic to the
  node's primary IP (the default; the node is in the app's subnets). Without SNAT the source
  would become the *shared* pod subnets, which no longer tell apps apart: :func:`pattern_problems`
  refuses that combination.
* ``private-nat`` (pattern 2, ``AWS_VPC_K8S_CNI_EXTERNALSNAT=true``): the pod's own address
  leaves the node, from the shared pod subnets, whose route tables cannot send each app to its
  NAT group: refused.
* Cilium and Istio egress gateways: Cilium replaces the VPC CNI (custom networking does not
  apply); the Istio gateway's traffic is SNATed to its node like pattern 1, so unchanged.

The CDK side is :class:`eks_secure.isolation.construct.CustomNetworking`, built by
:class:`~eks_secure.cluster.cluster.SecureCluster` (``custom_networking=``) before its first node
group: the pod subnets (pool :data:`POD_POOL`), the ``ENIConfig`` objects, the vpc-cni settings
(the add-on created before any node, so every node boots with them) and ``maxPods`` in every node
group's launch template (:func:`node_config`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eks_secure import rules
from eks_secure.errors import ConfigError
from eks_secure.network import capacity
from eks_secure.network.planner import PoolRequest, SlotRequest

if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.config.model import CustomNetworkingSettings

FIELD = "isolation.custom_networking"
POD_POOL = "pods"
"""Name of the pod pool in the address plan and its lock."""
POD_TIER = "pods"
"""Tier of the pod subnets (``eks-secure.io/tier``): the preflight counts pod addresses there."""
POD_MEMBER = "pods"
"""The pod pool's one member."""

ZONE_LABEL = "topology.kubernetes.io/zone"
CUSTOM_NETWORK_ENV: dict[str, str] = {
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true",
    "ENI_CONFIG_LABEL_DEF": ZONE_LABEL,
}
"""vpc-cni environment of custom networking; each ``ENIConfig`` is named after its AZ."""
EXTERNAL_SNAT = "AWS_VPC_K8S_CNI_EXTERNALSNAT"
EXCLUDE_SNAT = "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"
"""Comma-separated destinations the VPC CNI does not SNAT pod traffic to (the pod's own address
leaves the node)."""


def eni_configs(
    subnets: Mapping[str, str], security_group_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """One ``ENIConfig`` per AZ (name = AZ, matched by :data:`ZONE_LABEL`): ``subnets`` maps AZ
    to pod subnet ID."""
    if not security_group_ids:
        raise ConfigError(
            "custom_networking.security_groups",
            "no security group for the pod ENIs",
            "pass the cluster security group",
        )
    return [
        {
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": az},
            "spec": {"subnet": subnet, "securityGroups": list(security_group_ids)},
        }
        for az, subnet in sorted(subnets.items())
    ]


def max_pods(instance_type: str, *, pod_eni: bool = False, field: str = "instance_types") -> int:
    """Max-pods of a node with custom networking: ``(ENIs - 1) x (IPs per ENI - 1) + 2``.

    The primary ENI carries no pod; with security groups for pods (``pod_eni``) the trunk ENI
    takes another ENI slot. ENI limits from the pinned VPC CNI table
    (:func:`eks_secure.network.capacity.eni_limits`, the same as the capacity rules'); a type
    missing from it needs an explicit value.
    """
    limits = capacity.eni_limits()["types"].get(instance_type)
    if limits is None:
        raise ConfigError(
            field,
            f"the ENI limits of {instance_type} are not in the pinned VPC CNI table",
            "set isolation.custom_networking.max_pods (see the EC2 ENI limits of the type)",
        )
    enis, ips = int(limits[0]), int(limits[1])
    usable = enis - 1 - (1 if pod_eni else 0)
    return usable * (ips - 1) + 2


def pattern_problems(vpc_cni_env: Mapping[str, str], pattern: str, field: str) -> list[ConfigError]:
    """Custom networking is refused where it would change what on-premises sees (no SNAT);
    see :func:`eks_secure.rules.custom_networking_cni`."""
    return rules.custom_networking_cni(True, vpc_cni_env, pattern, field)


def pod_pool(settings: CustomNetworkingSettings) -> PoolRequest:
    """The pod pool: one member, one ``/pod_subnet_prefix`` subnet per AZ, from the secondary
    CIDR when one is given (placed after every pattern pool, ``late``)."""
    return PoolRequest(
        name=POD_POOL,
        tier=POD_TIER,
        members=(SlotRequest(name=POD_MEMBER, field=FIELD),),
        subnet_prefix=settings.pod_subnet_prefix,
        pool_prefix=32,  # the pool is exactly its one slot
        secondary_cidr=settings.secondary_cidr,
        field=f"{FIELD}.secondary_cidr" if settings.secondary_cidr else FIELD,
        prefix_field=f"{FIELD}.pod_subnet_prefix",
        count_field=FIELD,
        late=True,
    )


def node_max_pods(
    instance_types: Sequence[str], *, pod_eni: bool, field: str, override: int | None = None
) -> int:
    """The kubelet ``maxPods`` of a node group: ``override``, else the fewest of its types'."""
    if override is not None:
        return override
    return min(
        max_pods(t, pod_eni=pod_eni, field=f"{field}.instance_types[{i}]")
        for i, t in enumerate(instance_types)
    )


def node_config(max_pods_value: int) -> str:
    """The nodeadm ``NodeConfig`` (AL2023) part of a node's user data that sets ``maxPods``.

    EKS merges it with the ``NodeConfig`` it generates for a managed node group whose launch
    template names no AMI (cluster endpoint, CA, DNS): ours only sets the kubelet's limit.
    """
    return (
        "---\n"
        "apiVersion: node.eks.aws/v1alpha1\n"
        "kind: NodeConfig\n"
        "spec:\n"
        "  kubelet:\n"
        "    config:\n"
        f"      maxPods: {max_pods_value}\n"
    )


def pod_addresses_per_node(instance_type: str) -> int | None:
    """Most pod-subnet addresses one node takes: every address of every ENI but the primary
    (``(ENIs - 1) x IPv4 per ENI``, the pinned VPC CNI table); ``None`` if the type is unknown."""
    limits = capacity.eni_limits()["types"].get(instance_type)
    if limits is None:
        return None
    return (int(limits[0]) - 1) * int(limits[1])


def snatted_to_node(vpc_cni_env: Mapping[str, str], destination: str) -> bool:
    """Whether the VPC CNI SNATs pod traffic to ``destination`` (outside the VPC) to the node's
    primary address: yes unless external SNAT is on or an ``EXCLUDE_SNAT`` CIDR overlaps it."""
    if vpc_cni_env.get(EXTERNAL_SNAT, "").lower() == "true":
        return False
    target = ipaddress.ip_network(destination, strict=False)
    excluded = (c.strip() for c in vpc_cni_env.get(EXCLUDE_SNAT, "").split(","))
    return not any(target.overlaps(ipaddress.ip_network(c, strict=False)) for c in excluded if c)


def egress_sources(
    node_cidrs: Sequence[str],
    pod_cidrs: Sequence[str],
    vpc_cni_env: Mapping[str, str],
    destinations: Sequence[str],
) -> tuple[str, ...]:
    """The sources on-premises sees from pods on nodes in ``node_cidrs``: the node subnets for
    the destinations SNATed to the node, and with custom networking (``pod_cidrs``) the pod
    subnets for those that are not (the pod's own address, from the shared pod subnets)."""
    if not pod_cidrs:
        return tuple(node_cidrs)
    snat = [snatted_to_node(vpc_cni_env, d) for d in destinations] or [True]
    return (
        *(node_cidrs if any(snat) else ()),
        *(pod_cidrs if not all(snat) else ()),
    )
