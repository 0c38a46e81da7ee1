"""The commented starter config ``eks-secure init`` writes, generated from the config model.

Generated rather than copied from an example, so it always has exactly the keys the model
accepts, with their descriptions and defaults: the required keys with placeholder values that
validate, the pattern's section and one example app, then every optional key commented out
with its default.
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from eks_secure.config.model import API_VERSION, KIND, deployment_model
from eks_secure.config.schema import SCHEMA_FILE
from eks_secure.egress.registry import BASE, spec_class

PLACEHOLDERS: dict[str, Any] = {
    "cluster_name": "payments-prod",
    "account": "111111111111",
    "region": "eu-west-1",
    "vpc_cidr": "10.20.0.0/16",
    "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "kubernetes_version": "1.34",
    "on_prem_cidrs": ["10.0.0.0/14"],
    "on_prem_route": {"transit_gateway_id": "tgw-0a1b2c3d4e5f67890"},
    "admin_role_arns": ["arn:aws:iam::111111111111:role/platform-admin"],
}
"""Values of the keys every starter sets (replace them with your own)."""

EXAMPLE_APP: dict[str, Any] = {
    "name": "payments-api",
    "destinations": ["10.1.0.0/16"],
    "ports": [443],
}

_SKIP = {"apiVersion", "kind", "pattern"}


def _comment(text: str, indent: str = "") -> list[str]:
    plain = " ".join(text.replace("``", "`").split())
    return [f"{indent}# {line}" for line in textwrap.wrap(plain, width=94 - len(indent))]


def _dump(key: str, value: Any) -> list[str]:
    return yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False).splitlines()


def render_starter(pattern: str, *, schema: str | None = None) -> str:
    """The starter config of ``pattern`` as YAML text (deterministic)."""
    spec = spec_class(pattern)
    model = deployment_model(pattern)
    properties: dict[str, Any] = model.model_json_schema()["properties"]
    values = dict(PLACEHOLDERS)
    if spec is not None:
        values["apps"] = [{**EXAMPLE_APP, **spec.starter_app}]
        if spec.settings_key and spec.starter_settings is not None:
            values[spec.settings_key] = dict(spec.starter_settings)
    lines = [
        f"# yaml-language-server: $schema={schema or SCHEMA_FILE.as_posix()}",
        f"# eks-secure starter config for pattern {pattern}",
        f"# (written by `eks-secure init --pattern {pattern}`).",
        "# Replace the placeholder values, then run `eks-secure validate` on this file.",
        "",
        f"apiVersion: {API_VERSION}",
        f"kind: {KIND}",
        f"pattern: {pattern}",
        "",
    ]
    optional: list[str] = []
    for key, prop in properties.items():
        if key in _SKIP:
            continue
        description = prop.get("description", "")
        if key in values:
            lines += [*_comment(description), *_dump(key, values[key]), ""]
        elif pattern == BASE and key == "apps":
            continue
        elif "default" in prop:
            optional += _comment(description)
            optional += [f"# {line}" for line in _dump(key, prop["default"])]
    if optional:
        lines += ["# Optional keys, shown with their defaults:", *optional]
    return "\n".join(lines).rstrip() + "\n"
