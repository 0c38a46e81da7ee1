"""``LoadBalancerPolicy``: the internal-load-balancer ClusterPolicy in the cluster's Kyverno."""

from __future__ import annotations

from collections.abc import Sequence

import cdk8s
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.cluster import SecureCluster
from eks_secure.k8s.load_balancers import load_balancer_policy


class LoadBalancerPolicy(Construct):
    """Every ``Service`` of type LoadBalancer internal unless its namespace may expose one.

    Installs the policy of :mod:`eks_secure.k8s.load_balancers` (manifest
    ``LoadBalancerPolicy``) after the cluster's Kyverno release
    (:meth:`SecureCluster.policy_engine`, installed here if no pattern did).

    :param cluster: the cluster.
    :param internet_facing_namespaces: namespaces whose Services may be internet-facing (with
        ``loadBalancerSourceRanges``). Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        internet_facing_namespaces: Sequence[str] = (),
    ) -> None:
        namespaces = list(internet_facing_namespaces)
        rules.raise_problems(
            rules.internet_facing_namespaces(
                namespaces, True, "LoadBalancerPolicy.internet_facing_namespaces"
            )
        )
        super().__init__(scope, id)
        engine = cluster.policy_engine()
        self.chart = cdk8s.Chart(
            cluster.cdk8s_app, "load-balancer-policy", disable_resource_name_hashes=True
        )
        """The chart holding the ClusterPolicy."""
        load_balancer_policy(self.chart, internet_facing_namespaces=namespaces)
        self.manifest: eks.KubernetesManifest = cluster.add_chart(
            "LoadBalancerPolicy", self.chart, scope=self
        )
        """The manifest resource; it waits for Kyverno (its CRDs and webhooks)."""
        self.manifest.node.add_dependency(engine.chart)
