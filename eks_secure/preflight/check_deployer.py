"""Check 2: the deploying principal may make every call the pinned CDK CLI makes with it.

``cdk deploy`` assumes the stack's deploy role (``assumeRoleArn`` in the manifest) and makes the
calls in :data:`CLI_CALLS` with it. The list was read from the CDK CLI source
(``@aws-cdk/toolkit-lib`` ``lib/api/deployments/{deploy-stack,deployments,cfn-api}.ts``,
``stack-events/``, ``diagnosing/``, ``environment/environment-resources.ts``) and checked
against the pinned CLI bundle (``node_modules/aws-cdk/lib/index.js`` of aws-cdk 2.1148.1);
docs/preflight.md explains each. Asset publishing is not among them: the asset manifest
publishes with the bootstrap's file-publishing role, not the deploy role.
"""

from __future__ import annotations

from dataclasses import dataclass

from eks_secure.preflight.assembly import Assembly, Stack
from eks_secure.preflight.check_iam import evaluate_role, find_role
from eks_secure.preflight.physical import stack_arn
from eks_secure.preflight.report import Report
from eks_secure.preflight.requests import NeededRequest

CHECK = "deployer"


@dataclass(frozen=True)
class CliCall:
    """One call the CLI (or the documented recovery runbook) makes with the deploy role."""

    action: str
    scope: str
    """``root`` (the top-level stack), ``all`` (it and its nested stacks), ``bootstrap-version``
    (the SSM version parameter), ``template`` (the uploaded template), ``execution-role``."""
    when: str


CLI_CALLS: tuple[CliCall, ...] = (
    CliCall("ssm:GetParameter", "bootstrap-version", "deploy/rollback: bootstrap version check"),
    CliCall("cloudformation:DescribeStacks", "all", "every command: stack lookup and waiters"),
    CliCall("cloudformation:CreateChangeSet", "root", "deploy (IncludeNestedStacks: true)"),
    CliCall("cloudformation:DescribeChangeSet", "all", "deploy: root and nested change sets"),
    CliCall("cloudformation:ExecuteChangeSet", "root", "deploy"),
    CliCall("cloudformation:DeleteChangeSet", "root", "deploy: stale or empty change set"),
    CliCall("cloudformation:ListChangeSets", "root", "deploy failure diagnosis"),
    CliCall("cloudformation:DescribeStackEvents", "all", "activity monitor (nested stacks too)"),
    CliCall("cloudformation:GetTemplate", "all", "diff and change-set review (nested too)"),
    CliCall("cloudformation:ListStackResources", "all", "nested stack discovery for diffs"),
    CliCall("cloudformation:DescribeStackResources", "all", "failure diagnosis (custom resources)"),
    CliCall("cloudformation:DescribeStackResource", "all", "recovery runbook: one resource"),
    CliCall("cloudformation:GetTemplateSummary", "root", "cdk import / resource identifiers"),
    CliCall("cloudformation:DeleteStack", "root", "deploy after a failed create; cdk destroy"),
    CliCall("cloudformation:RollbackStack", "root", "cdk rollback (UPDATE_FAILED)"),
    CliCall(
        "cloudformation:ContinueUpdateRollback", "root", "cdk rollback (UPDATE_ROLLBACK_FAILED)"
    ),
    CliCall("cloudformation:CancelUpdateStack", "root", "recovery runbook: stuck update"),
    CliCall("iam:PassRole", "execution-role", "every mutating call passes the execution role"),
    CliCall("s3:GetObject", "template", "CloudFormation reads the template URL as the caller"),
)
"""Calls made with the deploy role, in the order a deploy and its recovery make them."""


def _requests(stack: Stack) -> list[NeededRequest]:
    env = stack.env
    family = [stack, *(s for s in stack.assembly.stacks if s.root is stack and s is not stack)]
    artifact = stack.artifact.get("properties", {})
    version_parameter = str(artifact.get("bootstrapStackVersionSsmParameter", ""))
    template_url = str(artifact.get("stackTemplateAssetObjectUrl", ""))
    calls = list(CLI_CALLS)
    if artifact.get("terminationProtection"):
        calls.append(CliCall("cloudformation:UpdateTerminationProtection", "root", "deploy"))
    requests = []
    for call in calls:
        targets: list[tuple[str, dict[str, str]]] = []
        if call.scope == "root":
            targets = [(stack_arn(stack), {})]
        elif call.scope == "all":
            targets = [(stack_arn(s), {}) for s in family]
        elif call.scope == "bootstrap-version" and version_parameter:
            name = version_parameter.lstrip("/")
            targets = [(f"arn:{env.partition}:ssm:{env.region}:{env.account}:parameter/{name}", {})]
        elif call.scope == "template" and template_url.startswith("s3://"):
            targets = [(f"arn:{env.partition}:s3:::{template_url.removeprefix('s3://')}", {})]
        elif call.scope == "execution-role" and stack.execution_role_arn:
            passed = {"iam:PassedToService": "cloudformation.amazonaws.com"}
            targets = [(stack.execution_role_arn, passed)]
        for arn, context in targets:
            requests.append(
                NeededRequest(
                    stack, "-", call.when, call.action, arn, tuple(sorted(context.items()))
                )
            )
    return requests


def run(assembly: Assembly, report: Report) -> None:
    """Check every top-level stack whose deploy role is defined in the assembly."""
    for stack in assembly.stacks:
        if stack.parent is not None or not stack.deploy_role_arn:
            continue
        role = find_role(assembly, stack.deploy_role_arn)
        if role is None:
            report.notes.append(
                f"deployer: deploy role {stack.deploy_role_arn} of {stack.name} is not defined "
                "in this assembly (e.g. the CDK bootstrap's deploy role); not evaluated"
            )
            continue
        evaluate_role(report, CHECK, role, _requests(stack))
