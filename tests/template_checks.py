"""Shared checks on synthesized CloudFormation templates (real tools, no mocks)."""

from __future__ import annotations

import functools
import json
from typing import Any

from cfnlint.api import lint


def cfn_lint_findings(template: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's error-level findings (E rules) for ``template``.

    Linted once per test process and template text: a pattern's module and the contract suite
    check the same session templates (about 20 to 45 s of cfn-lint per pattern)."""
    return list(_lint(json.dumps(template, sort_keys=True), region))


@functools.cache
def _lint(template_text: str, region: str) -> tuple[str, ...]:
    matches = lint(template_text, regions=[region])
    return tuple(str(m) for m in matches if m.rule.id.startswith("E"))


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
