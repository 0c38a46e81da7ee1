"""The break-glass role: explicit trust, MFA (or an MFA session tag), alerts on every use.

The trust policies are read from templates and decided with the preflight's IAM evaluator
(:func:`~eks_secure.preflight.iam_eval.trust_policy_statements`) on sample request contexts,
each denial next to an allowed twin, so a test fails if the trust is too wide or the evaluator
denies everything. The variant with listed users, an IAM Identity Center role and a session
tag is a creator stack alone (no cluster): small enough to build once per module.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from synth import Synth

from eks_secure.cluster.break_glass_alerts import ACCESS_ENTRY_EVENTS, ASSUME_ROLE_EVENTS
from eks_secure.cluster.creator_role import ClusterCreatorRole
from eks_secure.errors import ConfigError
from eks_secure.preflight.iam_eval import (
    ContextValue,
    Request,
    Statement,
    evaluate,
    trust_policy_statements,
)

pytestmark = pytest.mark.xdist_group("base")

ACCOUNT = "111111111111"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
SSO = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_BreakGlass_0123456789abcdef"
)
OTHER = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-secure/payments-prod-break-glass"
MFA_RECENT: dict[str, ContextValue] = {
    "aws:MultiFactorAuthPresent": True,
    "aws:MultiFactorAuthAge": 120,
}
TAGGED: dict[str, ContextValue] = {"aws:PrincipalTag/mfa": "true"}


def _resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == rtype}


def _trust(template: dict[str, Any]) -> list[Statement]:
    (role,) = [
        r
        for r in _resources(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "payments-prod-break-glass"
    ]
    return trust_policy_statements(role["Properties"]["AssumeRolePolicyDocument"])


def _may_assume(trust: list[Statement], caller: str, context: dict[str, ContextValue]) -> bool:
    request = Request("sts:AssumeRole", ROLE, {"aws:PrincipalArn": caller, **context})
    return evaluate(trust, request).allowed


@pytest.fixture(scope="module")
def variant() -> dict[str, Any]:
    """A creator stack trusting a user and an Identity Center role, with a session tag."""
    app = cdk.App()
    stack = cdk.Stack(app, "Creator", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    ClusterCreatorRole(
        stack,
        "Roles",
        cluster_name="payments-prod",
        cluster_stack_name="payments-prod-cluster",
        deployer_principals=[iam.ArnPrincipal(ADMIN)],
        break_glass_principals=[iam.ArnPrincipal(ALICE), iam.ArnPrincipal(SSO)],
        break_glass_session_tag=("mfa", "true"),
    )
    return Template.from_stack(stack).to_json()


# -- the reference deployment: trusts the admins (no break_glass_trusted_arns) -----------------


def test_default_trust_is_the_admins_with_recent_mfa(base: Synth) -> None:
    trust = _trust(base.creator_template)
    assert base.config.break_glass_trusted_arns == ()
    assert _may_assume(trust, ADMIN, MFA_RECENT)
    assert not _may_assume(trust, ADMIN, {})  # no MFA keys (a SAML or SSO session)
    assert not _may_assume(trust, ADMIN, {**MFA_RECENT, "aws:MultiFactorAuthPresent": False})
    assert not _may_assume(trust, ADMIN, {**MFA_RECENT, "aws:MultiFactorAuthAge": 7200})
    assert not _may_assume(trust, OTHER, MFA_RECENT)  # any other principal of the account
    assert not _may_assume(trust, ADMIN, TAGGED)  # no session tag configured


def test_trust_never_names_an_account(base: Synth) -> None:
    (role,) = [
        r
        for r in _resources(base.creator_template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "payments-prod-break-glass"
    ]
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        principals = statement["Principal"]["AWS"]
        for principal in principals if isinstance(principals, list) else [principals]:
            assert isinstance(principal, str) and not principal.endswith(":root"), principal


# -- listed users and a federated role with an MFA session tag ---------------------------------


def test_iam_user_needs_recent_mfa(variant: dict[str, Any]) -> None:
    trust = _trust(variant)
    assert _may_assume(trust, ALICE, MFA_RECENT)
    assert not _may_assume(trust, ALICE, {})
    assert not _may_assume(trust, ALICE, {**MFA_RECENT, "aws:MultiFactorAuthAge": 3600})
    # a user's own IAM tags are aws:PrincipalTag too: the tag route is for roles only
    assert not _may_assume(trust, ALICE, TAGGED)


def test_federated_role_needs_the_mfa_session_tag(variant: dict[str, Any]) -> None:
    trust = _trust(variant)
    assert _may_assume(trust, SSO, TAGGED)  # no MFA keys in an Identity Center session
    assert not _may_assume(trust, SSO, {})
    assert not _may_assume(trust, SSO, {"aws:PrincipalTag/mfa": "false"})
    assert not _may_assume(trust, OTHER, TAGGED)  # tagged, but not listed
    assert not _may_assume(trust, OTHER, MFA_RECENT)


@pytest.mark.parametrize(
    "principal",
    [iam.AccountRootPrincipal(), iam.ArnPrincipal(f"arn:aws:iam::{ACCOUNT}:root")],
    ids=["AccountRootPrincipal", "root ARN"],
)
def test_an_account_root_is_refused(principal: iam.IPrincipal) -> None:
    stack = cdk.Stack(cdk.App(), "Creator")
    with pytest.raises(ConfigError) as info:
        ClusterCreatorRole(
            stack,
            "Roles",
            cluster_name="demo",
            cluster_stack_name="demo-cluster",
            deployer_principals=[iam.ArnPrincipal(ADMIN)],
            break_glass_principals=[principal],
        )
    assert info.value.field == "ClusterCreatorRole.break_glass_principals[0]"


def test_no_break_glass_principal_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Creator")
    with pytest.raises(ConfigError) as info:
        ClusterCreatorRole(
            stack,
            "Roles",
            cluster_name="demo",
            cluster_stack_name="demo-cluster",
            deployer_principals=[iam.ArnPrincipal(ADMIN)],
            break_glass_principals=[],
        )
    assert info.value.field == "ClusterCreatorRole.break_glass_principals"


# -- alerts -------------------------------------------------------------------------------------


def _rule(base: Synth, name: str) -> dict[str, Any]:
    (rule,) = [
        r["Properties"]
        for r in _resources(base.cluster_template, "AWS::Events::Rule").values()
        if r["Properties"]["Name"] == name
    ]
    return rule


def test_every_break_glass_assumption_is_matched(base: Synth) -> None:
    rule = _rule(base, "payments-prod-break-glass-assumed")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.sts"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert set(pattern["detail"]["eventName"]) == set(ASSUME_ROLE_EVENTS)
    (arn,) = pattern["detail"]["requestParameters"]["roleArn"]
    rendered = base.deployment.resolve(arn) if not isinstance(arn, str) else arn
    assert "role/eks-secure/payments-prod-break-glass" in str(rendered)
    assert rule["State"] == "ENABLED"


def test_access_entry_changes_of_this_cluster_are_matched(base: Synth) -> None:
    pattern = _rule(base, "payments-prod-access-entry-changes")["EventPattern"]
    assert pattern["source"] == ["aws.eks"]
    assert set(pattern["detail"]["eventName"]) == set(ACCESS_ENTRY_EVENTS)
    names = [next(iter(o["requestParameters"].values())) for o in pattern["detail"]["$or"]]
    assert names == [["payments-prod"], ["payments-prod"]]


def test_rules_and_alarms_notify_an_encrypted_topic(base: Synth) -> None:
    template = base.cluster_template
    (topic_id, topic), *more = _resources(template, "AWS::SNS::Topic").items()
    assert not more
    assert topic["Properties"]["TopicName"] == "payments-prod-break-glass-alerts"
    assert "KmsMasterKeyId" in topic["Properties"]
    for name in ("payments-prod-break-glass-assumed", "payments-prod-access-entry-changes"):
        targets = _rule(base, name)["Targets"]
        assert [t["Arn"] for t in targets] == [{"Ref": topic_id}]
    alarms = [a["Properties"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()]
    watched = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a["Namespace"] == "AWS/Events"}
    assert len(watched) == 2
    for alarm in alarms:
        if alarm["Namespace"] == "AWS/Events":
            assert alarm["AlarmActions"] == [{"Ref": topic_id}]
            assert alarm["MetricName"] == "TriggeredRules"
    (policy,) = _resources(template, "AWS::SNS::TopicPolicy").values()
    effects = {s["Effect"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert effects == {"Allow", "Deny"}  # EventBridge may publish; plain HTTP is denied


def test_creator_may_write_only_the_alert_resources(base: Synth) -> None:
    statements = [
        s
        for p in _resources(base.creator_template, "AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "BreakGlassAlerts"
    ]
    (statement,) = statements
    assert "sns:Subscribe" not in statement["Action"]
    resources = [base.deployment.resolve(r) for r in statement["Resource"]]
    text = str(resources)
    for part in (":rule/payments-prod-*", ":payments-prod-*", ":alarm:payments-prod-*"):
        assert part in text, part
