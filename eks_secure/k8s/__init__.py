"""In-cluster manifests for eks-secure, generated with cdk8s (cdk8s-plus-27 L1 objects)."""

from eks_secure.k8s.baseline import BaselineChart
from eks_secure.k8s.crd import custom_resource
from eks_secure.k8s.manifests import manifests_to_json, synth_manifests
from eks_secure.k8s.policies import (
    IMDS_CIDR,
    IMDS_IPV6_CIDR,
    allow_dns,
    allow_egress_to_cidrs,
    allow_ingress_from_cidrs,
    allow_ingress_from_namespaces,
    allow_same_namespace,
    default_deny,
    ip_block,
    namespace,
    object_meta,
)

__all__ = [
    "IMDS_CIDR",
    "IMDS_IPV6_CIDR",
    "BaselineChart",
    "allow_dns",
    "allow_egress_to_cidrs",
    "allow_ingress_from_cidrs",
    "allow_ingress_from_namespaces",
    "allow_same_namespace",
    "custom_resource",
    "default_deny",
    "ip_block",
    "manifests_to_json",
    "namespace",
    "object_meta",
    "synth_manifests",
]
