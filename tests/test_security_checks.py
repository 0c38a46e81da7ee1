"""Every reference stack against every policy pack: nothing unacknowledged beyond KNOWN_OPEN.

The packs (cdk-nag AwsSolutions, NIST 800-53 r5, HIPAA Security, PCI DSS 3.2.1 and eks-secure's
``EksSecureChecks``) run inside the shared once-per-session synthesis of ``tests/synth.py``;
this module only reads their report, for the three reference patterns, cilium, istio and the
two isolation examples. ``KNOWN_OPEN`` lists the findings that are open, each with why and where
it gets fixed; it is empty: every finding is fixed or acknowledged in place with its reason. The
test fails on a finding that is not listed AND on a listed entry that no longer occurs.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass

import pytest
from synth import NAG_PACKS, Finding, Synth

from eks_secure.checks import check_template
from eks_secure.cluster.creator_role import MANAGED_POLICY_MAX_CHARS


@dataclass(frozen=True)
class Open:
    """A finding that is open today: the rule, the construct paths (globs) and why."""

    rule: str
    paths: tuple[str, ...]
    why: str

    def covers(self, finding: Finding) -> bool:
        """Whether ``finding`` is this open finding."""
        return finding.rule == self.rule and any(
            fnmatch.fnmatchcase(finding.path, p) for p in self.paths
        )


KNOWN_OPEN: tuple[Open, ...] = ()
"""Findings open today on the reference stacks: none. A finding is fixed, or acknowledged in
place with its reason (``eks_secure.nag``); an entry here needs a why and where it gets fixed."""


PATTERNS = [
    pytest.param(name, marks=pytest.mark.xdist_group(name))
    for name in (
        "base",
        "subnet-per-app",
        "private-nat",
        "cilium",
        "istio",
        "isolation",
        "isolation-pods",
    )
]


def _synth(request: pytest.FixtureRequest, pattern: str) -> Synth:
    result: Synth = request.getfixturevalue(pattern.replace("-", "_"))
    return result


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_pack_ran(request: pytest.FixtureRequest, pattern: str) -> None:
    result = _synth(request, pattern)
    assert result.nag_report() is not None
    assert set(NAG_PACKS) <= set(result.packs_ran)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_no_unacknowledged_finding_beyond_known_open(
    request: pytest.FixtureRequest, pattern: str
) -> None:
    result = _synth(request, pattern)
    assert result.synth_error is None, result.synth_error
    findings = result.findings()
    unexpected = sorted(
        f"{f.rule} {f.path}" for f in findings if not any(o.covers(f) for o in KNOWN_OPEN)
    )
    assert unexpected == [], "new findings: fix them or acknowledge them with a reason"
    stale = sorted(
        f"{o.rule} {o.paths}" for o in KNOWN_OPEN if not any(o.covers(f) for f in findings)
    )
    assert stale == [], "fixed: remove these KNOWN_OPEN entries"


def test_known_open_entries_say_why() -> None:
    rules = [(o.rule, o.paths) for o in KNOWN_OPEN]
    assert len(rules) == len(set(rules))
    for entry in KNOWN_OPEN:
        assert entry.rule.split("-")[0] in NAG_PACKS
        assert not entry.rule.startswith("AwsSolutions"), "AwsSolutions stays at zero"
        assert len(entry.why) > 40, entry.rule


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_cluster_stack_role_has_the_boundary_and_every_endpoint_a_policy(
    request: pytest.FixtureRequest, pattern: str
) -> None:
    """IAM1 and VPC2 hold on the templates themselves, not by acknowledgment: only the creator
    stack's three roles (the root of the delegation) are acknowledged."""
    result = _synth(request, pattern)
    creator = f"{result.deployment.creator_stack.artifact_id}.template.json"
    found = [
        (name, rule, logical_id)
        for name, template in result.templates.items()
        if name != creator
        for rule, logical_id in check_template(template)
        if rule in ("EksSecure-IAM1", "EksSecure-VPC2")
    ]
    assert found == []
    creator_roles = [
        k
        for k, r in result.templates[creator]["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
    ]
    assert len(creator_roles) == 3


@pytest.mark.parametrize("pattern", PATTERNS)
def test_creator_policies_are_managed_and_within_the_size_limit(
    request: pytest.FixtureRequest, pattern: str
) -> None:
    resources = _synth(request, pattern).creator_template["Resources"]
    assert not [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Policy"]
    managed = {k: r for k, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    assert len(managed) == 5  # boundary, three creator parts, deployer
    for key, policy in managed.items():
        text = json.dumps(policy["Properties"]["PolicyDocument"], separators=(",", ":"))
        assert len(text) < MANAGED_POLICY_MAX_CHARS, key
