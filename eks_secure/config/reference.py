"""The key reference of ``docs/configuration.md``, generated from the config models.

Each table lists a model's YAML keys with their type, default and description (the attribute
docstrings, which state the rules). The registered patterns add a section each, from their
``settings_model`` and ``app_model``. The text between :data:`BEGIN` and :data:`END` is replaced
by ``make schema`` and checked current by the tests.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from eks_secure.config.base import yaml_text
from eks_secure.config.model import AppConfig, DeploymentConfig

BEGIN = "<!-- BEGIN GENERATED KEY REFERENCE: `make schema` rewrites this part; edit the models -->"
END = "<!-- END GENERATED KEY REFERENCE -->"


@dataclass
class _Section:
    model: type[BaseModel]
    heading: str
    paths: list[str] = field(default_factory=list)
    intro: str = ""
    skip: frozenset[str] = frozenset()


def render_reference() -> str:
    """The generated Markdown (without the markers)."""
    from eks_secure.egress.registry import PATTERNS

    sections: list[_Section] = []
    top = _Section(DeploymentConfig, "Top-level keys", [""])
    top.intro = (
        "Required keys are marked **required**. A *label* is a DNS-1123 label: lowercase "
        "letters, digits and `-`, starting and ending with a letter or digit. A pattern adds "
        "its own section, see [Patterns](#patterns)."
    )
    sections.append(top)
    _collect(DeploymentConfig, "", sections)
    pattern_sections: list[_Section] = []
    rows = []
    for name, spec in PATTERNS.items():
        keys = []
        if spec.settings_key and spec.settings_model:
            keys.append(f"section `{spec.settings_key}`")
            pattern_sections.append(
                _Section(spec.settings_model, f"{spec.settings_key} (pattern {name})")
            )
            _collect(spec.settings_model, spec.settings_key, pattern_sections, sections)
        if spec.app_model:
            own = [k for k in spec.app_model.model_fields if k not in AppConfig.model_fields]
            keys.append("apps: " + ", ".join(f"`{k}`" for k in own))
            pattern_sections.append(_Section(spec.app_model, f"apps[] keys of pattern {name}"))
            _collect(spec.app_model, "apps[]", pattern_sections, sections)
        rows.append(f"| `{name}` | {spec.title} | {'; '.join(keys) or 'none'} |")
    merged = _merge(pattern_sections)
    everything = [*sections, *merged]
    lines: list[str] = []
    for section in sections:
        lines += _render(section, everything)
    lines += [
        "### Patterns",
        "",
        "`pattern: base` is the VPC, cluster and creator role alone and takes no `apps`. Each "
        "registered pattern below adds keys: its own top-level section and keys of every "
        "`apps[]` entry. A key of another pattern is an error that names the pattern it "
        "belongs to.",
        "",
        "| Pattern | What it builds | Its keys |",
        "|---|---|---|",
        *rows,
        "",
    ]
    for section in merged:
        lines += _render(section, everything)
    return "\n".join(lines).rstrip() + "\n"


def _merge(sections: list[_Section]) -> list[_Section]:
    result: list[_Section] = []
    for section in sections:
        same = next((s for s in result if s.model is section.model), None)
        if same is None:
            result.append(section)
        else:
            same.paths += [p for p in section.paths if p not in same.paths]
    return result


def _collect(
    model: type[BaseModel],
    prefix: str,
    sections: list[_Section],
    known: list[_Section] | None = None,
) -> None:
    """Add a section for every model reachable from ``model``'s fields (once per model)."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}" if prefix else key
        inner, suffix = _model_in(info.annotation)
        if inner is None:
            continue
        path += suffix
        existing = next(
            (s for s in [*(known or []), *sections] if s.model is inner or _is_core_app(s, inner)),
            None,
        )
        if existing is not None:
            if path not in existing.paths and not _is_core_app(existing, inner):
                existing.paths.append(path)
            continue
        sections.append(_Section(inner, path, [path]))
        _collect(inner, path, sections, known)


