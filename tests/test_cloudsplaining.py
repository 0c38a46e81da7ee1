"""cloudsplaining, a maintained IAM risk analyzer, finds no privilege-escalation path and no
resource-exposure, data-exfiltration or credentials-exposure action in any eks-secure role.

For every reference pattern, the identity policies of every role in the synthesized assembly
(creator, deployer, cluster, node, kubectl handler and provider, Pod Identity, break-glass...:
inline policies and customer-managed policies attached by reference or by ARN, read as the
preflight reads them) and every customer-managed policy (the permissions boundary included) are
scanned in one cloudsplaining run (its own venv, ``.venv-cloudsplaining``, created by
``make test``; ``EKS_SECURE_CLOUDSPLAINING_PYTHON`` points to another interpreter). A finding
fails the test unless ``tests/cloudsplaining-exclusions.yaml`` lists it with a reason.

What cloudsplaining cannot see, and how the test stays sound:

- It treats any statement with a condition, or with a resource other than ``*``, as constrained.
  Our role-writing statements rely on conditions (``iam:PermissionsBoundary``, request and
  resource tags); those are proven by the preflight IAM evaluator in
  ``tests/test_creator_escalation.py``, not here.
- It subtracts every action a ``Deny`` names, whatever the Deny's resource or condition. A
  conditional or resource-scoped Deny does not remove an action everywhere, so only
  unconditional Denies on ``*`` are passed to it (the scan sees the document as more
  permissive than it is, never less).
- AWS-managed policies attached by ARN (the node and cluster roles' ``AmazonEKS*``) are not in
  the assembly and are not scanned; every role of the cluster stack carries the scanned
  permissions boundary.

The test can fail: canary documents with known escalations ride along in every run and must be
reported.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from synth import REFERENCE_FIXTURES, Synth

from eks_secure.preflight.assembly import load
from eks_secure.preflight.check_iam import find_role
from eks_secure.preflight.iam_eval import Statement, policy_statements
from eks_secure.preflight.physical import arn_of, render_tree

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(
    os.environ.get(
        "EKS_SECURE_CLOUDSPLAINING_PYTHON", REPO / ".venv-cloudsplaining" / "bin" / "python"
    )
)
SCANNER = Path(__file__).with_name("cloudsplaining_scan.py")
EXCLUSIONS_FILE = Path(__file__).with_name("cloudsplaining-exclusions.yaml")
RISKS = ("PrivilegeEscalation", "ResourceExposure", "DataExfiltration", "CredentialsExposure")


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


CANARIES: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (document, risk, finding the scan must report)
    "canary/PassRoleToNewLambda": (
        _document(
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
                "Resource": "*",
            }
        ),
        "PrivilegeEscalation",
        "PassExistingRoleToNewLambdaThenInvoke",
    ),
    "canary/CreatePolicyVersion": (
        _document({"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}),
        "PrivilegeEscalation",
        "CreateNewPolicyVersion",
    ),
    "canary/ConditionalDenyIsNotADeny": (
        _document(
            {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "iam:CreatePolicyVersion",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:ResourceTag/owner": "me"}},
            },
        ),
        "PrivilegeEscalation",
        "CreateNewPolicyVersion",
    ),
}


def _json(statement: Statement) -> dict[str, Any]:
    data: dict[str, Any] = {"Effect": statement.effect}
    for key, values in (
        ("Action", statement.actions),
        ("NotAction", statement.not_actions),
        ("Resource", statement.resources),
        ("NotResource", statement.not_resources),
    ):
        if values:
            data[key] = list(values)
    if statement.conditions:
        data["Condition"] = {op: dict(keys) for op, keys in statement.conditions.items()}
    return data


def _scannable(document: dict[str, Any]) -> dict[str, Any]:
    """The document cloudsplaining sees: every Allow, and only the Denies that deny everywhere."""
    kept = [
        s
        for s in policy_statements(document)
        if s.effect == "Allow"
        or (not s.conditions and not s.not_resources and s.resources == ("*",))
    ]
    return _document(*(_json(s) for s in kept))


def documents(deployment: Synth) -> dict[str, dict[str, Any]]:
    """Every role's identity policies (one document per role) and every managed policy."""
    assembly = load(str(deployment.outdir))
    found: dict[str, dict[str, Any]] = {}
    for stack in assembly.stacks:
        for logical_id, _ in stack.of_type("AWS::IAM::Role"):
            arn = arn_of(stack, logical_id)
            role = find_role(assembly, arn) if arn is not None else None
            if role is not None and role.statements:
                found[f"{stack.name}/{logical_id}"] = _document(*map(_json, role.statements))
        for logical_id, _ in stack.of_type("AWS::IAM::ManagedPolicy"):
            document = render_tree(stack.properties(logical_id).get("PolicyDocument", {}))
            found[f"{stack.name}/{logical_id}"] = document
    return found


