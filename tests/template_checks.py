"""Shared checks on synthesized CloudFormation templates (real tools, no mocks)."""

from __future__ import annotations

from typing import Any

from eks_secure.preflight.check_lint import findings


def cfn_lint_findings(template: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's error-level findings (E rules) for ``template``.

    The preflight's ``lint`` check runs the same cfn-lint, cached per template text in the
    process: a pattern's module, the contract suite and the preflight share one lint of each
    session template (about 4 to 10 s of cfn-lint per pattern)."""
    return [
        f"[{rule}] {logical_id}: {message}"
        for rule, _, logical_id, message in findings(template, region)
        if rule.startswith("E")
    ]


def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """The resources of CloudFormation type ``rtype``, by logical ID."""
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == rtype}


def props(template: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    """The ``Properties`` of every resource of type ``rtype``."""
    return [r.get("Properties", {}) for r in resources(template, rtype).values()]


def only(template: dict[str, Any], rtype: str) -> dict[str, Any]:
    """The ``Properties`` of the single resource of type ``rtype`` (asserts there is one)."""
    found = props(template, rtype)
    assert len(found) == 1, f"expected one {rtype}, found {len(found)}"
    return found[0]


def ref_id(value: Any) -> str:
    """The logical ID a ``{"Ref": ...}`` or ``{"Fn::GetAtt": [id, attr]}`` points to."""
    assert isinstance(value, dict), value
    if "Ref" in value:
        return str(value["Ref"])
    assert "Fn::GetAtt" in value, value
    return str(value["Fn::GetAtt"][0])
