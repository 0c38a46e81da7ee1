"""Reading the reference app's inputs: config file, ``-c`` context and environment overrides."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
import yaml

from eks_secure.config.loader import parse_config
from eks_secure.config.model import DeploymentConfig
from eks_secure.errors import ConfigError

EXAMPLES = Path(__file__).parent / "examples"
DEFAULT_CONFIG = EXAMPLES / "base.yaml"
"""Config used when neither ``-c config=`` nor ``-c pattern=`` is given."""


PROJECT = Path(__file__).resolve().parents[1]


def project_context() -> dict[str, object]:
    """The context ``cdk synth`` passes: ``cdk.json``'s feature flags plus ``cdk.context.json``.

    Use it for in-process apps (tests, scripts) so they synthesize exactly what the CLI does.
    """
    context: dict[str, object] = {}
    for name, key in (("cdk.json", "context"), ("cdk.context.json", None)):
        path = PROJECT / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            context.update(data[key] if key else data)
    return context


def default_config_path(pattern: str | None) -> Path:
    """The example config of ``pattern`` (``examples/<pattern>.yaml``), or the base example."""
    if pattern and (EXAMPLES / f"{pattern}.yaml").is_file():
        return EXAMPLES / f"{pattern}.yaml"
    return DEFAULT_CONFIG


def read_yaml(path: Path) -> object:
    """The YAML document at ``path``; a missing or malformed file is a ``config`` error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            "config", f"cannot read {path} ({exc.strerror})", "pass -c config=<existing file>"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            "config", f"{path} is not valid YAML: {exc}", "fix the YAML syntax"
        ) from None


def config_from_context(app: cdk.App) -> DeploymentConfig:
    """Load the config named by ``-c config=`` (default: the example of ``-c pattern=``).

    ``-c pattern=`` overrides the file's ``pattern``; ``-c account=``/``-c region=`` (or the
    ``EKS_SECURE_ACCOUNT``/``EKS_SECURE_REGION`` environment variables) override its
    ``account``/``region`` before validation.
    """
    pattern = app.node.try_get_context("pattern")
    pattern = str(pattern) if pattern else None
    configured = app.node.try_get_context("config")
    path = Path(str(configured)) if configured else default_config_path(pattern)
    data = read_yaml(path)
    if isinstance(data, dict):
        for key, env_var in (("account", "EKS_SECURE_ACCOUNT"), ("region", "EKS_SECURE_REGION")):
            value = app.node.try_get_context(key) or os.environ.get(env_var)
            if value:
                data[key] = str(value)
    return parse_config(data, pattern=pattern)
