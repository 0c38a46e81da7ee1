"""Deployment config: the frozen model, the YAML loader and the network plan derived from it."""

from eks_secure.config.loader import load_config, parse_config
from eks_secure.config.plan import plan_for

__all__ = ["load_config", "parse_config", "plan_for"]
