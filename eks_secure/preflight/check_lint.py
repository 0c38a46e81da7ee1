"""Check ``lint``: cfn-lint over every template, errors and warnings.

CDK's built-in template validation ("CloudFormation Validate", cfn-lint's rules ported to
Node.js) runs inside every ``cdk synth`` and took about half of a synthesis; the reference app
turns it off (``-c builtin_validation=true`` turns it back on, docs/performance.md) and this
check makes the same check with the cfn-lint package itself, at the gate before a deploy. It
reports every error and warning except:

* the rules CDK's own validation excludes (:data:`CDK_EXCLUDED`): they flag what CDK itself
  generates;
* the findings eks-secure acknowledges on purpose (:data:`ACKNOWLEDGED`, rule and resource
  type, each with its reason; the constructs acknowledge the same findings with the same reason
  for CDK's validation, so a ``cdk synth`` with it on stays quiet too).

Results are cached per template text in the process (the test suite lints the same templates
from several modules).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from eks_secure.preflight.assembly import Assembly
from eks_secure.preflight.report import Problem, Report

CHECK = "lint"

CDK_EXCLUDED = frozenset({"W3005", "W1020", "E1018", "W9002", "W9013", "W1103"})
"""Rules aws-cdk-lib 2.275 leaves out of its built-in validation (``IGNORE_RULES`` of its
CloudFormation Validate plugin; W9002, W9013 and W1103 exist only in CDK's engine): CDK writes a
``DependsOn`` also implied by a reference (W3005), ``Fn::Sub`` without variables (W1020) and
splits of parameters (E1018) by design."""

ACKNOWLEDGED: dict[tuple[str, str], str] = {
    ("W3010", "AWS::EC2::Subnet"): (
        "AZs are explicit on purpose: subnet CIDRs are planned per AZ and synthesis must make "
        "no availability-zone lookup (no AWS calls)."
    ),
}
"""(rule, resource type) -> why eks-secure accepts that finding on that type."""


@functools.cache
def _lint(template_text: str, region: str) -> tuple[tuple[str, str, tuple[str, ...], str], ...]:
    from cfnlint.api import lint

    return tuple(
        (m.rule.id, m.rule.severity, tuple(str(p) for p in m.path), m.message)
        for m in lint(template_text, regions=[region])
    )


def findings(template: dict[str, Any], region: str) -> list[tuple[str, str, str, str]]:
    """cfn-lint's findings for ``template`` in ``region`` as (rule, severity, logical ID or
    ``-``, message), before any exclusion; cached per template text."""
    text = json.dumps(template, sort_keys=True)
    return [
        (rule, severity, path[1] if len(path) > 1 and path[0] == "Resources" else "-", message)
        for rule, severity, path, message in _lint(text, region)
    ]


def run(assembly: Assembly, report: Report) -> None:
    """Add a problem for every error or warning cfn-lint reports that is not excluded."""
    for stack in assembly.stacks:
        report.count(CHECK)
        # an environment-agnostic stack: cfn-lint's own default region
        region = "us-east-1" if stack.env.region == "unknown-region" else stack.env.region
        for rule, severity, logical_id, message in findings(stack.template, region):
            if rule in CDK_EXCLUDED or severity not in ("error", "warning"):
                continue
            resource_type = str(stack.resources.get(logical_id, {}).get("Type", ""))
            if (rule, resource_type) in ACKNOWLEDGED:
                continue
            report.add(
                Problem(
                    CHECK,
                    stack.name,
                    logical_id,
                    f"cfn-lint {rule} ({severity}): {message[:300]}",
                    "fix the construct that renders this property (cfn-lint's rule "
                    f"{rule} says what CloudFormation expects); if the finding is wrong for this "
                    "resource, acknowledge it with its reason in "
                    "eks_secure.preflight.check_lint.ACKNOWLEDGED",
                )
            )
