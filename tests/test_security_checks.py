"""Every reference stack against every policy pack: nothing unacknowledged beyond KNOWN_OPEN.

The packs (cdk-nag AwsSolutions, NIST 800-53 r5, HIPAA Security, PCI DSS 3.2.1 and eks-secure's
``EksSecureChecks``) run inside the shared once-per-session synthesis of ``tests/synth.py``;
this module only reads their report. ``KNOWN_OPEN`` lists the findings that are open today,
each with why and where it gets fixed. The test
fails on a finding that is not listed AND on a listed entry that no longer occurs, so each fix
must also empty its entry. The goal is an empty ``KNOWN_OPEN``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pytest
from synth import NAG_PACKS, Finding, Synth

COMPLIANCE = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


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


def _compliance(
    rule: str, paths: tuple[str, ...], why: str, packs: tuple[str, ...] = COMPLIANCE
) -> list[Open]:
    return [Open(f"{pack}-{rule}", paths, why) for pack in packs]


KUBECTL_LAMBDAS = (
    "Cluster/Eks/Cluster/KubectlProvider/Handler/Resource",
    "Cluster/Eks/Cluster/KubectlProvider/Provider/framework-onEvent/Resource",
)
KUBECTL_LOG_GROUPS = tuple(p.replace("/Resource", "/LogGroup/Resource") for p in KUBECTL_LAMBDAS)
KUBECTL_POLICIES = tuple(
    p.replace("/Resource", "/ServiceRole/DefaultPolicy/Resource") for p in KUBECTL_LAMBDAS
)

KNOWN_OPEN: tuple[Open, ...] = (
    # --- eks-secure's own pack: fixed by the "Roles that cannot escalate" and "Guarded
    # endpoints" parts of issue 9 (another helper); the lead removes these entries then.
    Open(
        "EksSecure-IAM1",
        ("*",),
        "no eks-secure role has a permissions boundary yet (creator, deployer, break-glass, "
        "cluster, node, flow-log, kubectl-handler and CDK custom-resource roles); issue 9 "
        "requires one created by the creator stack on every role the creator creates",
    ),
    Open(
        "EksSecure-VPC2",
        ("Cluster/Network/PrivateEndpoints/*",),
        "the 14 VPC endpoints have no endpoint policy yet (eks_secure/network/endpoints.py); "
        "issue 9 scopes each, and the S3 gateway endpoint to the buckets the cluster needs",
    ),
    # --- the creator and deployer policies (eks_secure/cluster/creator_role.py, being
    # restructured by the roles work of issue 9).
    *_compliance(
        "IAMNoInlinePolicy",
        ("Creator/Roles/CreatorPolicy/Resource", "Creator/Roles/DeployerPolicy/Resource"),
        "the creator and deployer permissions are iam.Policy (inline) objects; make them "
        "customer-managed policies, or acknowledge with the reason in creator_role.py",
    ),
    *_compliance(
        "IAMPolicyNoStatementsWithFullAccess",
        ("Creator/Roles/CreatorPolicy/Resource",),
        "the creator policy grants service-wide wildcards (logs:*, lambda:* on layers...) that "
        "issue 9 asks to narrow",
    ),
    # --- the kubectl handler and provider Lambdas aws_eks_v2 creates (eks_secure/cluster/
    # cluster.py owns their acknowledgments; not this helper's file).
    *_compliance(
        "IAMNoInlinePolicy",
        KUBECTL_POLICIES,
        "aws_eks_v2 writes the kubectl handler's permissions as the roles' DefaultPolicy; "
        "acknowledge in SecureCluster._acknowledge_cdk_managed_findings",
    ),
    *_compliance(
        "LambdaConcurrency",
        KUBECTL_LAMBDAS,
        "CloudFormation-driven custom-resource Lambdas; acknowledge (reserved concurrency "
        "would only risk throttling a deployment)",
        packs=("NIST.800.53.R5", "HIPAA.Security"),
    ),
    *_compliance(
        "LambdaDLQ",
        KUBECTL_LAMBDAS,
        "invoked synchronously by the provider framework, which reports failures to "
        "CloudFormation; a DLQ never receives anything; acknowledge",
        packs=("NIST.800.53.R5", "HIPAA.Security"),
    ),
    *_compliance(
        "CloudWatchLogGroupEncrypted",
        KUBECTL_LOG_GROUPS,
        "the kubectl handler's log groups have no KMS key; fix by encrypting them with a "
        "cluster-tagged key (SecureCluster creates the log groups' settings)",
    ),
)
"""Findings open today on the reference stacks; the lead empties this as fixes land."""


PATTERNS = [
    pytest.param(name, marks=pytest.mark.xdist_group(name))
    for name in ("base", "subnet-per-app", "private-nat")
]


def _synth(request: pytest.FixtureRequest, pattern: str) -> Synth:
    result: Synth = request.getfixturevalue(pattern.replace("-", "_"))
    return result


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_pack_ran(request: pytest.FixtureRequest, pattern: str) -> None:
    report = _synth(request, pattern).nag_report()
    assert report is not None
    assert set(NAG_PACKS) <= {p["pluginName"] for p in report["pluginReports"]}


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
