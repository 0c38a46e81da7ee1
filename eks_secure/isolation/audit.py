"""``AuditTrail``: a CloudTrail trail for accounts that have none (seed 003, opt-in)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from eks_secure.cluster.creator_role import audit_bucket_name, audit_trail_name
from eks_secure.errors import ConfigError
from eks_secure.keys import rotating_key
from eks_secure.nag import acknowledge, acknowledge_compliance


class AuditTrail(Construct):
    """A multi-region CloudTrail trail with KMS-encrypted, validated log files in its own bucket.

    * log file validation on (hourly digest files prove that no log file was changed or removed);
    * log files encrypted with a rotating KMS key only CloudTrail (for this trail) may encrypt
      with and only this account may decrypt with;
    * a bucket of its own: public access blocked, TLS only (``aws:SecureTransport``), versioned,
      S3-managed encryption at rest beneath the KMS-encrypted log files, object ownership
      enforced, log files expiring after ``retention_days``, kept when the stack is deleted;
    * management events of every region, global service events (IAM, STS) included.

    :param cluster_name: names the trail ``<cluster>-audit`` and its bucket.
    :param retention_days: days the bucket keeps log files. Default: 365.
    """

    def __init__(
        self, scope: Construct, id: str, *, cluster_name: str, retention_days: int = 365
    ) -> None:
        if not 1 <= retention_days <= 3653:
            raise ConfigError(
                "AuditTrail.retention_days",
                f"{retention_days} is outside 1..3653",
                "keep log files between one day and ten years",
            )
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        name = audit_trail_name(cluster_name)
        trail_arn = f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{name}"
        self.key = rotating_key(
            self, "Key", description=f"Encryption of the CloudTrail log files of trail {name}"
        )
        """KMS key of the log files (rotation on)."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailEncryptsThisTrail",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                },
            )
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=audit_bucket_name(cluster_name, stack.account),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                )
            ],
            # kept on stack deletion; removed when its own creation is rolled back (if empty)
            removal_policy=cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        """The trail's own bucket ``<cluster>-audit-<account>``."""
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "The bucket holds only CloudTrail log files, whose integrity log file validation "
            "proves; server access logs would need a further bucket of their own.",
        )
        acknowledge_compliance(
            self.bucket,
            "S3BucketLoggingEnabled",
            "The bucket holds only CloudTrail log files, whose integrity log file validation "
            "proves; server access logs would need a further bucket of their own.",
        )
        acknowledge_compliance(
            self.bucket,
            "S3BucketReplicationEnabled",
            "The trail is this account's own fallback for accounts without an organization "
            "trail; a replica needs a second bucket in another region or account, which the "
            "organization's log-archive account (an organization trail) provides instead. "
            "Versioning and log file validation protect the files in place.",
        )
        acknowledge_compliance(
            self.bucket,
            "S3DefaultEncryptionKMS",
            "CloudTrail writes every log file SSE-KMS encrypted with the trail's own key "
            "(Trail.encryption_key, kms_key_id in the template); the bucket default (SSE-S3) "
            "only applies to objects written without a key, such as the digest files. A KMS "
            "bucket default would need the key policy to admit S3 encryption contexts too.",
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=name,
            bucket=self.bucket,
            encryption_key=self.key,
            enable_file_validation=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            send_to_cloud_watch_logs=False,
        )
        """The trail."""
        acknowledge_compliance(
            self.trail,
            "CloudTrailCloudWatchLogsEnabled",
            "The trail's management events reach EventBridge without CloudWatch Logs (the "
            "break-glass and access-entry alarms match them there); the log files stay in the "
            "validated, KMS-encrypted bucket. A CloudWatch Logs copy would double the ingestion "
            "cost and add nothing the alarms need.",
        )
        self.trail.node.add_dependency(self.key)
