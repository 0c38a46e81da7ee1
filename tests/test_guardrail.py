"""The organisation guardrail: SCP structure, its conditions on sample requests, the construct."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from iam_eval import EVALUATORS, condition_matches

from eks_secure.errors import ConfigError
from eks_secure.org.guardrail import EksGuardrailPolicy
from eks_secure.org.scp import SCP_MAX_CHARACTERS, eks_guardrail_document

pytestmark = pytest.mark.xdist_group("constructs")

ROLE = "arn:aws:iam::111111111111:role/payments-prod-creator"
BREAK_GLASS = "arn:aws:iam::*:role/org-break-glass"


def _request(**keys: Any) -> dict[str, Any]:
    return {"aws:PrincipalArn": ROLE, **keys}


def test_document_structure() -> None:
    document = eks_guardrail_document()
    assert document["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert all(s["Effect"] == "Deny" and s["Resource"] == "*" for s in statements.values())
    create, update, public, default = (
        statements["DenyCreateClusterWithoutCustomerRoutedEgress"],
        statements["DenyUpdateToOtherEgressMode"],
        statements["DenyPublicEndpoint"],
        statements["DenyCreateClusterWithDefaultEndpointAccess"],
    )
    assert create["Action"] == "eks:CreateCluster"
    assert create["Condition"] == {
        "StringNotEquals": {"eks:controlPlaneEgressMode": ["CUSTOMER_ROUTED"]}
    }
    assert update["Action"] == "eks:UpdateClusterConfig"
    assert update["Condition"] == {
        "StringNotEquals": {"eks:controlPlaneEgressMode": ["CUSTOMER_ROUTED"]},
        "Null": {"eks:controlPlaneEgressMode": "false"},
    }
    assert public["Action"] == ["eks:CreateCluster", "eks:UpdateClusterConfig"]
    assert public["Condition"] == {"Bool": {"eks:endpointPublicAccess": "true"}}
    assert default["Action"] == "eks:CreateCluster"
    assert default["Condition"] == {"Null": {"eks:endpointPublicAccess": "true"}}
    assert len(json.dumps(document, separators=(",", ":"))) < SCP_MAX_CHARACTERS


PRIVATE = {"eks:endpointPublicAccess": False}

CASES = [
    # (action, request context keys, denying statements)
    (
        "eks:CreateCluster",
        {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED", **PRIVATE},
        [],
    ),
    (
        "eks:CreateCluster",
        {"eks:controlPlaneEgressMode": "AWS_MANAGED", **PRIVATE},
        ["DenyCreateClusterWithoutCustomerRoutedEgress"],
    ),
    ("eks:CreateCluster", PRIVATE, ["DenyCreateClusterWithoutCustomerRoutedEgress"]),
    (
        "eks:CreateCluster",
        {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED", "eks:endpointPublicAccess": True},
        ["DenyPublicEndpoint"],
    ),
    (
        "eks:CreateCluster",
        {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"},
        ["DenyCreateClusterWithDefaultEndpointAccess"],
    ),
    ("eks:UpdateClusterConfig", {}, []),  # e.g. a logging-only update, if it carries no key
    ("eks:UpdateClusterConfig", {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}, []),
    (
        "eks:UpdateClusterConfig",
        {"eks:controlPlaneEgressMode": "AWS_MANAGED"},
        ["DenyUpdateToOtherEgressMode"],
    ),
    ("eks:UpdateClusterConfig", {"eks:endpointPublicAccess": "true"}, ["DenyPublicEndpoint"]),
    ("eks:UpdateClusterConfig", {"eks:endpointPublicAccess": "false"}, []),
    ("eks:DescribeCluster", {"eks:endpointPublicAccess": True}, []),
]


@pytest.mark.parametrize("evaluator", sorted(EVALUATORS))
@pytest.mark.parametrize(("action", "keys", "expected"), CASES)
def test_conditions_on_sample_requests(
    evaluator: str, action: str, keys: dict[str, Any], expected: list[str]
) -> None:
    denied_by = EVALUATORS[evaluator]
    assert denied_by(eks_guardrail_document(), action, _request(**keys)) == expected


@pytest.mark.parametrize("evaluator", sorted(EVALUATORS))
def test_exempt_principals_and_extra_modes(evaluator: str) -> None:
    denied_by = EVALUATORS[evaluator]
    document = eks_guardrail_document(
        allowed_egress_modes=["CUSTOMER_ROUTED", "CUSTOMER_ISOLATED"],
        exempt_principal_arns=[BREAK_GLASS],
    )
    isolated = {"eks:controlPlaneEgressMode": "CUSTOMER_ISOLATED", **PRIVATE}
    assert denied_by(document, "eks:CreateCluster", _request(**isolated)) == []
    public = {"eks:controlPlaneEgressMode": "AWS_MANAGED", "eks:endpointPublicAccess": True}
    assert len(denied_by(document, "eks:CreateCluster", _request(**public))) == 2
    exempt = {**public, "aws:PrincipalArn": "arn:aws:iam::222222222222:role/org-break-glass"}
    assert denied_by(document, "eks:CreateCluster", exempt) == []


def test_the_evaluator_follows_iam_semantics_for_absent_keys() -> None:
    """Why the SCP avoids ...IfExists on its update statements (see eks_secure/org/scp.py)."""
    assert condition_matches("StringNotEquals", "k", ["a"], {}) is True
    assert condition_matches("StringNotEqualsIfExists", "k", ["a"], {}) is True
    assert condition_matches("StringEquals", "k", ["a"], {}) is False
    assert condition_matches("StringEqualsIfExists", "k", ["a"], {}) is True
    assert condition_matches("Bool", "k", "true", {}) is False
    assert condition_matches("BoolIfExists", "k", "true", {}) is True
    assert condition_matches("Null", "k", "true", {}) is True
    assert condition_matches("Null", "K", "false", {"k": "x"}) is True
    assert condition_matches("Bool", "k", "true", {"k": True}) is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"allowed_egress_modes": []}, "allowed_egress_modes"),
        ({"allowed_egress_modes": ["CUSTOMER_ROUTE"]}, "allowed_egress_modes[0]"),
        ({"allowed_egress_modes": ["AWS_MANAGED"]}, "allowed_egress_modes"),
        ({"exempt_principal_arns": ["break-glass"]}, "exempt_principal_arns[0]"),
        (
            {
                "exempt_principal_arns": [
                    f"arn:aws:iam::111111111111:role/r{i:03}" for i in range(200)
                ]
            },
            "exempt_principal_arns",
        ),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        eks_guardrail_document(**kwargs)
    assert exc.value.field == field


def _management_stack() -> cdk.Stack:
    return cdk.Stack(
        cdk.App(), "Guardrail", env=cdk.Environment(account="999999999999", region="us-east-1")
    )


def test_construct_creates_the_organizations_policy() -> None:
    stack = _management_stack()
    guardrail = EksGuardrailPolicy(stack, "Guardrail", target_ids=["ou-ab12-cdef3456"])
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Organizations::Policy", 1)
    template.has_resource_properties(
        "AWS::Organizations::Policy",
        {
            "Type": "SERVICE_CONTROL_POLICY",
            "Name": "eks-secure-eks-guardrail",
            "TargetIds": ["ou-ab12-cdef3456"],
            "Content": guardrail.document,
        },
    )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_construct_warns_when_unattached_and_refuses_bad_targets() -> None:
    stack = _management_stack()
    EksGuardrailPolicy(stack, "Guardrail")
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("attached to no"))
    with pytest.raises(ConfigError) as exc:
        EksGuardrailPolicy(_management_stack(), "Bad", target_ids=["r-ab12", "Production"])
    assert exc.value.field == "EksGuardrailPolicy.target_ids[1]"
