"""Check 1: the CloudFormation execution role may make every request its stacks need.

A stack synthesized with a dedicated execution role (``cloudFormationExecutionRoleArn`` in the
manifest, e.g. set by ``creator_stack_synthesizer``) is deployed, with its nested stacks, by that
role alone. When the role is defined in the assembly (the creator stack), its identity policies
are evaluated against every request of :mod:`eks_secure.preflight.requests`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.iam_eval import Request, Statement, evaluate, policy_statements
from eks_secure.preflight.physical import arn_of, render, render_tree
from eks_secure.preflight.report import Problem, Report
from eks_secure.preflight.requests import NeededRequest, requests_for

CHECK = "iam"


@dataclass
class RolePolicies:
    """A role defined in the assembly and the statements of its identity policies."""

    stack: Stack
    logical_id: str
    arn: str
    statements: list[Statement]
    unseen: list[str]
    """Managed policies attached by ARN that the assembly does not define (not evaluated)."""


def find_role(assembly: Assembly, arn: str) -> RolePolicies | None:
    """The role with ``arn`` and its policies, if a stack of the assembly defines it."""
    for stack in assembly.stacks:
        for logical_id, _ in stack.of_type("AWS::IAM::Role"):
            if arn_of(stack, logical_id) == arn:
                return _policies_of(stack, logical_id, arn)
    return None


def _refers_to(value: object, stack: Stack, logical_id: str) -> bool:
    return (
        isinstance(value, ResourceRef) and value.stack is stack and value.logical_id == logical_id
    )


def _policies_of(stack: Stack, logical_id: str, arn: str) -> RolePolicies:
    props = stack.properties(logical_id)
    statements: list[Statement] = []
    unseen: list[str] = []
    for policy in props.get("Policies", []):
        name = f"{logical_id}/{render(policy.get('PolicyName', ''))}"
        statements += policy_statements(render_tree(policy.get("PolicyDocument", {})), name)
    managed_arns = [render(a) for a in props.get("ManagedPolicyArns", [])]
    for other in stack.assembly.stacks:
        for policy_id, policy in other.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            raw_roles = other.resolve(policy.get("Properties", {}).get("Roles", []))
            if any(_refers_to(r, stack, logical_id) for r in raw_roles):
                document = other.properties(policy_id).get("PolicyDocument", {})
                statements += policy_statements(render_tree(document), policy_id)
            if policy["Type"] == "AWS::IAM::ManagedPolicy":
                policy_arn = arn_of(other, policy_id)
                if policy_arn in managed_arns:
                    managed_arns.remove(policy_arn)
                    document = other.properties(policy_id).get("PolicyDocument", {})
                    statements += policy_statements(render_tree(document), policy_id)
    unseen += managed_arns
    return RolePolicies(stack, logical_id, arn, statements, unseen)


def stacks_deployed_by(assembly: Assembly, role_arn: str) -> list[Stack]:
    """The stacks (nested included) whose execution role is ``role_arn``."""
    return [s for s in assembly.stacks if s.execution_role_arn == role_arn]


def needed_requests(stacks: Iterable[Stack]) -> list[NeededRequest]:
    """Every request of every active resource of ``stacks``, without duplicates."""
    seen: dict[NeededRequest, None] = {}
    for stack in stacks:
        for logical_id, _ in stack.active_resources():
            for request in requests_for(stack, logical_id):
                seen.setdefault(request, None)
    return list(seen)


def evaluate_role(
    report: Report, check: str, role: RolePolicies, requests: Iterable[NeededRequest]
) -> None:
    """Evaluate ``requests`` against ``role`` and report each denied one."""
    for needed in requests:
        report.count(check)
        decision = evaluate(
            role.statements, Request(needed.action, needed.resource, needed.context_dict)
        )
        if decision.allowed:
            continue
        report.add(
            Problem(
                check=check,
                stack=needed.stack.name,
                logical_id=needed.logical_id,
                problem=(
                    f"{needed.operation}: {role.arn.rsplit('/', 1)[-1]} is denied "
                    f"{needed.action} on {needed.resource} ({decision.culprit()})"
                ),
                fix=_fix(role, needed, decision.explicit),
            )
        )


def _fix(role: RolePolicies, needed: NeededRequest, explicit: bool) -> str:
    where = f"the policy of role {role.logical_id} (stack {role.stack.name})"
    if explicit:
        return f"narrow the deny so it does not match this request, in {where}"
    keys = [k for k, _ in needed.context if k.startswith(("iam:", "aws:RequestTag", "eks:"))]
    context = f" with context {', '.join(keys)}" if keys else ""
    return f"allow {needed.action} on {needed.resource}{context} in {where}"


def run(assembly: Assembly, report: Report) -> None:
    """Check every stack that has a dedicated execution role."""
    roles = sorted({s.execution_role_arn for s in assembly.stacks if s.execution_role_arn})
    for arn in roles:
        role = find_role(assembly, arn)
        stacks = stacks_deployed_by(assembly, arn)
        if role is None:
            names = ", ".join(sorted({s.root.name for s in stacks}))
            report.notes.append(
                f"iam: execution role {arn} of {names} is not defined in this assembly "
                "(e.g. the CDK bootstrap role); its policies were not evaluated"
            )
            continue
        for policy in role.unseen:
            report.notes.append(
                f"iam: managed policy {policy} of {arn} is not in the assembly; not evaluated"
            )
        evaluate_role(report, CHECK, role, needed_requests(stacks))
