"""The creator and deployer policies, as synthesized, deny the known privilege-escalation requests.

Each request is evaluated with the preflight's IAM evaluator against the identity policies read
from the base deployment's creator stack. Every denial has an allowed twin (the same call as
CloudFormation makes it for the cluster stack), so a test fails if a policy allows too much or
the evaluator denies everything.
"""

from __future__ import annotations

import functools

import pytest
from synth import Synth

from eks_secure.preflight.assembly import load
from eks_secure.preflight.check_iam import RolePolicies, find_role
from eks_secure.preflight.iam_eval import ContextValue, Request, evaluate

pytestmark = pytest.mark.xdist_group("base")

ACCOUNT = "111111111111"
REGION = "eu-west-1"
CLUSTER = "payments-prod"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/eks-secure/{CLUSTER}"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/eks-secure/{CLUSTER}-boundary"
OURS = {"aws:ResourceTag/eks-secure:cluster": CLUSTER}
TAG_REQUEST = {"aws:RequestTag/eks-secure:cluster": CLUSTER}
ASSETS = f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
STACKS = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack"


@functools.cache
def _role(outdir: str, name: str) -> RolePolicies:
    role = find_role(load(outdir), f"arn:aws:iam::{ACCOUNT}:role/eks-secure/{CLUSTER}-{name}")
    assert role is not None, f"role {name} not in the assembly"
    return role


def _allowed(
    base: Synth, role: str, action: str, resource: str, context: dict[str, ContextValue]
) -> bool:
    statements = _role(str(base.outdir), role).statements
    return evaluate(statements, Request(action, resource, context)).allowed


