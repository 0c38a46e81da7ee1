"""The IAM evaluator against the documented evaluation logic (AWS IAM User Guide examples)."""

from __future__ import annotations

import pytest

from eks_secure.preflight.iam_eval import Request, Statement, condition_matches, evaluate


def st(**kwargs: object) -> Statement:
    return Statement.from_json(kwargs, "test")


def test_implicit_deny_when_nothing_allows() -> None:
    assert not evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k")).allowed


def test_explicit_deny_overrides_allow() -> None:
    # "Policy evaluation logic": an explicit deny in any policy overrides any allow
    policies = [
        st(Effect="Allow", Action="s3:*", Resource="*"),
        st(Sid="NoDelete", Effect="Deny", Action="s3:DeleteObject", Resource="*"),
    ]
    decision = evaluate(policies, Request("s3:DeleteObject", "arn:aws:s3:::b/k"))
    assert not decision.allowed and decision.denied_by is not None
    assert decision.denied_by.sid == "NoDelete"
    assert evaluate(policies, Request("s3:GetObject", "arn:aws:s3:::b/k")).allowed


def test_action_wildcards_are_case_insensitive() -> None:
    policy = [st(Effect="Allow", Action="ec2:Describe*", Resource="*")]
    assert evaluate(policy, Request("EC2:describeSubnets", "*")).allowed
    assert not evaluate(policy, Request("ec2:DeleteSubnet", "*")).allowed


def test_resource_wildcard_and_segments() -> None:
    policy = [st(Effect="Allow", Action="iam:PassRole", Resource="arn:aws:iam::1:role/eks/*")]
    assert evaluate(policy, Request("iam:PassRole", "arn:aws:iam::1:role/eks/a")).allowed
    assert not evaluate(policy, Request("iam:PassRole", "arn:aws:iam::2:role/eks/a")).allowed
    # an action without resource-level permissions is requested on "*": a specific ARN misses
    assert not evaluate(policy, Request("iam:PassRole", "*")).allowed


def test_not_action_with_deny() -> None:
    # "NotAction with Deny": deny everything except IAM
    policies = [
        st(Effect="Allow", Action="*", Resource="*"),
        st(Effect="Deny", NotAction="iam:*", Resource="*"),
    ]
    assert evaluate(policies, Request("iam:GetRole", "*")).allowed
    assert not evaluate(policies, Request("s3:GetObject", "*")).allowed


def test_negated_operator_matches_a_missing_key() -> None:
    # "Condition operators": StringNotEquals is true when the key is absent
    assert condition_matches("StringNotEquals", None, ["CUSTOMER_ROUTED"])
    assert not condition_matches("StringEquals", None, ["CUSTOMER_ROUTED"])
    assert condition_matches("StringEqualsIfExists", None, ["t3.micro"])


def test_multiple_values_or_and_negated_and() -> None:
    assert condition_matches("StringEquals", "b", ["a", "b"])
    assert not condition_matches("StringNotEquals", "b", ["a", "b"])
    assert condition_matches("StringNotEquals", "c", ["a", "b"])


def test_set_operators() -> None:
    # "Multivalued context keys": ForAllValues is true for an empty/missing key
    assert condition_matches("ForAllValues:StringEquals", None, ["a"])
    assert condition_matches("ForAllValues:StringEquals", ["a", "b"], ["a", "b", "c"])
    assert not condition_matches("ForAllValues:StringEquals", ["a", "x"], ["a", "b"])
    assert not condition_matches("ForAnyValue:StringEquals", None, ["a"])
    assert condition_matches("ForAnyValue:StringLike", ["x", "ab"], ["a*"])


def test_null_bool_numeric_arn() -> None:
    assert condition_matches("Null", None, ["true"])
    assert not condition_matches("Null", "v", ["true"])
    assert condition_matches("Bool", True, ["true"])
    assert condition_matches("NumericLessThan", "3599", ["3600"])
    assert not condition_matches("NumericLessThan", "3600", ["3600"])
    assert condition_matches("ArnLike", "arn:aws:iam::1:role/x", ["arn:aws:iam::*:role/*"])
    assert condition_matches("StringEqualsIgnoreCase", "ABC", ["abc"])


def test_conditions_in_one_statement_are_anded() -> None:
    policy = [
        st(
            Sid="Tagged",
            Effect="Allow",
            Action="kms:CreateKey",
            Resource="*",
            Condition={
                "StringEquals": {"aws:RequestTag/team": "a"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
            },
        )
    ]
    ok = {"aws:RequestTag/team": "a", "aws:TagKeys": ["team"]}
    assert evaluate(policy, Request("kms:CreateKey", "*", ok)).allowed
    extra = {"aws:RequestTag/team": "a", "aws:TagKeys": ["team", "other"]}
    decision = evaluate(policy, Request("kms:CreateKey", "*", extra))
    assert not decision.allowed
    assert "Tagged" in decision.culprit() and "aws:TagKeys" in decision.culprit()


def test_condition_keys_are_case_insensitive() -> None:
    policy = [
        st(
            Effect="Allow",
            Action="iam:PassRole",
            Resource="*",
            Condition={"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
        )
    ]
    ctx = {"IAM:passedtoservice": "eks.amazonaws.com"}
    assert evaluate(policy, Request("iam:PassRole", "arn:aws:iam::1:role/r", ctx)).allowed


@pytest.mark.parametrize("unsupported", ["DateLessThan"])
def test_unsupported_operator_is_loud(unsupported: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        condition_matches(unsupported, "2020-01-01T00:00:00Z", ["2021-01-01T00:00:00Z"])
