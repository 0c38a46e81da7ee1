"""Bridges over gaps in the jsii-generated type stubs of aws-cdk-lib."""

from __future__ import annotations

from typing import cast

from aws_cdk import aws_eks_v2 as eks


def as_icluster(cluster: eks.Cluster) -> eks.ICluster:
    """``cluster`` typed as ``ICluster``.

    The 2.275 stubs declare ``ICluster.kubectl_provider_options`` but not ``Cluster``'s, so
    mypy rejects a ``Cluster`` where the API takes an ``ICluster`` although it is one at run time.
    """
    return cast(eks.ICluster, cluster)