ESCALATIONS = [
    # (case, role, action, resource, context)
    ("admin role without the boundary", "creator", "iam:CreateRole", f"{ROLES}/admin", {}),
    (
        "role with another boundary",
        "creator",
        "iam:CreateRole",
        f"{ROLES}/admin",
        {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/wide-open"},
    ),
    (
        "inline policy on a role without the boundary",
        "creator",
        "iam:PutRolePolicy",
        f"{ROLES}/foreign",
        {},
    ),
    (
        "attach AdministratorAccess (even with the boundary)",
        "creator",
        "iam:AttachRolePolicy",
        f"{ROLES}/EksClusterRole",
        {
            "iam:PermissionsBoundary": BOUNDARY,
            "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
    ),
    (
        "re-trust the kubectl handler role",
        "creator",
        "iam:UpdateAssumeRolePolicy",
        f"{ROLES}/{CLUSTER}-cluster-EksClusterKubectlProviderHand-W5YI8DNBCHD1",
        OURS,
    ),
    (
        "remove a role's boundary",
        "creator",
        "iam:DeleteRolePermissionsBoundary",
        f"{ROLES}/{CLUSTER}-cluster-EksClusterRoleD18DF32F-DNYTFQCS8W10",
        {"iam:PermissionsBoundary": BOUNDARY},
    ),
    (
        "rewrite the boundary",
        "creator",
        "iam:CreatePolicyVersion",
        BOUNDARY,
        {},
    ),
    (
        "tag a foreign subnet",
        "creator",
        "ec2:CreateTags",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0foreign",
        TAG_REQUEST,
    ),
    (
        "delete a foreign subnet",
        "creator",
        "ec2:DeleteSubnet",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0foreign",
        {},
    ),
    (
        "create an internet gateway",
        "creator",
        "ec2:CreateInternetGateway",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:internet-gateway/*",
        TAG_REQUEST,
    ),
    (
        "allocate an elastic IP",
        "creator",
        "ec2:AllocateAddress",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:elastic-ip/*",
        TAG_REQUEST,
    ),
    (
        "share a snapshot",
        "creator",
        "ec2:ModifySnapshotAttribute",
        f"arn:aws:ec2:{REGION}::snapshot/snap-0foreign",
        {},
    ),
    (
        "read an instance's password",
        "creator",
        "ec2:GetPasswordData",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0foreign",
        {},
    ),
    (
        "tag a foreign KMS key",
        "creator",
        "kms:TagResource",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/foreign",
        {**TAG_REQUEST, "aws:ResourceTag/eks-secure:cluster": "other-cluster"},
    ),
    (
        "share a Lambda layer",
        "creator",
        "lambda:AddLayerVersionPermission",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{CLUSTER}-kubectllayer:1",
        {},
    ),
    (
        "write another deployment's assets",
        "deployer",
        "s3:PutObject",
        f"{ASSETS}/eks-secure/other-cluster/0123.zip",
        {},
    ),
    (
        "write this deployment's assets (the publishing role's job)",
        "deployer",
        "s3:PutObject",
        f"{ASSETS}/eks-secure/{CLUSTER}/0123.zip",
        {},
    ),
    (
        "read another deployment's template",
        "deployer",
        "s3:GetObject",
        f"{ASSETS}/eks-secure/other-cluster/0123.json",
        {},
    ),
    (
        "new user data in another deployment's launch template",
        "creator",
        "ec2:CreateLaunchTemplateVersion",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-0foreign",
        {"aws:ResourceTag/eks-secure:cluster": "other"},
    ),
    (
        "restart an instance to run changed user data",
        "creator",
        "ec2:StartInstances",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0ours",
        OURS,
    ),
    (
        "share a VPC endpoint service with another account",
        "creator",
        "ec2:ModifyVpcEndpointServicePermissions",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-endpoint-service/vpce-svc-0ours",
        OURS,
    ),
    (
        "a new stack with the cluster stack's prefix",
        "deployer",
        "cloudformation:CreateChangeSet",
        f"{STACKS}/{CLUSTER}-cluster-evil/*",
        {},
    ),
]

ALLOWED = [
    (
        "a cluster-stack role with the boundary",
        "creator",
        "iam:CreateRole",
        f"{ROLES}/{CLUSTER}-cluster-EksClusterRoleD18DF32F-DNYTFQCS8W10",
        {"iam:PermissionsBoundary": BOUNDARY},
    ),
    (
        "tags of a subnet being created",
        "creator",
        "ec2:CreateTags",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0new",
        {**TAG_REQUEST, "ec2:CreateAction": "CreateSubnet"},
    ),
    (
        "tags of this cluster's subnet",
        "creator",
        "ec2:CreateTags",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0ours",
        {**TAG_REQUEST, **OURS},
    ),
    (
        "new version of this cluster's launch template",
        "creator",
        "ec2:CreateLaunchTemplateVersion",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-0ours",
        OURS,
    ),
    (
        "delete this cluster's subnet",
        "creator",
        "ec2:DeleteSubnet",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0ours",
        OURS,
    ),
    (
        "read this deployment's template",
        "deployer",
        "s3:GetObject",
        f"{ASSETS}/eks-secure/{CLUSTER}/0123.json",
        {},
    ),
    (
        "change set of the cluster stack",
        "deployer",
        "cloudformation:CreateChangeSet",
        f"{STACKS}/{CLUSTER}-cluster/0000",
        {},
    ),
]


@pytest.mark.parametrize(
    ("role", "action", "resource", "context"),
    [pytest.param(*case[1:], id=case[0]) for case in ESCALATIONS],
)
def test_escalation_request_is_denied(
    base: Synth, role: str, action: str, resource: str, context: dict[str, ContextValue]
) -> None:
    assert not _allowed(base, role, action, resource, context)


@pytest.mark.parametrize(
    ("role", "action", "resource", "context"),
    [pytest.param(*case[1:], id=case[0]) for case in ALLOWED],
)
def test_legitimate_twin_is_allowed(
    base: Synth, role: str, action: str, resource: str, context: dict[str, ContextValue]
) -> None:
    assert _allowed(base, role, action, resource, context)


def test_every_cluster_stack_role_has_the_boundary(base: Synth) -> None:
    for name, template in base.templates.items():
        if name.startswith("Creator"):
            continue
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                boundary = resource["Properties"].get("PermissionsBoundary")
                assert boundary == {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/eks-secure/"
                    f"{CLUSTER}-boundary"
                }, f"{name} {logical_id}"
