"""Reading the reference app's inputs: config file, ``-c`` context and environment overrides."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk

from eks_secure.config.loader import parse_config, read_config_file
from eks_secure.config.model import DeploymentConfig
from eks_secure.errors import ConfigError, ConfigErrors

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


def config_path_from_context(app: cdk.App) -> Path:
    """The config file ``-c config=`` names (default: the example of ``-c pattern=``)."""
    pattern = app.node.try_get_context("pattern")
    configured = app.node.try_get_context("config")
    return (
        Path(str(configured))
        if configured
        else default_config_path(str(pattern) if pattern else None)
    )


def update_lock_from_context(app: cdk.App) -> bool:
    """Whether ``-c update_lock=true`` (or ``EKS_SECURE_UPDATE_LOCK=1``) asks to rewrite the
    address-plan lock."""
    value = app.node.try_get_context("update_lock") or os.environ.get("EKS_SECURE_UPDATE_LOCK")
    return str(value).lower() in ("1", "true", "yes")


def config_from_context(app: cdk.App) -> DeploymentConfig:
    """Load the config named by ``-c config=`` (default: the example of ``-c pattern=``).

    ``-c pattern=`` overrides the file's ``pattern``; ``-c account=``/``-c region=`` (or the
    ``EKS_SECURE_ACCOUNT``/``EKS_SECURE_REGION`` environment variables) override its
    ``account``/``region`` before validation.
    """
    pattern = app.node.try_get_context("pattern")
    pattern = str(pattern) if pattern else None
    data = read_config_file(config_path_from_context(app))
    sources: dict[str, str] = {}
    if isinstance(data, dict):
        for key, env_var in (("account", "EKS_SECURE_ACCOUNT"), ("region", "EKS_SECURE_REGION")):
            given, from_env = app.node.try_get_context(key), os.environ.get(env_var)
            if given or from_env:
                data[key] = str(given or from_env)
                sources[key] = f"-c {key}=" if given else f"the environment variable {env_var}"
    try:
        return parse_config(data, pattern=pattern)
    except ConfigErrors as exc:
        raise ConfigErrors(_name_override(e, sources) for e in exc.errors) from None
    except ConfigError as exc:
        raise _name_override(exc, sources) from None


def _name_override(error: ConfigError, sources: Mapping[str, str]) -> ConfigError:
    """``error`` saying where its value came from when ``-c``/the environment overrode it."""
    source = sources.get(error.field)
    if source is None:
        return error
    return ConfigError(
        error.field,
        f"{error.problem} (given as {source})",
        f"{error.fix}, in {source}",
    )
