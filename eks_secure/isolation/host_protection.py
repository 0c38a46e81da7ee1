"""Pods cannot reach their node's services (kubelet 10250, SSH 22) nor the instance metadata.

What the VPC CNI's own network policy can and cannot do (``enableNetworkPolicy``, on in every
eks-secure cluster): it enforces Kubernetes ``NetworkPolicy`` objects in eBPF on each pod's
interface, but a pod's traffic to **its own node** is always allowed (the kubelet must reach
the pod for probes, and the upstream API defines no way to select the node), and a
``NetworkPolicy`` can only allow, never deny. A namespace's egress allow-list can leave node
addresses out (``ipBlock.except``), but that stops neither a pod in a namespace without such a
list nor the pod's own node. Calico's tiers can deny, and apply before every
``NetworkPolicy``: :func:`calico_tier` and :func:`calico_host_protection_policy` deny TCP 22
and 10250 to the node subnets and everything to ``169.254.169.254/32`` from every pod, and
pass the rest on to the normal policies. Calico runs in policy-only mode on top of the VPC CNI
(:func:`calico_values`: ``cni.type: AmazonVPC``, no BGP, no IPAM); pod networking stays the
VPC CNI's.

On a Cilium cluster the same protection is :func:`cilium_host_firewall_policy`, a
``CiliumClusterwideNetworkPolicy`` with ``egressDeny`` towards the ``host`` and ``remote-node``
entities and the metadata address; ``enableDefaultDeny`` is off so the policy adds denies
without putting every pod into default-deny.

The controls that hold whatever the CNI: IMDSv2 with hop limit 1 on every node (a pod's
request never reaches IMDS), no SSH key and no ``remote_access``, and kubelet open only to
the cluster security group. Pure Python (no CDK).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eks_secure.errors import ConfigError
from eks_secure.helm.images import ChartImage, merge, nested
from eks_secure.registry.mirror import ImageMirror

NODE_PORTS: tuple[int, ...] = (22, 10250)
"""Node services no pod may reach: SSH and the kubelet API."""
IMDS_CIDR = "169.254.169.254/32"
"""The EC2 instance metadata service (IPv4)."""

TIER = "eks-secure-host"
"""Calico tier of the host-protection policy, evaluated before the default tier."""
TIER_ORDER = 100
"""Order of :data:`TIER` (lower runs first; the default tier has no order, i.e. last)."""
POLICY = f"{TIER}.deny-node-services"
"""Name of the GlobalNetworkPolicy (Calico names tiered policies ``<tier>.<name>``)."""
CILIUM_POLICY = "eks-secure-host-protection"
"""Name of the CiliumClusterwideNetworkPolicy equivalent."""

CALICO_CHART = "tigera-operator"
CALICO_RELEASE = "calico"
CALICO_NAMESPACE = "tigera-operator"
CALICO_CHART_VERSION = "3.30.3"
"""Pinned chart version (the chart's ``Chart.yaml`` says ``v3.30.3``; Helm matches it by
semantic version, so the ECR/OCI tag ``v3.30.3`` is found for ``--version 3.30.3``)."""
CALICO_VERSION = "v3.30.3"
"""Calico version of :data:`CALICO_CHART_VERSION`."""
OPERATOR_VERSION = "v1.38.6"
"""Tigera operator version of :data:`CALICO_CHART_VERSION`."""

CALICO_CHART_IMAGES: tuple[ChartImage, ...] = (
    ChartImage(f"quay.io/tigera/operator:{OPERATOR_VERSION}", ("tigeraOperator",)),
    ChartImage(f"docker.io/calico/ctl:{CALICO_VERSION}", ("calicoctl",)),
)
"""Images the chart itself renders (operator, calicoctl)."""
CALICO_OPERATOR_IMAGE_NAMES: tuple[str, ...] = (
    "node",
    "typha",
    "kube-controllers",
    "apiserver",
    "csi",
    "node-driver-registrar",
    "pod2daemon-flexvol",
)
"""Names of the Calico images the operator deploys at run time (``quay.io/calico/<name>``)."""
CALICO_OPERATOR_IMAGES: tuple[str, ...] = tuple(
    f"quay.io/calico/{name}:{CALICO_VERSION}" for name in CALICO_OPERATOR_IMAGE_NAMES
)
"""Images the operator deploys for policy-only mode on EKS (mirror all of them), pulled from
``installation.registry`` + ``installation.imagePath``. The operator picks them at run time, so
no offline render can prove this list; ``docs/deploy-time-checks.md`` says how to confirm it."""


def check_node_cidrs(node_cidrs: Sequence[str], field: str) -> tuple[str, ...]:
    """The node CIDRs, at least one, each once."""
    if not node_cidrs:
        raise ConfigError(field, "no node subnet is known", "pass the node subnets' CIDRs")
    if len(set(node_cidrs)) != len(node_cidrs):
        raise ConfigError(field, "lists a CIDR twice", "list each node subnet once")
    return tuple(node_cidrs)


def _namespace_selector(exempt: Sequence[str]) -> str:
    if not exempt:
        return "all()"
    names = ", ".join(f"'{n}'" for n in sorted(exempt))
    return f"kubernetes.io/metadata.name not in {{{names}}}"


def calico_tier() -> dict[str, Any]:
    """The ``Tier`` of the host-protection policy; unmatched traffic passes to the next tier."""
    return {
        "apiVersion": "projectcalico.org/v3",
        "kind": "Tier",
        "metadata": {"name": TIER},
        "spec": {"order": TIER_ORDER, "defaultAction": "Pass"},
    }


def calico_host_protection_policy(
    node_cidrs: Sequence[str], *, exempt_namespaces: Sequence[str] = ()
) -> dict[str, Any]:
    """The ``GlobalNetworkPolicy`` denying pods SSH and kubelet on every node, and IMDS.

    Applies to every pod (workload endpoint; host-network pods are not workload endpoints and
    are not affected) outside ``exempt_namespaces``. Denies TCP :data:`NODE_PORTS` to
    ``node_cidrs`` (which covers the pod's own node: Calico, unlike ``NetworkPolicy``, applies
    to that traffic too), denies all traffic to :data:`IMDS_CIDR`, and passes everything else
    to the default tier's ``NetworkPolicy`` objects. Egress only: ingress is not evaluated here.
    """
    nets = list(check_node_cidrs(node_cidrs, "host_protection.node_cidrs"))
    return {
        "apiVersion": "projectcalico.org/v3",
        "kind": "GlobalNetworkPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "tier": TIER,
            "order": 10,
            "selector": "all()",
            "namespaceSelector": _namespace_selector(exempt_namespaces),
            "types": ["Egress"],
            "egress": [
                {
                    "action": "Deny",
                    "protocol": "TCP",
                    "destination": {"nets": nets, "ports": list(NODE_PORTS)},
                },
                {"action": "Deny", "destination": {"nets": [IMDS_CIDR]}},
                {"action": "Pass"},
            ],
        },
    }


def cilium_host_firewall_policy(
    *, exempt_namespaces: Sequence[str] = (), imds: bool = True
) -> dict[str, Any]:
    """The ``CiliumClusterwideNetworkPolicy`` equivalent for a Cilium cluster.

    Every pod outside ``exempt_namespaces`` is denied TCP :data:`NODE_PORTS` towards the
    ``host`` (its own node) and ``remote-node`` entities, and (``imds``) all traffic to
    :data:`IMDS_CIDR`. ``enableDefaultDeny`` is off in both directions, so selecting every pod
    adds these denies and changes nothing else. Deny rules win over allow rules in Cilium.
    """
    selector: dict[str, Any] = {}
    if exempt_namespaces:
        selector = {
            "matchExpressions": [
                {
                    "key": "k8s:io.kubernetes.pod.namespace",
                    "operator": "NotIn",
                    "values": sorted(exempt_namespaces),
                }
            ]
        }
    deny: list[dict[str, Any]] = [
        {
            "toEntities": ["host", "remote-node"],
            "toPorts": [{"ports": [{"port": str(p), "protocol": "TCP"} for p in NODE_PORTS]}],
        }
    ]
    if imds:
        deny.append({"toCIDR": [IMDS_CIDR]})
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumClusterwideNetworkPolicy",
        "metadata": {"name": CILIUM_POLICY},
        "spec": {
            "description": "eks-secure: pods cannot reach node SSH, kubelet, or IMDS",
            "endpointSelector": selector,
            "enableDefaultDeny": {"egress": False, "ingress": False},
            "egressDeny": deny,
        },
    }


def calico_image_values(mirror: ImageMirror) -> dict[str, Any]:
    """Image values of the tigera-operator chart for ``mirror``: the operator and calicoctl, and
    the registry every operator-deployed Calico image is pulled from."""
    operator = mirror.mirror(CALICO_CHART_IMAGES[0].ref)
    ctl = mirror.mirror(CALICO_CHART_IMAGES[1].ref)
    return merge(
        [
            nested(
                ("tigeraOperator",),
                {
                    "registry": operator.registry,
                    "image": operator.repository,
                    "version": operator.version,
                },
            ),
            nested(("calicoctl",), {"image": f"{ctl.registry}/{ctl.repository}", "tag": ctl.tag}),
            # the operator prefixes every image with registry (trailing slash) and imagePath
            nested(
                ("installation",),
                {"registry": mirror.registry_for("quay.io") + "/", "imagePath": "calico"},
            ),
        ]
    )


def calico_values(node_selector: Mapping[str, str]) -> dict[str, Any]:
    """Values of the tigera-operator chart besides images: policy-only mode on the VPC CNI.

    ``kubernetesProvider: EKS`` and ``cni.type: AmazonVPC`` make the operator install Calico for
    policy only (pod IPs and routes stay the VPC CNI's); BGP is off; the Calico API server is on
    (it serves ``projectcalico.org/v3``, which the tier and policy use); the Goldmane flow
    aggregator and Whisker UI are off (more images, nothing in a private cluster reads them).
    The operator and Calico's control-plane pods run on ``node_selector`` (the system nodes).
    """
    return {
        "installation": {
            "enabled": True,
            "kubernetesProvider": "EKS",
            "cni": {"type": "AmazonVPC"},
            "calicoNetwork": {"bgp": "Disabled"},
            "controlPlaneNodeSelector": dict(node_selector),
        },
        "apiServer": {"enabled": True},
        "goldmane": {"enabled": False},
        "whisker": {"enabled": False},
        "nodeSelector": {"kubernetes.io/os": "linux", **node_selector},
    }
