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

The CDK wiring (the pod pool in the address plan, the vpc-cni ``eniConfig`` values, max-pods in
the node groups' launch templates) is not built yet; these are its pure building blocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from eks_secure.errors import ConfigError

ZONE_LABEL = "topology.kubernetes.io/zone"
CUSTOM_NETWORK_ENV: dict[str, str] = {
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true",
    "ENI_CONFIG_LABEL_DEF": ZONE_LABEL,
}
"""vpc-cni environment of custom networking; each ``ENIConfig`` is named after its AZ."""
EXTERNAL_SNAT = "AWS_VPC_K8S_CNI_EXTERNALSNAT"

_FAMILY = re.compile(r"^[mcr](?P<gen>\d+)[a-z-]*\.(?P<size>[a-z0-9]+)$")

# (ENIs, IPv4 addresses per ENI) by instance size, for the m, c and r families of generation
# 5 and later (EC2 "IP addresses per network interface per instance type").
ENI_LIMITS: Mapping[str, tuple[int, int]] = {
    "large": (3, 10),
    "xlarge": (4, 15),
    "2xlarge": (4, 15),
    "4xlarge": (8, 30),
    "8xlarge": (8, 30),
    "12xlarge": (8, 30),
    "16xlarge": (15, 50),
    "24xlarge": (15, 50),
}


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
    takes another ENI slot. Known for the ``m``, ``c`` and ``r`` families of generation 5 and later
    (:data:`ENI_LIMITS`); other types need an explicit value.
    """
    match = _FAMILY.match(instance_type)
    limits = ENI_LIMITS.get(match.group("size")) if match else None
    if match is None or limits is None or int(match.group("gen")) < 5:
        raise ConfigError(
            field,
            f"the ENI limits of {instance_type} are not known to eks-secure",
            "set custom_networking.max_pods (see the EC2 ENI limits of the type)",
        )
    enis, ips = limits
    usable = enis - 1 - (1 if pod_eni else 0)
    return usable * (ips - 1) + 2


def pattern_problems(vpc_cni_env: Mapping[str, str], pattern: str, field: str) -> list[ConfigError]:
    """Custom networking is refused where it would change what on-premises sees (no SNAT)."""
    if vpc_cni_env.get(EXTERNAL_SNAT) == "true":
        return [
            ConfigError(
                field,
                f"pattern {pattern} sends pod addresses off the node ({EXTERNAL_SNAT}); with "
                "custom networking they would come from the shared pod subnets, which neither "
                "route each app to its own egress nor tell apps apart on the allow-list",
                "leave custom_networking out for this pattern",
            )
        ]
    return []
