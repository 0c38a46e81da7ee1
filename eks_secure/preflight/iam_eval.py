"""A small IAM identity-policy evaluator (explicit deny, allow, implicit deny) with conditions.

No maintained Python package evaluates a request against identity policies with conditions
offline (see docs/preflight.md for the candidates looked at), so this module implements the
documented logic for the identity-based policies of one principal:

* an explicit ``Deny`` that matches wins; otherwise a matching ``Allow`` allows; otherwise the
  request is implicitly denied;
* ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?``; ``Resource``/
  ``NotResource`` match the ARN segment by segment (partition, service, region, account), the
  resource part as a whole, case-sensitively;
* every condition operator in a statement must match (AND), every key in an operator must match
  (AND), any of a key's values may match (OR; for negated operators, none may match);
* operators: ``String*`` (``Equals``, ``NotEquals``, ``EqualsIgnoreCase``,
  ``NotEqualsIgnoreCase``, ``Like``, ``NotLike``), ``Numeric*``, ``Bool``, ``Arn*`` (``Equals``,
  ``Like``, ``NotEquals``, ``NotLike``), ``IpAddress``/``NotIpAddress``, ``Null``; the
  ``IfExists`` suffix; the ``ForAllValues:``/``ForAnyValue:`` set prefixes;
* a key missing from the request makes a positive operator false and a negated one true;
  ``...IfExists`` is true then; ``ForAllValues`` is true for a missing or empty key,
  ``ForAnyValue`` false.

:func:`trust_policy_statements` reads a role's trust policy the same way (its ``Principal``
turned into conditions on the caller).

Not modelled: policy variables (``${aws:username}``), resource policies, permission boundaries,
session policies, SCPs and RCPs (none can be seen in a cloud assembly), date operators.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | bool | int | float | Sequence[str]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


@dataclass(frozen=True)
class Statement:
    """One policy statement (identity-based: no ``Principal``)."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str | None = None
    policy: str = ""
    """Name of the policy holding the statement (for messages)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], policy: str = "") -> Statement:
        """Build a statement from its JSON form."""
        conditions = {
            str(op): {str(k): tuple(str(v) for v in _as_list(vals)) for k, vals in keys.items()}
            for op, keys in dict(data.get("Condition", {})).items()
        }
        return cls(
            effect=str(data.get("Effect", "Allow")),
            actions=tuple(str(a) for a in _as_list(data.get("Action"))),
            not_actions=tuple(str(a) for a in _as_list(data.get("NotAction"))),
            resources=tuple(str(r) for r in _as_list(data.get("Resource"))),
            not_resources=tuple(str(r) for r in _as_list(data.get("NotResource"))),
            conditions=conditions,
            sid=str(data["Sid"]) if "Sid" in data else None,
            policy=policy,
        )

    @property
    def label(self) -> str:
        """``Sid`` (or statement position) and policy, for messages."""
        name = self.sid or "(no Sid)"
        return f"{name} in {self.policy}" if self.policy else name

    def matches_action(self, action: str) -> bool:
        """Whether the statement applies to ``action``."""
        if self.actions:
            return any(_glob(p, action, ignore_case=True) for p in self.actions)
        return not any(_glob(p, action, ignore_case=True) for p in self.not_actions)

    def matches_resource(self, resource: str) -> bool:
        """Whether the statement applies to ``resource``."""
        if self.resources:
            return any(arn_matches(p, resource) for p in self.resources)
        return not any(arn_matches(p, resource) for p in self.not_resources)

    def failing_conditions(self, context: Mapping[str, ContextValue]) -> list[str]:
        """The ``operator key`` pairs that do not match ``context`` (empty when all match)."""
        lowered = {k.lower(): v for k, v in context.items()}
        failing = []
        for operator, keys in self.conditions.items():
            for key, values in keys.items():
                if not condition_matches(operator, lowered.get(key.lower()), values):
                    failing.append(f"{operator} {key}")
        return failing


def policy_statements(document: Mapping[str, Any], policy: str = "") -> list[Statement]:
    """The statements of a policy document."""
    return [Statement.from_json(s, policy) for s in _as_list(document.get("Statement"))]


_ROOT = re.compile(r"^arn:aws[-a-z]*:iam::(\d{12}):root$")
_PRINCIPAL_KEYS = {"Service": "aws:PrincipalServiceName", "Federated": "aws:FederatedProvider"}


def _caller_conditions(kind: str, values: list[str]) -> list[dict[str, dict[str, tuple[str, ...]]]]:
    """One condition set per group of principals a statement names (any group may match)."""
    if kind != "AWS":
        return [{"StringEquals": {_PRINCIPAL_KEYS[kind]: tuple(values)}}]
    groups = []
    accounts = [m.group(1) for v in values if (m := _ROOT.match(v))]
    accounts += [v for v in values if re.fullmatch(r"\d{12}", v)]
    arns = [v for v in values if not _ROOT.match(v) and not re.fullmatch(r"\d{12}", v)]
    if accounts:
        groups.append({"StringEquals": {"aws:PrincipalAccount": tuple(accounts)}})
    if arns:
        groups.append({"ArnEquals": {"aws:PrincipalArn": tuple(arns)}})
    return groups


def trust_policy_statements(document: Mapping[str, Any], policy: str = "") -> list[Statement]:
    """A role's trust policy as statements :func:`evaluate` can decide ``sts:AssumeRole*`` with.

    Each ``Principal`` becomes a condition on the caller, which the request context names:
    ``aws:PrincipalArn`` for role and user ARNs (a role session's is its role's ARN),
    ``aws:PrincipalAccount`` for an account (root ARN or ID), ``aws:PrincipalServiceName`` for
    a service and ``aws:FederatedProvider`` for a federated provider; a statement naming
    several kinds becomes one statement per kind. ``"*"`` matches any caller; ``NotPrincipal``
    is not modelled (ValueError).
    """
    statements = []
    for data in _as_list(document.get("Statement")):
        if "NotPrincipal" in data:
            raise ValueError("NotPrincipal is not modelled")
        base = Statement.from_json({**data, "Resource": "*"}, policy)
        principal = data.get("Principal", {})
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            statements.append(base)
            continue
        for kind, values in dict(principal).items():
            for group in _caller_conditions(str(kind), [str(v) for v in _as_list(values)]):
                conditions = {op: dict(keys) for op, keys in base.conditions.items()}
                for op, keys in group.items():
                    conditions.setdefault(op, {}).update(keys)
                statements.append(
                    Statement(
                        effect=base.effect,
                        actions=base.actions,
                        not_actions=base.not_actions,
                        resources=("*",),
                        conditions=conditions,
                        sid=base.sid,
                        policy=policy,
                    )
                )
    return statements


_GLOB_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    key = (pattern, ignore_case)
    regex = _GLOB_CACHE.get(key)
    if regex is None:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        regex = re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))
        _GLOB_CACHE[key] = regex
    return regex.match(value) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching: ``*`` alone matches all; otherwise segment-wise with wildcards."""
    if pattern == "*":
        return True
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return _glob(pattern, arn)
    return all(_glob(p, a) for p, a in zip(p_parts, a_parts, strict=True))


