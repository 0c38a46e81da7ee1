"""Deployment config: the frozen models, the YAML loader and the network plan derived from it."""

from eks_secure.config.loader import load_config, parse_config, read_config_file
from eks_secure.config.model import DeploymentConfig, deployment_model
from eks_secure.config.plan import plan_for

__all__ = [
    "DeploymentConfig",
    "deployment_model",
    "load_config",
    "parse_config",
    "plan_for",
    "read_config_file",
]
