"""The deployment's own private ECR registry (CDK tokens for account, region and URL suffix)."""

from __future__ import annotations

import aws_cdk as cdk

from eks_secure.errors import ConfigError
from eks_secure.helm.source import DEFAULT_ECR_NAMESPACE
from eks_secure.registry.mirror import ImageMirror


def ecr_registry(stack: cdk.Stack) -> str:
    """``<account>.dkr.ecr.<region>.<url suffix>``: the private registry of ``stack``'s env."""
    return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"


def default_mirror(stack: cdk.Stack, namespace: str = DEFAULT_ECR_NAMESPACE) -> ImageMirror:
    """The default image mirror: ``<ECR>/<namespace>``, laid out as the pull-through cache."""
    return ImageMirror(root=f"{ecr_registry(stack)}/{namespace}")


def configured_mirror(stack: cdk.Stack, image_registry: str | None, field: str) -> ImageMirror:
    """The mirror a config's ``image_registry`` names (errors name ``field``), or the default."""
    if not image_registry:
        return default_mirror(stack)
    try:
        return ImageMirror(root=image_registry)
    except ConfigError as exc:
        raise ConfigError(field, exc.problem, exc.fix) from None
