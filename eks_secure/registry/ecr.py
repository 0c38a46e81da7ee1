"""The deployment's own private ECR registry (CDK tokens for account, region and URL suffix)."""

from __future__ import annotations

import aws_cdk as cdk

from eks_secure.helm.source import DEFAULT_ECR_NAMESPACE
from eks_secure.registry.mirror import ImageMirror


def ecr_registry(stack: cdk.Stack) -> str:
    """``<account>.dkr.ecr.<region>.<url suffix>``: the private registry of ``stack``'s env."""
    return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"


def default_mirror(stack: cdk.Stack, namespace: str = DEFAULT_ECR_NAMESPACE) -> ImageMirror:
    """The default image mirror: ``<ECR>/<namespace>``, laid out as the pull-through cache."""
    return ImageMirror(root=f"{ecr_registry(stack)}/{namespace}")
