"""Check 4: every wait fits inside the Lambda that runs it, and every custom resource fails fast.

For a Lambda-backed custom resource (``ServiceToken`` is a function of the assembly):

* it sets ``ServiceTimeout`` (1 to 3600 s), at least the service function's timeout plus
  :data:`MARGIN`; without it a handler that never answers keeps CloudFormation waiting an hour
  (and its rollback another hour);
* when the service function is a CDK provider framework (``USER_ON_EVENT_FUNCTION_ARN``), the
  user handler's timeout plus the margin fits in the framework's, so the framework outlives a
  handler that times out and reports the failure;
* a Helm chart installed with ``Wait`` (``Custom::AWSCDK-EKS-HelmChart``) has a ``Timeout``
  (Helm's default is 5 minutes) that, plus the margin, fits in the handler's timeout; the same
  for a ``TimeoutSeconds`` of a kubectl-backed resource.
"""

from __future__ import annotations

import re

from eks_secure.preflight.assembly import Assembly, ResourceRef, Stack
from eks_secure.preflight.physical import render
from eks_secure.preflight.report import Problem, Report

CHECK = "timeouts"
MARGIN = 60
"""Seconds a wait must leave to the Lambda around it (start-up, Helm's atomic clean-up, reply)."""
MAX_SERVICE_TIMEOUT = 3600
LAMBDA_DEFAULT_TIMEOUT = 3
HELM_DEFAULT_TIMEOUT = 300
FRAMEWORK_TARGET = "USER_ON_EVENT_FUNCTION_ARN"


def duration_seconds(value: str) -> int | None:
    """A Go/Helm duration (``900s``, ``15m``, ``1h30m``) or plain seconds, in seconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    parts = re.findall(r"(\d+)(h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _function(assembly: Assembly, stack: Stack, token: object) -> tuple[Stack, str] | None:
    if isinstance(token, ResourceRef) and token.type == "AWS::Lambda::Function":
        return token.stack, token.logical_id
    text = render(token)
    for other in assembly.stacks:
        for logical_id, _ in other.of_type("AWS::Lambda::Function"):
            from eks_secure.preflight.physical import arn_of

            if arn_of(other, logical_id) == text:
                return other, logical_id
    return None


def _timeout(stack: Stack, logical_id: str) -> int:
    value = stack.properties(logical_id).get("Timeout", LAMBDA_DEFAULT_TIMEOUT)
    return int(render(value)) if render(value).isdigit() else LAMBDA_DEFAULT_TIMEOUT


def run(assembly: Assembly, report: Report) -> None:
    """Check every custom resource of every stack."""
    for stack, logical_id, resource in assembly.all_resources():
        rtype = str(resource.get("Type"))
        if not (rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource"):
            continue
        props = stack.properties(logical_id)
        target = _function(assembly, stack, props.get("ServiceToken"))
        if target is None:
            continue
        report.count(CHECK)
        fn_stack, fn_id = target
        fn_timeout = _timeout(fn_stack, fn_id)
        fn_name = f"{fn_stack.name}/{fn_id}"

        def problem(text: str, fix: str, lid: str = logical_id, where: Stack = stack) -> None:
            report.add(Problem(CHECK, where.name, lid, text, fix))

        service = props.get("ServiceTimeout")
        if service is None:
            problem(
                f"{rtype} has no ServiceTimeout: a handler that never answers keeps "
                "CloudFormation waiting for an hour (and its rollback another hour)",
                f"set ServiceTimeout to at least {fn_timeout + MARGIN} s (the timeout of "
                f"{fn_name} plus {MARGIN} s) and at most {MAX_SERVICE_TIMEOUT} s",
            )
        else:
            seconds = int(render(service)) if render(service).isdigit() else 0
            if not fn_timeout + MARGIN <= seconds <= MAX_SERVICE_TIMEOUT:
                problem(
                    f"ServiceTimeout {seconds} s is not between the timeout of {fn_name} "
                    f"({fn_timeout} s) plus {MARGIN} s and {MAX_SERVICE_TIMEOUT} s",
                    f"set ServiceTimeout to {fn_timeout + MARGIN}..{MAX_SERVICE_TIMEOUT} s",
                )

        handler_timeout, handler_name = fn_timeout, fn_name
        env = fn_stack.properties(fn_id).get("Environment", {}).get("Variables", {})
        user = _function(assembly, fn_stack, env.get(FRAMEWORK_TARGET)) if env else None
        if user is not None:
            handler_timeout = _timeout(*user)
            handler_name = f"{user[0].name}/{user[1]}"
            if handler_timeout + MARGIN > fn_timeout:
                problem(
                    f"the handler {handler_name} may run {handler_timeout} s but its provider "
                    f"framework {fn_name} only {fn_timeout} s: a timed-out handler is never "
                    "reported and CloudFormation waits for ServiceTimeout",
                    f"give {handler_name} a timeout of at most {fn_timeout - MARGIN} s",
                    lid=user[1],
                    where=user[0],
                )

        wait: int | None = None
        what = ""
        if rtype == "Custom::AWSCDK-EKS-HelmChart" and render(props.get("Wait", False)) == "true":
            raw = render(props.get("Timeout", f"{HELM_DEFAULT_TIMEOUT}s"))
            wait, what = duration_seconds(raw), f"Helm --wait --timeout {raw}"
        elif "TimeoutSeconds" in props:
            wait, what = int(render(props["TimeoutSeconds"])), "TimeoutSeconds"
        if wait is not None and wait + MARGIN > handler_timeout:
            problem(
                f"{what} ({wait} s) does not fit in the {handler_timeout} s of the Lambda "
                f"{handler_name} that runs it with {MARGIN} s to spare: a failed install "
                "times out the Lambda instead of failing the resource",
                f"lower the wait to at most {handler_timeout - MARGIN} s",
            )
