"""``examples/isolation.yaml``: every isolation and audit feature on (subnet-per-app).

Synthesized once (fixture ``isolation``); the preflight, cfn-lint and cdk-nag run on it, and the
templates are checked for what each feature promises.
"""

from __future__ import annotations

from typing import Any

import pytest
from synth import Synth, preflight
from template_checks import cfn_lint_findings, only, props, ref_id, resources
from test_preflight_patterns import _open

from eks_secure.cluster.creator_role import audit_bucket_name
from eks_secure.k8s.load_balancers import POLICY_NAME

pytestmark = pytest.mark.xdist_group("isolation")


def test_synthesis_succeeds_with_cdk_nag_clean(isolation: Synth) -> None:
    assert isolation.synth_error is None, isolation.synth_error
    assert isolation.nag_errors() == []


def test_preflight_passes(isolation: Synth) -> None:
    report = preflight(isolation)
    unexpected = [p.format() for p in report.problems if not _open(p)]
    assert unexpected == [], "\n".join(unexpected)
    assert {"iam", "deployer", "network", "names"} <= set(report.checked)


def test_cfn_lint_has_no_errors(isolation: Synth) -> None:
    for name, template in isolation.templates.items():
        assert cfn_lint_findings(template, isolation.config.region) == [], name


# -- service load balancers ----------------------------------------------------------------


def test_load_balancer_policy_ships_after_kyverno(isolation: Synth) -> None:
    (policy,) = isolation.manifests["LoadBalancerPolicy"]
    assert policy["metadata"]["name"] == POLICY_NAME
    permission = policy["spec"]["rules"][1]
    assert permission["exclude"]["any"][0]["resources"]["namespaces"] == ["payments-api"]
    template = isolation.cluster_template
    (manifest_id,) = [
        k
        for k, v in resources(template, "Custom::AWSCDK-EKS-KubernetesResource").items()
        if POLICY_NAME in str(v["Properties"]["Manifest"])
    ]
    depends = template["Resources"][manifest_id].get("DependsOn", [])
    kyverno = [k for k in resources(template, "Custom::AWSCDK-EKS-HelmChart") if "Kyverno" in k]
    assert kyverno and set(kyverno) <= set(depends)


# -- audit ---------------------------------------------------------------------------------


def _log_group(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in resources(template, "AWS::Logs::LogGroup").items()
        if v["Properties"].get("LogGroupName") == "/aws/eks/payments-prod/cluster"
    ]
    return found


def test_control_plane_log_group_exists_before_the_cluster(isolation: Synth) -> None:
    template = isolation.cluster_template
    logical_id, group = _log_group(template)
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    key_id = ref_id(group["Properties"]["KmsKeyId"])
    key = template["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    (logs_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ControlPlaneLogGroupOnly"
    ]
    assert logs_statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    context = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert str(context).endswith(":log-group:/aws/eks/payments-prod/cluster")
    (cluster_id,) = resources(template, "AWS::EKS::Cluster")
    assert logical_id in template["Resources"][cluster_id]["DependsOn"]


def test_trail_validates_and_encrypts_into_its_own_bucket(isolation: Synth) -> None:
    template = isolation.cluster_template
    trail = only(template, "AWS::CloudTrail::Trail")
    assert trail["TrailName"] == "payments-prod-audit"
    assert trail["EnableLogFileValidation"] is True
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["IsLogging"] is True
    key = template["Resources"][ref_id(trail["KMSKeyId"])]
    assert key["Properties"]["EnableKeyRotation"] is True
    bucket_id = ref_id(trail["S3BucketName"])
    bucket = template["Resources"][bucket_id]["Properties"]
    assert bucket["BucketName"] == audit_bucket_name("payments-prod", "111111111111")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (policy,) = [
        p for p in props(template, "AWS::S3::BucketPolicy") if ref_id(p["Bucket"]) == bucket_id
    ]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*"
        for s in denies
    )


def test_creator_role_gets_the_trail_statements(isolation: Synth) -> None:
    statements = {
        s.get("Sid", ""): s
        for p in props(isolation.creator_template, "AWS::IAM::ManagedPolicy")
        for s in p["PolicyDocument"]["Statement"]
    }
    trail = statements["AuditTrailAndItsBucket"]
    assert len(trail["Resource"]) == 3
    assert all("payments-prod-audit" in str(r) for r in trail["Resource"])
    assert statements["AuditTrailDescribe"]["Action"] == "cloudtrail:DescribeTrails"
