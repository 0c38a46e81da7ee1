"""Offline evaluation of Kyverno conditions (a test helper, not a test module).

No Kyverno runs here: a policy's variables are JMESPath, so its conditions are evaluated with the
reference ``jmespath`` implementation against ``{"request": {"object": <resource>}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jmespath

VARIABLE = re.compile(r"^\{\{\s*(.*?)\s*\}\}$")


def value(expression: Any, obj: Mapping[str, Any]) -> Any:
    """A condition's key or value: a ``{{ jmespath }}`` variable evaluated on ``obj``."""
    if not isinstance(expression, str):
        return expression
    match = VARIABLE.match(expression)
    if not match:
        return expression
    return jmespath.search(match.group(1), {"request": {"object": obj}})


def holds(condition: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """Whether one Kyverno condition holds for ``obj``."""
    key = value(condition["key"], obj)
    expected = value(condition["value"], obj)
    operator = condition["operator"]
    if operator == "Equals":
        return bool(key == expected)
    if operator == "NotEquals":
        return bool(key != expected)
    if operator == "GreaterThan":
        return bool(key > expected)
    if operator == "AnyIn":
        return any(k in expected for k in (key if isinstance(key, list) else [key]))
    raise AssertionError(f"unsupported operator {operator}")


def all_any(block: Mapping[str, Sequence[Mapping[str, Any]]], obj: Mapping[str, Any]) -> bool:
    """A ``{all: [...], any: [...]}`` block (preconditions, deny conditions) holds for ``obj``."""
    every = all(holds(c, obj) for c in block.get("all", ()))
    some = not block.get("any") or any(holds(c, obj) for c in block["any"])
    return every and some
