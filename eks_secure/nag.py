"""Acknowledging cdk-nag / CloudFormation-validation findings, always with a written reason.

cdk-nag 3 uses CDK's native ``Validations.of(scope).acknowledge``; an acknowledgment on a scope
covers the constructs below it. Wildcard findings (``AwsSolutions-IAM5``) are acknowledged one by
one, so :func:`acknowledge_wildcards` derives their IDs from the statements that cause them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from eks_secure.memo import memo


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge finding ``rule_id`` on ``scope`` and below, with ``reason``."""
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} needs a reason")
    # one jsii call per scope, not per acknowledgment
    validations = memo(scope, _VALIDATIONS, lambda: cdk.Validations.of(scope))
    validations.acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


_VALIDATIONS = "_eks_secure_validations"
"""Attribute of a scope holding its ``cdk.Validations.of(scope)``."""


COMPLIANCE_PACKS: tuple[str, ...] = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
"""cdk-nag's compliance packs, whose rules share their names (``<pack>-IAMNoInlinePolicy``...)."""


def acknowledge_compliance(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge rule ``rule`` (e.g. ``IAMNoInlinePolicy``) in every compliance pack."""
    for pack in COMPLIANCE_PACKS:
        acknowledge(scope, f"{pack}-{rule}", reason)


def acknowledge_managed_policies(
    scope: IConstruct, policy_names: Iterable[str], reason: str
) -> None:
    """Acknowledge ``AwsSolutions-IAM4`` for each AWS-managed policy (``service-role/X`` form)."""
    for name in policy_names:
        acknowledge(
            scope, f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]", reason
        )


def _render(value: Any) -> str:
    """A resolved CloudFormation value in cdk-nag's finding notation."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Join":
            return str(arg[0]).join(_render(part) for part in arg[1])
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")


def acknowledge_wildcards(
    scope: IConstruct, statements: Sequence[tuple[iam.PolicyStatement, str]]
) -> None:
    """Acknowledge each wildcard action/resource finding of ``statements`` with its reason."""
    stack = cdk.Stack.of(scope)
    for statement, reason in statements:
        if statement.effect == iam.Effect.DENY:
            continue
        for action in statement.actions:
            if "*" in action:
                acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", reason)
        for resource in statement.resources:
            rendered = _render(stack.resolve(resource))
            if "*" in rendered:
                acknowledge(scope, f"AwsSolutions-IAM5[Resource::{rendered}]", reason)
