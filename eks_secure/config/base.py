"""The base of every config model: frozen, unknown keys rejected, errors as ``ConfigError``.

Config models are pydantic v2 models (chosen because it is the maintained standard for
declarative, typed config with JSON Schema export). Constructing one from Python
(``NodeGroupSize(min_size=5, max_size=3)``) raises :class:`~eks_secure.errors.ConfigErrors`
naming ``NodeGroupSize.min_size``, exactly like the YAML loader names ``system_nodes.min_size``:
both translate pydantic's errors with :func:`config_errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eks_secure.errors import ConfigError, ConfigErrors


class RuleViolation(ValueError):  # noqa: N818 -- carries rule problems, not an error kind
    """Raised inside a validator to report rule problems with fields relative to the model."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def check(problems: Sequence[ConfigError]) -> None:
    """Raise :class:`RuleViolation` from a validator when a rule found ``problems``."""
    if problems:
        raise RuleViolation(problems)


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


def config_errors(exc: ValidationError, prefix: str = "") -> ConfigErrors:
    """Translate a pydantic ``ValidationError`` into field-named ``ConfigErrors``."""
    errors: list[ConfigError] = []
    for error in exc.errors(include_url=False):
        loc = [p for p in error["loc"] if not _is_union_tag(p)]
        field = dotted(loc, prefix)
        ctx = error.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, RuleViolation):
            errors.extend(
                ConfigError(join(field, p.field), p.problem, p.fix) for p in cause.problems
            )
            continue
        if isinstance(cause, ConfigError):
            errors.append(ConfigError(join(field, cause.field), cause.problem, cause.fix))
            continue
        errors.append(_describe(field, error))
    return ConfigErrors(errors)


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or "[" in part)


def _describe(field: str, error: Any) -> ConfigError:
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return ConfigError(field, "is required but missing", f"add `{field.rsplit('.', 1)[-1]}`")
    if kind == "extra_forbidden":
        return ConfigError(field, "is not a known key", "remove it or correct its spelling")
    return ConfigError(field, f"{error['msg']} (got {value!r})", "correct the value")


class ConfigModel(BaseModel):
    """Frozen model that rejects unknown keys and raises ``ConfigErrors`` when built badly."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_errors(exc, type(self).__name__) from None
