"""Offline validation of generated Kubernetes manifests (a test helper, not a test module).

Built-in kinds are checked with ``kubernetes_validate`` in strict mode (unknown fields are
errors). Custom resources are checked with ``jsonschema`` against the CRD schemas in
``../shared/crd-schemas`` plus a misspelt-field walk, because those schemas do not forbid unknown
keys everywhere. Custom-resource metadata is checked against the built-in ObjectMeta schema. A
kind with no schema anywhere is reported as a problem, never passed silently.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

CRD_SCHEMAS: Path = Path(__file__).resolve().parents[1].parent / "shared" / "crd-schemas"
"""Directory of ``<group>/<kind lower>_<version>.json`` CRD schemas (outside the repo)."""

_ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def crd_schemas_available() -> bool:
    """True when the shared CRD schema directory exists and holds at least one schema."""
    return CRD_SCHEMAS.is_dir() and any(CRD_SCHEMAS.glob("*/*.json"))


requires_crd_schemas = pytest.mark.skipif(
    not crd_schemas_available(),
    reason="../shared/crd-schemas is absent: custom resources cannot be validated",
)


def _full_version(kubernetes_version: str) -> str:
    match = _VERSION.match(kubernetes_version.strip())
    if not match:
        raise ValueError(
            f"Kubernetes version must look like '1.34' or '1.34.0', got {kubernetes_version!r}"
        )
    major, minor, patch = match.groups()
    return f"{major}.{minor}.{patch or 0}"


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _builtin_problems(obj: Mapping[str, Any], version: str) -> list[str]:
    """Validate a built-in kind; raises SchemaNotFoundError for kinds it does not know."""
    try:
        kubernetes_validate.validate(dict(obj), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{_path(exc.path)}: {exc.message}"]
    return []


@functools.cache
def _load_crd_schema(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def crd_schema_path(api_version: str, kind: str) -> Path | None:
    """Path of the schema file for a custom resource, or None for a core (group-less) kind."""
    if "/" not in api_version:
        return None
    group, version = api_version.split("/", 1)
    return CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"


def _declared(schema: Mapping[str, Any]) -> set[str] | None:
    """Keys a schema node declares, or None when it allows arbitrary keys."""
    if "properties" not in schema:
        return None
    if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
        return None
    keys = set(schema["properties"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(combinator, ()):
            keys.update(branch.get("properties", {}))
    return keys


def unknown_fields(value: Any, schema: Mapping[str, Any], path: tuple[Any, ...] = ()) -> list[str]:
    """Report keys of ``value`` that ``schema`` does not declare (misspelt-field check)."""
    problems: list[str] = []
    if isinstance(value, Mapping):
        declared = _declared(schema)
        if declared is not None:
            allowed = declared | _ROOT_FIELDS if not path else declared
            problems.extend(
                f"{_path((*path, key))}: unknown field (not declared by the CRD schema)"
                for key in sorted(set(value) - allowed)
            )
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in sorted(value):
            if key in properties:
                problems.extend(unknown_fields(value[key], properties[key], (*path, key)))
            elif isinstance(extra, Mapping):
                problems.extend(unknown_fields(value[key], extra, (*path, key)))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problems.extend(unknown_fields(item, schema["items"], (*path, index)))
    return problems


def _custom_resource_problems(obj: Mapping[str, Any], version: str) -> list[str]:
    api_version, kind = obj["apiVersion"], obj["kind"]
    path = crd_schema_path(api_version, kind)
    if path is None or not path.is_file():
        where = path if path is not None else "(core API group)"
        return [
            f"no schema for {kind} {api_version}: kubernetes-validate does not know it and "
            f"there is no CRD schema at {where}"
        ]
    schema = _load_crd_schema(path)
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator = validator_cls(schema)
    problems = [
        f"{_path(error.absolute_path)}: {error.message}"
        for error in sorted(
            validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))
        )
    ]
    problems.extend(unknown_fields(obj, schema))
    # CRD schemas leave metadata as a bare object: check it as a built-in ObjectMeta.
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata", {})}
    problems.extend(_builtin_problems(probe, version))
    return problems


def validate_manifest(obj: Mapping[str, Any], kubernetes_version: str) -> list[str]:
    """Return the problems of one manifest for ``kubernetes_version`` ("1.34"); empty = valid."""
    version = _full_version(kubernetes_version)
    missing = [key for key in ("apiVersion", "kind") if not isinstance(obj.get(key), str)]
    if missing:
        return [f"{key}: missing or not a string" for key in missing]
    problems: list[str] = []
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        problems.append("metadata.name: missing (every generated object needs an explicit name)")
    try:
        problems.extend(_builtin_problems(obj, version))
    except kubernetes_validate.SchemaNotFoundError:
        problems.extend(_custom_resource_problems(obj, version))
    return problems


def manifest_key(obj: Mapping[str, Any]) -> str:
    """``kind/namespace/name`` of a manifest (namespace empty for cluster-scoped objects)."""
    metadata = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{metadata.get('namespace', '')}/{metadata.get('name')}"


def validate_all(objs: Iterable[Mapping[str, Any]], version: str) -> dict[str, list[str]]:
    """Validate every manifest; return problems keyed by ``kind/namespace/name``.

    Only objects with problems appear, so an empty dict means everything is valid.
    """
    result: dict[str, list[str]] = {}
    for obj in objs:
        problems = validate_manifest(obj, version)
        if problems:
            result.setdefault(manifest_key(obj), []).extend(problems)
    return result