def _string(op: str, actual: str, expected: str) -> bool:
    if op == "StringEquals":
        return actual == expected
    if op == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if op == "StringLike":
        return _glob(expected, actual)
    if op in ("ArnEquals", "ArnLike"):
        return arn_matches(expected, actual)
    if op == "Bool":
        return actual.lower() == expected.lower()
    if op.startswith("Numeric"):
        try:
            a, e = float(actual), float(expected)
        except ValueError:
            return False
        return {
            "NumericEquals": a == e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }.get(op, False)
    if op == "IpAddress":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
        except ValueError:
            return False
    raise ValueError(f"unsupported condition operator {op}")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "NotIpAddress": "IpAddress",
}


def _text(value: ContextValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_matches(operator: str, actual: ContextValue | None, expected: Iterable[str]) -> bool:
    """Whether one condition (``operator``, one key's request value, policy values) matches."""
    expected = list(expected)
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    values: list[str] | None
    if actual is None:
        values = None
    elif isinstance(actual, list | tuple):
        values = [_text(v) for v in actual]
    else:
        values = [_text(actual)]

    if op == "Null":
        present = values is not None and len(values) > 0
        return any((v.lower() == "true") != present for v in expected)

    negated = op in _NEGATED
    base = _NEGATED.get(op, op)

    def one(value: str) -> bool:
        hit = any(_string(base, value, e) for e in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return values is None or all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return values is not None and any(one(v) for v in values)
    if values is None or not values:
        return if_exists or negated
    if negated:
        return all(one(v) for v in values)
    return any(one(v) for v in values)


@dataclass(frozen=True)
class Request:
    """One API call to authorize: action, resource ARN and request context."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`evaluate`, with the statements that decided it."""

    allowed: bool
    denied_by: Statement | None = None
    """The explicit ``Deny`` that matched, if any."""
    allowed_by: Statement | None = None
    near_misses: tuple[tuple[Statement, str], ...] = ()
    """``Allow`` statements whose action matches but whose resource or conditions do not."""

    @property
    def explicit(self) -> bool:
        """Whether an explicit deny decided it."""
        return self.denied_by is not None

    def culprit(self) -> str:
        """The statement that would have to change, and why, for messages."""
        if self.denied_by is not None:
            return f"explicit deny by statement {self.denied_by.label}"
        if self.near_misses:
            return "; ".join(f"statement {s.label} {why}" for s, why in self.near_misses)
        return "no statement allows the action"


def evaluate(statements: Sequence[Statement], request: Request) -> Decision:
    """Evaluate ``request`` against the identity-policy ``statements`` of one principal."""
    allowed_by: Statement | None = None
    misses: list[tuple[Statement, str]] = []
    for statement in statements:
        if not statement.matches_action(request.action):
            continue
        if not statement.matches_resource(request.resource):
            if statement.effect == "Allow":
                misses.append((statement, f"does not cover {request.resource}"))
            continue
        failing = statement.failing_conditions(request.context)
        if failing:
            if statement.effect == "Allow":
                misses.append((statement, f"has conditions that do not match: {failing}"))
            continue
        if statement.effect == "Deny":
            return Decision(allowed=False, denied_by=statement)
        allowed_by = allowed_by or statement
    if allowed_by is not None:
        return Decision(allowed=True, allowed_by=allowed_by)
    return Decision(allowed=False, near_misses=tuple(misses))
