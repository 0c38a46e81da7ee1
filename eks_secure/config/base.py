"""The base of every config model: frozen, unknown keys rejected, errors as ``ConfigError``.

Config models are pydantic v2 models (chosen because it is the maintained standard for
declarative, typed config with JSON Schema export). Constructing one from Python
(``NodeGroupSize(min_size=5, max_size=3)``) raises :class:`~eks_secure.errors.ConfigErrors`
naming ``NodeGroupSize.min_size``, exactly like the YAML loader names ``system_nodes.min_size``:
both go through :meth:`ConfigModel.from_data`, which translates pydantic's errors into the
project's wording (:func:`config_errors`).

How a validator reports a rule's problems:

* :func:`check` from a field or model validator: the value is invalid. Problem fields are
  relative to the validated value (``""`` is the value itself), or, with ``sibling=True``,
  relative to the model that holds the field (so a rule can be called with the field's name
  and word its message with it).
* :func:`defer` from a field validator, for a cross-field rule: the problem is reported with the
  others, but the field stays valid, so later rules that read it from ``info.data`` still run.
  pydantic passes a validator only the earlier fields that validated, so a cross-field rule runs
  exactly when its inputs are valid. Deferred fields are relative to the document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self

import yaml
from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, ValidationError, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.rules import suggest

DEFERRED = "eks-secure:deferred"
"""Validation-context key of the list that collects :func:`defer`-red problems."""

UnknownKeyHook = Callable[[tuple[int | str, ...], str], "ConfigError | None"]
"""Loader hook for an unknown key: ``(loc, key)`` -> a better error (e.g. another pattern's)."""


class RuleViolation(ValueError):  # noqa: N818 -- raised for pydantic to wrap, not an error type users catch
    """Raised inside a validator to report rule problems with fields relative to the model."""

    def __init__(self, problems: Sequence[ConfigError], *, sibling: bool = False) -> None:
        self.problems = tuple(problems)
        self.sibling = sibling
        super().__init__("; ".join(str(p) for p in self.problems))


def check(problems: Sequence[ConfigError], *, sibling: bool = False) -> None:
    """Raise :class:`RuleViolation` from a validator when a rule found ``problems``.

    Fields are relative to the validated value, or to the model holding it with ``sibling``.
    """
    if problems:
        raise RuleViolation(problems, sibling=sibling)


def defer(info: ValidationInfo, problems: Sequence[ConfigError]) -> None:
    """Report cross-field ``problems`` (fields relative to the document) without invalidating
    the field being validated; raises them at once when validation has no collector."""
    if not problems:
        return
    context = info.context
    collector = context.get(DEFERRED) if isinstance(context, dict) else None
    if isinstance(collector, list):
        collector.extend(problems)
    else:
        raise RuleViolation(problems, sibling=True)


def dotted(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("apps", 1, "ports", 0)`` -> ``apps[1].ports[0]`` (after ``prefix``)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def join(prefix: str, field: str) -> str:
    """A rule's relative ``field`` below ``prefix`` (``apps[1]`` + ``nodes.max_size``)."""
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


class JsonSchemaExtra:
    """``Annotated`` marker that adds keys (``pattern``, ``examples``...) to a type's schema."""

    def __init__(self, **extra: Any) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The wrapped type's schema plus :attr:`extra`."""
        value = handler(schema)
        value.update(self.extra)
        return value


# -- error translation ----------------------------------------------------------------------


def config_errors(
    exc: ValidationError,
    prefix: str = "",
    model: type[BaseModel] | None = None,
    unknown_key: UnknownKeyHook | None = None,
) -> list[ConfigError]:
    """Translate a pydantic ``ValidationError`` into field-named ``ConfigError`` objects.

    ``model`` (the validated root model) supplies the hints of the fix: allowed keys, examples
    and bounds, read from its JSON Schema.
    """
    errors: list[ConfigError] = []
    schema = _schema_of(model) if model is not None else None
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        field = dotted(loc, prefix)
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, RuleViolation):
            base = dotted(loc[:-1], prefix) if cause.sibling and loc else field
            errors.extend(
                ConfigError(join(base, p.field), p.problem, p.fix) for p in cause.problems
            )
            continue
        if isinstance(cause, ConfigError):
            causes = cause.errors if isinstance(cause, ConfigErrors) else (cause,)
            errors.extend(ConfigError(join(field, c.field), c.problem, c.fix) for c in causes)
            continue
        if error["type"] == "extra_forbidden" and unknown_key is not None and loc:
            better = unknown_key(loc, str(loc[-1]))
            if better is not None:
                errors.append(better)
                continue
        node, parent = _nodes(schema, loc) if schema is not None else ({}, {})
        errors.append(_describe(field, loc, error, node, parent))
    return errors


def describe_value(value: object) -> str:
    """How an input value reads in a message: ``the string '28'``, ``a mapping``..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def yaml_text(value: object) -> str:
    """``value`` as a user would write it in YAML flow style (quoted when YAML would not read
    it back as the same string)."""
    if isinstance(value, str):
        try:
            same = yaml.safe_load(value) == value
        except yaml.YAMLError:
            same = False
        return value if same and value else f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or "[" in part)


@functools.cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    return schema


def _resolve(schema: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """Follow ``$ref`` and unwrap ``anyOf: [X, null]``."""
    for _ in range(8):
        if not isinstance(node, dict):
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node = {**schema["$defs"][ref.removeprefix("#/$defs/")], **_without(node, "$ref")}
            continue
        options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
        if len(options) == 1:
            node = {**options[0], **_without(node, "anyOf")}
            continue
        return node
    return {}


def _without(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


def _nodes(
    schema: Mapping[str, Any], loc: Sequence[int | str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema of the value at ``loc`` and of the mapping holding it (``{}`` if unknown)."""
    node = _resolve(schema, schema)
    parent: dict[str, Any] = {}
    for part in loc:
        parent = node
        if isinstance(part, int):
            child = node.get("items")
        else:
            properties = node.get("properties") or {}
            child = properties.get(part)
            if child is None and isinstance(node.get("additionalProperties"), dict):
                child = node["additionalProperties"]
        node = _resolve(schema, child)
    return node, parent


def _example(node: Mapping[str, Any]) -> object:
    examples = node.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    items = node.get("items")
    if isinstance(items, dict) and isinstance(items.get("examples"), list) and items["examples"]:
        return [items["examples"][0]]
    return None


def _bounds(node: Mapping[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f"in {low}..{high}"
    if low is not None:
        return f">= {low}"
    if high is not None:
        return f"<= {high}"
    return ""


def _describe(
    field: str,
    loc: Sequence[int | str],
    error: Any,
    node: Mapping[str, Any],
    parent: Mapping[str, Any],
) -> ConfigError:
    kind: str = error["type"]
    value = error.get("input")
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), field)
    example = _example(node)
    eg = f", e.g. {yaml_text(example)}" if example is not None else ""
    name = field or "config"
    if kind == "missing":
        fix = f"add `{key}: {yaml_text(example)}`" if example is not None else f"add `{key}`"
        return ConfigError(name, "is required but missing", fix)
    if kind == "extra_forbidden":
        allowed = list((parent.get("properties") or {}).keys())
        where = dotted(loc[:-1])
        return ConfigError(
            name,
            f"unknown key '{loc[-1]}'" + (f" in {where}" if where else ""),
            f"{suggest(str(loc[-1]), allowed)}Allowed keys: {', '.join(allowed)}"
            if allowed
            else "remove it or correct its spelling",
        )
    got = describe_value(value)
    if kind == "string_type":
        hint = ""
        if isinstance(value, float):
            hint = f" (YAML read {value} as a number: an unquoted 1.30 becomes 1.3)"
        elif isinstance(value, int | bool):
            hint = " (quote it so YAML reads it as text)"
        return ConfigError(
            name,
            f"must be a string, got {got}{hint}",
            f"{'quote it' if hint else 'write a string'}{eg}",
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        bounds = _bounds(node)
        quotes = " without quotes" if isinstance(value, str) else ""
        return ConfigError(
            name,
            f"must be a whole number, got {got}",
            f"write a number{' ' + bounds if bounds else ''}{quotes}",
        )
    if kind in ("bool_type", "bool_parsing"):
        return ConfigError(
            name, f"must be a boolean, got {got}", "write true or false without quotes"
        )
    if kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        shown = "[...]"
        if isinstance(example, list) and example:
            shown = yaml_text(example[:1])
        elif isinstance(node.get("items"), dict) and _example(node["items"]) is not None:
            shown = yaml_text([_example(node["items"])])
        return ConfigError(
            name, f"must be a list, got {got}", f"write it as a YAML list, e.g. {key}: {shown}"
        )
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        keys = list((node.get("properties") or {}).keys())
        fix = (
            f"write it as a mapping with keys from: {', '.join(keys)}"
            if keys
            else f"write it as a mapping of key: value pairs{eg}"
        )
        return ConfigError(name, f"must be a mapping of key: value pairs, got {got}", fix)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return ConfigError(name, f"{value} is out of range", f"use a number {_bounds(node)}")
    if kind in ("literal_error", "enum"):
        choices = [str(c) for c in node.get("enum", ())]
        return ConfigError(
            name,
            f"{got} is not one of: {', '.join(choices)}",
            f"{suggest(str(value), choices)}use one of: {', '.join(choices)}",
        )
    return ConfigError(name, f"{error['msg']} (got {got})", f"correct the value{eg}")


def _order(fields: Sequence[str]) -> Callable[[ConfigError], int]:
    """Sort key: the position of an error's top-level key among ``fields`` (unknown keys last)."""
    position = {name: i for i, name in enumerate(fields)}

    def key(error: ConfigError) -> int:
        top = re.split(r"[.\[]", error.field, maxsplit=1)[0]
        return position.get(top, len(position))

    return key


class ConfigModel(BaseModel):
    """Frozen model that rejects unknown keys and raises ``ConfigErrors`` when built badly."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    error_prefix: ClassVar[str | None] = None
    """Path prefix of errors when the model is built from Python (default: the class name)."""

    def __init__(self, /, **data: Any) -> None:
        prefix = self.error_prefix if self.error_prefix is not None else type(self).__name__
        context: dict[str, Any] = {DEFERRED: []}
        try:
            self.__pydantic_validator__.validate_python(data, self_instance=self, context=context)
        except ValidationError as exc:
            raise _errors(type(self), exc, context, prefix, None) from None
        if context[DEFERRED]:
            raise _errors(type(self), None, context, prefix, None)

    # The override only translates errors of a model built from Python. Marked as pydantic's own
    # __init__ so that validating data (model_validate, nested models) does not call it: that
    # path keeps its context and its by-alias-only keys, and nested errors keep their paths.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def from_data(
        cls,
        data: object,
        *,
        prefix: str = "",
        context: Mapping[str, Any] | None = None,
        unknown_key: UnknownKeyHook | None = None,
    ) -> Self:
        """Validate parsed YAML/JSON ``data`` by its keys (aliases) only.

        Raises :class:`ConfigErrors` with every problem, fields below ``prefix``; ``context``
        is passed to the validators, ``unknown_key`` may reword unknown-key errors.
        """
        full: dict[str, Any] = {**(context or {}), DEFERRED: []}
        try:
            result = cls.model_validate(data, context=full, by_alias=True, by_name=False)
        except ValidationError as exc:
            raise _errors(cls, exc, full, prefix, unknown_key) from None
        if full[DEFERRED]:
            raise _errors(cls, None, full, prefix, unknown_key)
        return result


def _errors(
    model: type[BaseModel],
    exc: ValidationError | None,
    context: Mapping[str, Any],
    prefix: str,
    unknown_key: UnknownKeyHook | None,
) -> ConfigErrors:
    errors = config_errors(exc, prefix, model, unknown_key) if exc is not None else []
    errors += [ConfigError(join(prefix, p.field), p.problem, p.fix) for p in context[DEFERRED]]
    keys = [prefix] if prefix else [f.alias or n for n, f in model.model_fields.items()]
    if not prefix:
        errors.sort(key=_order(keys))
    return ConfigErrors(_unique(errors))


def _unique(errors: Sequence[ConfigError]) -> list[ConfigError]:
    seen: set[tuple[str, str]] = set()
    result = []
    for error in errors:
        if (error.field, error.problem) not in seen:
            seen.add((error.field, error.problem))
            result.append(error)
    return result
