"""The KMS keys eks-secure creates: one rule for all of them (rotation on, kept on delete), and
the key-policy statement that lets CloudWatch Logs use a key for named log groups."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def rotating_key(scope: Construct, id: str, *, description: str) -> kms.Key:
    """A customer-managed key with yearly rotation, retained when its stack is deleted (data it
    encrypted, such as logs and secrets, may outlive the stack)."""
    return kms.Key(
        scope,
        id,
        enable_key_rotation=True,
        description=description,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def allow_cloudwatch_logs(key: kms.Key, log_group_arn: str, *, sid: str | None = None) -> None:
    """Let CloudWatch Logs of the key's region use ``key`` for the log groups ``log_group_arn``
    matches (``kms:EncryptionContext:aws:logs:arn``, wildcards allowed)."""
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
        )
    )
