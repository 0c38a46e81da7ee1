"""CloudFormation resource provider schemas and IAM service data, read from the cfn-lint package.

cfn-lint ships, as package data, the registry schema of every resource type per region (with the
IAM permissions of each create/read/update/delete handler and the tagging support) and the IAM
service authorization reference (which resource types and ARN formats each action takes). The
preflight reads both from the installed ``cfnlint`` package with :mod:`importlib.resources` and
caches them for the process; nothing is copied into this project.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

FALLBACK_REGION = "us-east-1"


@functools.cache
def _providers(region: str) -> dict[str, str]:
    base = resources.files("cfnlint.data.schemas").joinpath("providers")
    path = base.joinpath(f"{region}.json")
    if not path.is_file():
        path = base.joinpath(f"{FALLBACK_REGION}.json")
    data: dict[str, str] = json.loads(path.read_text())
    return data


@functools.cache
def _schema_file(digest: str) -> dict[str, Any]:
    path = resources.files("cfnlint.data.schemas").joinpath("resources", f"{digest}.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def resource_schema(resource_type: str, region: str) -> dict[str, Any] | None:
    """The provider schema of ``resource_type`` in ``region`` (``None`` for custom types)."""
    digest = _providers(region).get(resource_type)
    if digest is None:
        return None
    return _schema_file(digest)


def handler_permissions(resource_type: str, region: str, operation: str) -> list[str]:
    """IAM actions the ``create``/``update``/``delete`` handler of a type may call."""
    schema = resource_schema(resource_type, region) or {}
    handler = schema.get("handlers", {}).get(operation, {})
    return [str(p) for p in handler.get("permissions", [])]


def cfnlint_version() -> str:
    """The installed cfn-lint version (the schemas' provenance)."""
    from importlib.metadata import version

    return version("cfn-lint")


@dataclass(frozen=True)
class ActionInfo:
    """What the IAM service reference says about one action."""

    service: str
    name: str
    resource_types: tuple[str, ...]
    """IAM resource types the action takes; empty when it only supports ``Resource: "*"``."""


@functools.cache
def _policies() -> dict[str, Any]:
    path = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def action_info(action: str) -> ActionInfo | None:
    """Resource types of ``service:Action`` (``None`` when IAM knows no such action)."""
    service, _, name = action.partition(":")
    entry = _policies().get(service.lower(), {}).get("Actions", {}).get(name.lower())
    if entry is None:
        return None
    types = tuple(str(t) for t in entry.get("Resources", []))
    return ActionInfo(service=service.lower(), name=name, resource_types=types)


@functools.cache
def _arn_patterns(service: str, resource_type: str) -> tuple[re.Pattern[str], ...]:
    spec = _policies().get(service, {}).get("Resources", {}).get(resource_type, {})
    patterns = []
    for fmt in spec.get("ARNFormats", []):
        regex = re.sub(r"\$\{[A-Za-z]+\}", "[^:]*", str(fmt))
        patterns.append(re.compile(f"^{regex}$"))
    return tuple(patterns)


def arn_matches_type(arn: str, service: str, resource_type: str) -> bool:
    """Whether ``arn`` has the format of the IAM resource type ``service``/``resource_type``."""
    return any(p.match(arn) for p in _arn_patterns(service, resource_type))


def resource_type_condition_keys(service: str, resource_type: str) -> tuple[str, ...]:
    """Condition keys the IAM resource type supports."""
    spec = _policies().get(service, {}).get("Resources", {}).get(resource_type, {})
    return tuple(str(k) for k in spec.get("ConditionKeys", []))