def _is_core_app(section: _Section, model: type[BaseModel]) -> bool:
    return issubclass(model, AppConfig) and section.model is AppConfig


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model inside a field's type and the path suffix (``[]`` for lists, ``.<name>``)."""
    base, _ = _unwrap(annotation)
    origin = typing.get_origin(base)
    if origin in (tuple, list):
        inner, suffix = _model_in(typing.get_args(base)[0])
        return inner, "[]" + suffix
    if origin is dict:
        inner, suffix = _model_in(typing.get_args(base)[1])
        return inner, ".<name>" + suffix
    if isinstance(base, type) and issubclass(base, BaseModel):
        if issubclass(base, AppConfig):
            return AppConfig, ""
        return base, ""
    return None, ""


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            args = typing.get_args(annotation)
            annotation, metadata = args[0], [*metadata, *args[1:]]
            continue
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) == 1:
                annotation = options[0]
                continue
        return annotation, metadata


def _anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def _type_text(annotation: Any, sections: list[_Section], extra: Sequence[Any] = ()) -> str:
    base, metadata = _unwrap(annotation)
    metadata = [*extra, *metadata]
    if any(type(m).__name__ == "_MappingAsPairs" for m in metadata):
        return "mapping of string to string"
    enum = next((m.extra.get("enum") for m in metadata if hasattr(m, "extra")), None)
    if enum:
        return "one of " + ", ".join(f"`{e}`" for e in enum)
    origin = typing.get_origin(base)
    if origin is typing.Literal:
        return "`" + "`, `".join(str(a) for a in typing.get_args(base)) + "`"
    if origin in (tuple, list):
        return "list of " + _plural(_type_text(typing.get_args(base)[0], sections))
    if origin is dict:
        return "mapping of string to " + _type_text(typing.get_args(base)[1], sections)
    if isinstance(base, type) and issubclass(base, BaseModel):
        model = AppConfig if issubclass(base, AppConfig) else base
        target = next((s for s in sections if s.model is model), None)
        if target is not None:
            return f"mapping, see [{target.heading}](#{_anchor(target.heading)})"
        return "mapping"
    return {str: "string", int: "integer", bool: "boolean"}.get(base, str(base))


def _plural(text: str) -> str:
    if text.startswith("mapping"):
        return text.replace("mapping", "mappings", 1)
    return f"{text}s" if text in ("string", "integer", "boolean") else text


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.default
    if value is PydanticUndefined:  # pragma: no cover - a default factory
        return "computed"
    if value is None:
        return "none"
    if value == "":
        return "see description"
    if isinstance(value, BaseModel):
        return "all defaults" if value == type(value)() else yaml_text(value.model_dump())
    if value == () and info.json_schema_extra == {"default": {}}:
        return "`{}`"
    return f"`{yaml_text(value)}`"


def _describe(text: str | None) -> str:
    text = " ".join((text or "").split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`").replace("|", "\\|")


def _fields(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        yield info.alias or name, info


def _render(section: _Section, sections: list[_Section]) -> list[str]:
    # escaped, so Markdown shows `<name>` as text instead of reading it as an HTML tag
    lines = [f"### {section.heading.replace('<', chr(92) + '<').replace('>', chr(92) + '>')}", ""]
    doc = _describe(section.model.__doc__)
    if section.model is not DeploymentConfig and doc:
        lines += [doc, ""]
    if section.intro:
        lines += [section.intro, ""]
    if len(section.paths) > 1:
        lines += ["Used at: " + ", ".join(f"`{p}`" for p in section.paths) + ".", ""]
    lines += ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    core = AppConfig.model_fields if section.heading.startswith("apps[] keys") else {}
    for key, info in _fields(section.model):
        if key in core:
            continue
        lines.append(
            f"| `{key}` | {_type_text(info.annotation, sections, info.metadata)} | "
            f"{_default(info)} | "
            f"{_describe(info.description)} |"
        )
    lines.append("")
    return lines


def update_reference(path: Path, *, write: bool) -> bool:
    """Whether ``path``'s generated part is stale; rewrite it when ``write``."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN!r} ... {END!r} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n\n{render_reference()}\n{END}{tail}"
    if new == text:
        return False
    if write:
        path.write_text(new, encoding="utf-8")
    return True
