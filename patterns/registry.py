"""Reference deployments by pattern name (``-c pattern=NAME``)."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.errors import ConfigError
from patterns import private_nat, subnet_per_app
from patterns.base import Deployment, build_base

Builder = Callable[[cdk.App, DeploymentConfig], Deployment]

PATTERNS: dict[str, Builder] = {
    "base": build_base,
    "subnet-per-app": subnet_per_app.build,
    "private-nat": private_nat.build,
}
"""Builders of the reference deployments that exist, by pattern name."""


def build(app: cdk.App, config: DeploymentConfig) -> Deployment:
    """Add the reference deployment of ``config.pattern`` to ``app``."""
    builder = PATTERNS.get(config.pattern)
    if builder is None:
        raise ConfigError(
            "pattern",
            f"pattern '{config.pattern}' has no reference stack in this version",
            f"use one of {', '.join(PATTERNS)}",
        )
    return builder(app, config)