def _run_scanner(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    if not PYTHON.exists():
        pytest.skip(f"{PYTHON} is missing: run `make test` (it creates .venv-cloudsplaining)")
    result = subprocess.run(
        [str(PYTHON), str(SCANNER)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    findings: dict[str, dict[str, list[str]]] = json.loads(result.stdout)
    return findings


def scan(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """cloudsplaining's findings per document (one run), after checking the canaries."""
    canaries = {name: doc for name, (doc, _, _) in CANARIES.items()}
    findings = _run_scanner({n: _scannable(d) for n, d in {**docs, **canaries}.items()})
    for name, (_, risk, expected) in CANARIES.items():
        assert expected in findings.pop(name).get(risk, []), f"{name}: {expected} not reported"
    return findings


def exclusions() -> list[dict[str, str]]:
    """The reviewed exclusions, each with role, risk, finding and reason."""
    entries = yaml.safe_load(EXCLUSIONS_FILE.read_text()) or []
    assert isinstance(entries, list)
    return entries


def open_findings(findings: dict[str, dict[str, list[str]]]) -> list[str]:
    """``<document>: <risk> <finding>`` for every finding no exclusion covers."""
    entries = exclusions()
    return [
        f"{name}: {risk} {item}"
        for name, risks in sorted(findings.items())
        for risk, items in sorted(risks.items())
        for item in items
        if not any(
            fnmatch.fnmatchcase(name, e["role"])
            and e["risk"] == risk
            and fnmatch.fnmatchcase(item, e["finding"])
            for e in entries
        )
    ]


def test_every_exclusion_has_a_reason() -> None:
    for entry in exclusions():
        assert set(entry) == {"role", "risk", "finding", "reason"}, entry
        assert entry["risk"] in RISKS, entry
        assert len(str(entry["reason"]).split()) >= 5, entry


def test_an_escalating_role_is_reported() -> None:
    """The gate itself: a role granting PassRole + lambda:CreateFunction on ``*`` (and one with
    iam:CreatePolicyVersion) is an open finding, and an unconditional Deny on ``*`` is honoured."""
    passrole, _, _ = CANARIES["canary/PassRoleToNewLambda"]
    version, _, _ = CANARIES["canary/CreatePolicyVersion"]
    denied = _document(
        *version["Statement"],
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    )
    findings = scan(
        {"Stack/EscalatingRole": passrole, "Stack/VersionRole": version, "Stack/D": denied}
    )
    reported = open_findings(findings)
    assert "Stack/EscalatingRole: PrivilegeEscalation PassExistingRoleToNewLambdaThenInvoke" in (
        reported
    )
    assert "Stack/VersionRole: PrivilegeEscalation CreateNewPolicyVersion" in reported
    assert findings["Stack/D"] == {}, findings["Stack/D"]


def test_conditional_denies_are_not_passed_to_the_scanner() -> None:
    document = CANARIES["canary/ConditionalDenyIsNotADeny"][0]
    assert [s["Effect"] for s in _scannable(document)["Statement"]] == ["Allow"]


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(n, marks=pytest.mark.xdist_group(n.replace("_", "-")))
        for n in REFERENCE_FIXTURES
    ],
)
def test_no_iam_risk_in_any_role(fixture: str, request: pytest.FixtureRequest) -> None:
    if not PYTHON.exists():
        pytest.skip(f"{PYTHON} is missing: run `make test` (it creates .venv-cloudsplaining)")
    deployment: Synth = request.getfixturevalue(fixture)
    docs = documents(deployment)
    creator = [n for n in docs if "creator" in n.lower()]
    assert len(creator) >= 3, f"creator stack roles and policies not found: {sorted(docs)}"
    remaining = open_findings(scan(docs))
    assert remaining == [], "\n".join(remaining)


if __name__ == "__main__":  # pragma: no cover - manual: print the documents of one pattern
    from synth import synth

    json.dump(documents(synth(sys.argv[1])), sys.stdout, indent=1)
