"""A small evaluator of IAM policy conditions, for the guardrail SCP tests.

Only what the SCP uses: Allow/Deny statements on actions with ``*`` wildcards, resource ``*``,
single-valued context keys and the operators ``String(Not)Equals``, ``String(Not)Like``,
``Arn(Not)Like``, ``Arn(Not)Equals``, ``Bool`` and ``Null``, each with an optional
``IfExists``. Semantics follow the IAM reference: key names are case-insensitive; a condition
on an absent key is true for negated operators and with ``IfExists``, false otherwise;
``Null: true`` means "the key is absent".

The preflight's evaluator (``eks_secure.preflight.iam_eval``, on main but not yet on this
branch) is used as well when it can be imported: :data:`EVALUATORS` lists every evaluator
available, and the guardrail tests run their cases against each of them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
from collections.abc import Callable, Mapping
from typing import Any

_OPERATORS = {
    "StringEquals": (False, lambda p, v: p == v),
    "StringNotEquals": (True, lambda p, v: p == v),
    "StringLike": (False, lambda p, v: fnmatch.fnmatchcase(v, p)),
    "StringNotLike": (True, lambda p, v: fnmatch.fnmatchcase(v, p)),
    "ArnEquals": (False, lambda p, v: p == v),
    "ArnNotEquals": (True, lambda p, v: p == v),
    "ArnLike": (False, lambda p, v: fnmatch.fnmatchcase(v, p)),
    "ArnNotLike": (True, lambda p, v: fnmatch.fnmatchcase(v, p)),
    "Bool": (False, lambda p, v: p.lower() == v.lower()),
}


def _as_list(value: Any) -> list[str]:
    return [
        str(v).lower() if isinstance(v, bool) else str(v)
        for v in (value if isinstance(value, list) else [value])
    ]


def condition_matches(operator: str, key: str, values: Any, context: Mapping[str, Any]) -> bool:
    """Whether one ``operator: {key: values}`` condition holds in ``context``."""
    lowered = {k.lower(): v for k, v in context.items()}
    present = key.lower() in lowered
    if operator == "Null":
        (wanted,) = _as_list(values)
        return (not present) == (wanted == "true")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated, match = _OPERATORS[base]
    if not present:
        return if_exists or negated
    actual = _as_list(lowered[key.lower()])[0]
    hit = any(match(p, actual) for p in _as_list(values))
    return not hit if negated else hit


def statement_applies(
    statement: Mapping[str, Any], action: str, context: Mapping[str, Any]
) -> bool:
    """Whether ``statement`` covers ``action`` and all of its conditions hold."""
    actions = _as_list(statement["Action"])
    if not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in actions):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, values in keys.items():
            if not condition_matches(operator, key, values, context):
                return False
    return True


def denied_by(document: Mapping[str, Any], action: str, context: Mapping[str, Any]) -> list[str]:
    """Sids of the Deny statements of ``document`` that deny ``action`` in ``context``."""
    return [
        s.get("Sid", "?")
        for s in document["Statement"]
        if s["Effect"] == "Deny" and statement_applies(s, action, context)
    ]


def _preflight_denied_by(
    module: Any,
) -> Callable[[Mapping[str, Any], str, Mapping[str, Any]], list[str]]:
    def denied(document: Mapping[str, Any], action: str, context: Mapping[str, Any]) -> list[str]:
        resource = "arn:aws:eks:eu-west-1:111111111111:cluster/payments-prod"
        return [
            s.sid or "?"
            for s in module.policy_statements(document)
            if s.effect == "Deny"
            and s.matches_action(action)
            and s.matches_resource(resource)
            and not s.failing_conditions(context)
        ]

    return denied


EVALUATORS: dict[str, Callable[[Mapping[str, Any], str, Mapping[str, Any]], list[str]]] = {
    "local": denied_by
}
"""Every evaluator available: this module's, and the preflight's once it is merged."""
with contextlib.suppress(ImportError):  # not on this branch yet
    EVALUATORS["preflight"] = _preflight_denied_by(
        importlib.import_module("eks_secure.preflight.iam_eval")
    )
