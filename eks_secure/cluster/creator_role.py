"""The dedicated per-cluster creator role, its deploy role and the break-glass role.

EKS used to give whoever called ``CreateCluster`` permanent cluster-admin. eks-secure creates each
cluster with a dedicated role that CloudFormation acts as (the cluster stack's execution role),
turns the bootstrap creator-admin grant off, and keeps a separate MFA-protected break-glass role
with an explicit access entry for emergencies. ``docs/creator-role-runbook.md`` is the runbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure.cluster.tagging import CreatorStackSynthesizer
from eks_secure.errors import ConfigError
from eks_secure.nag import acknowledge, acknowledge_compliance, acknowledge_wildcards
from eks_secure.preflight.requests import BOUNDARY_KEYED

WILDCARD_REASONS: dict[str, str] = {
    "ThisClusterOnly": "eks:* is limited to this cluster's own ARNs (cluster, node groups, "
    "add-ons, access entries); the names after the cluster are chosen by EKS.",
    "EksRead": "read-only EKS calls (describe add-on versions, list "
    "clusters) take no cluster-scoped resource the role could be limited to.",
    "NetworkCreateAndRead": "EC2 create/describe calls cannot be scoped to resources that do "
    "not exist yet; deletes are limited to resources tagged with this cluster.",
    "NetworkDeleteOnlyTagged": "destructive EC2 calls are allowed only on resources carrying "
    "this cluster's eks-secure:cluster tag.",
    "CreateStackRolesWithBoundary": "roles under this cluster's IAM path (every role of the "
    "cluster stack), and only with this cluster's permissions boundary.",
    "ManageStackRoles": "roles under this cluster's IAM path (every role of the cluster stack).",
    "StackInstanceProfiles": "instance profiles under this cluster's IAM path.",
    "BoundaryClusterServices": "the boundary caps the cluster stack's roles at the services "
    "EKS nodes, the cluster role, the kubectl handler and flow logs use; the identity "
    "policies of each role narrow it further.",
    "BoundaryKmsGrantsForAwsServices": "grants only for AWS services acting for the role "
    "(kms:GrantIsForAWSResource: EBS volumes, EKS secrets encryption); the keys are created "
    "by EKS and EBS callers at deploy time.",
    "BoundaryElbServiceLinkedRole": "limited by iam:AWSServiceName to Elastic Load Balancing "
    "(AmazonEKSClusterPolicy creates it for Service load balancers).",
    "BoundaryNodeManagement": "the SSM agent calls of AmazonSSMManagedInstanceCore take no "
    "resource the boundary could name (instances are launched by EKS).",
    "PassStackRolesToPodIdentity": "only roles under this cluster's IAM path, only to EKS Pod "
    "Identity (the Cilium operator's role in pattern cilium).",
    "PassStackRolesToServices": "only roles under this cluster's IAM path, only to EKS/EC2/"
    "Lambda/flow logs.",
    "CreateThisCluster": "eks:CreateCluster takes no resource ARN; the request must carry this "
    "cluster's eks-secure:cluster tag.",
    "ServiceLinkedRoles": "limited by iam:AWSServiceName to the EKS-related services.",
    "OidcProvider": "OIDC provider ARNs are derived from the issuer URL EKS assigns.",
    "CreateKeys": "kms:CreateKey has no resource to scope to; the request must carry this "
    "cluster's eks-secure:cluster tag.",
    "ManageThisClustersKeys": "only keys tagged with this cluster's eks-secure:cluster tag.",
    "LogGroups": "only this cluster's control-plane log group and the stack's own log groups "
    "(including those of the stack's Lambda functions).",
    "AuditTrailAndItsBucket": "cloudtrail:* and s3:* only on the trail <cluster>-audit and the "
    "bucket <cluster>-audit-<account> (and its objects) of the optional audit trail; the stack "
    "creates, configures and deletes both and nothing else of either service.",
    "AuditTrailDescribe": "cloudtrail:DescribeTrails takes no resource ARN (read-only).",
    "LogGroupsRead": "DescribeLogGroups, CreateLogDelivery and DeleteLogDelivery take no "
    "resource ARN.",
    "KubectlHandler": "only Lambda functions and layers named <cluster>-* (explicit names set "
    "by SecureCluster); the action list is what their handlers call.",
    "NestedStacks": "only this cluster's nested stacks.",
    "BreakGlassAlerts": "only the EventBridge rules, CloudWatch alarms and SNS topic named "
    "<cluster>-* (BreakGlassAlerts sets the names); sns:Subscribe is not granted.",
    "StackParameters": "SSM parameters whose names CloudFormation generates (CFN-<id>-<suffix>), "
    "e.g. the kubectl-ready barrier aws_eks_v2 creates; the name cannot be scoped further.",
    "BootstrapAssets": "read-only access to this deployment's objects (key prefix "
    "eks-secure/<cluster>/) in the CDK bootstrap asset bucket, and its version.",
    "TagKeysOnCreate": "KMS authorizes the tags of CreateKey on every key of the account and "
    "Region; the request must carry this cluster's tag.",
    "TagOnlyOnCreateOrOwn": "explicit deny.",
    "DriveTheClusterStack": "change sets of this cluster's stack only (the stack ID is generated).",
    "ReadTheClusterStacks": "read-only calls on this cluster's stack and its nested stacks.",
    "RecoverTheClusterStack": "delete, roll back and cancel only this cluster's stack (the "
    "stack ID is generated).",
    "BootstrapAssetsAndVersion": "this deployment's objects (key prefix eks-secure/<cluster>/) "
    "in the CDK bootstrap asset bucket, and its version parameter.",
}
"""Why each wildcard in the creator and deployer policies is needed (acknowledged per finding)."""

IAM_PATH = "/eks-secure/"
"""IAM path of every role this module creates, so policies and SCPs can target them."""


def stack_role_path(cluster_name: str) -> str:
    """IAM path of every role the cluster stack (and its nested stacks) creates.

    CloudFormation truncates the generated names of unnamed roles (a long stack name keeps only
    25 characters), so policies scope the stack's roles by this path, never by a name prefix.
    """
    return f"{IAM_PATH}{cluster_name}/"


def asset_key_prefix(cluster_name: str) -> str:
    """Key prefix of the cluster stack's objects in the CDK bootstrap asset bucket."""
    return f"eks-secure/{cluster_name}/"


def function_name_prefix(cluster_name: str) -> str:
    """Prefix of the explicit names of the cluster stack's Lambda functions."""
    return f"{cluster_name}-"


def creator_role_name(cluster_name: str) -> str:
    """Name of the dedicated creator role of ``cluster_name``."""
    return f"{cluster_name}-creator"


def deployer_role_name(cluster_name: str) -> str:
    """Name of the role ``cdk deploy`` assumes to deploy the cluster stack."""
    return f"{cluster_name}-deployer"


def break_glass_role_name(cluster_name: str) -> str:
    """Name of the MFA-protected break-glass role of ``cluster_name``."""
    return f"{cluster_name}-break-glass"


def boundary_policy_name(cluster_name: str) -> str:
    """Name of the permissions boundary every role of the cluster stack carries."""
    return f"{cluster_name}-boundary"


def boundary_policy_arn_expression(cluster_name: str) -> str:
    """``Fn::Sub`` text of the boundary's ARN (fixed name: no cross-stack export)."""
    return (
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy{IAM_PATH}"
        f"{boundary_policy_name(cluster_name)}"
    )


def role_arn(stack: cdk.Stack, role_name: str) -> str:
    """ARN of one of this module's roles, built from its fixed name (no cross-stack export)."""
    return stack.format_arn(
        service="iam",
        region="",
        resource="role",
        resource_name=f"{IAM_PATH.strip('/')}/{role_name}",
    )


def _role_arn_placeholder(role_name: str) -> str:
    return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{IAM_PATH}{role_name}"


def creator_stack_synthesizer(cluster_name: str) -> cdk.DefaultStackSynthesizer:
    """Synthesizer for the cluster stack: CloudFormation acts as the dedicated creator role.

    ``cdk deploy`` assumes the per-cluster deployer role (allowed to pass the creator role only),
    and CloudFormation uses the creator role as the stack's execution role, so the creator role
    is the principal that calls ``eks:CreateCluster``. The stack then fails synthesis unless
    every taggable resource carries the cluster tag the creator role's permissions require
    (:class:`~eks_secure.cluster.tagging.CreatorStackSynthesizer`).
    """
    return CreatorStackSynthesizer(
        cluster_name=cluster_name,
        bucket_prefix=asset_key_prefix(cluster_name),
        execution_role_arn=_role_arn_placeholder(creator_role_name(cluster_name)),
        deploy_role_arn=_role_arn_placeholder(deployer_role_name(cluster_name)),
    )


class ClusterCreatorRole(Construct):
    """Dedicated IAM roles of one cluster: creator, deployer and break-glass.

    Deploy this in its own small stack, before the cluster stack (which depends on it).

    :param cluster_name: the EKS cluster's name; scopes every permission and names the roles.
    :param cluster_stack_name: name of the stack the creator role deploys (scopes CloudFormation,
        IAM and Lambda permissions to resources that stack names).
    :param deployer_principals: who may run ``cdk deploy`` for the cluster stack.
    :param break_glass_principals: the roles and users who may assume the break-glass role, each
        listed (an account root, which trusts every principal of the account, is refused): at
        least one. Each needs MFA (``aws:MultiFactorAuthPresent``, at most
        :data:`BREAK_GLASS_MFA_MAX_AGE_SECONDS` old) unless ``break_glass_session_tag`` admits it.
    :param break_glass_session_tag: ``(key, value)`` of the session tag a federated or IAM
        Identity Center session carries only after MFA at its identity provider (SAML and SSO
        sessions have no MFA keys); a listed *role*'s sessions with that ``aws:PrincipalTag``
        may assume the role without the MFA keys. Default: none (MFA keys for everyone).
    :param audit_trail: the cluster stack creates the CloudTrail trail ``<cluster>-audit`` and its
        bucket (statement ``AuditTrailAndItsBucket``). Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster_name: str,
        cluster_stack_name: str,
        deployer_principals: Sequence[iam.IPrincipal],
        break_glass_principals: Sequence[iam.IPrincipal],
        break_glass_session_tag: tuple[str, str] | None = None,
        audit_trail: bool = False,
    ) -> None:
        super().__init__(scope, id)
        if not deployer_principals:
            raise ConfigError(
                "ClusterCreatorRole.deployer_principals",
                "no principal may deploy the cluster stack",
                "pass at least one deployer (the pipeline or operator role)",
            )
        stack = cdk.Stack.of(self)
        self.cluster_name = cluster_name

        self.creator_role = iam.Role(
            self,
            "Creator",
            role_name=creator_role_name(cluster_name),
            path=IAM_PATH,
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description=f"Creates and updates EKS cluster {cluster_name} (CloudFormation only)",
            max_session_duration=cdk.Duration.hours(1),
        )
        """Role CloudFormation acts as when it deploys the cluster stack."""
        boundary_statements = _boundary_statements(cluster_name)
        self.permissions_boundary = iam.ManagedPolicy(
            self,
            "Boundary",
            managed_policy_name=boundary_policy_name(cluster_name),
            path=IAM_PATH,
            description=f"Permissions boundary of every role of EKS cluster {cluster_name}'s stack",
            statements=boundary_statements,
        )
        """Permissions boundary the creator must set on every role it creates or changes
        (``iam:PermissionsBoundary``); add statements to it for workload roles that need
        more services (pod identity roles of your apps)."""
        acknowledge_wildcards(
            self.permissions_boundary,
            [(st, WILDCARD_REASONS.get(st.sid or "", "")) for st in boundary_statements],
        )
        acknowledge_compliance(
            self.permissions_boundary,
            "IAMPolicyNoStatementsWithFullAccess",
            "A permissions boundary grants nothing: it is the ceiling of the cluster stack's "
            "roles (ec2:*, eks:*, elasticloadbalancing:* as EKS's own managed policies need), "
            "each role's identity policy narrows it, and it repeats the no-internet denies.",
        )
        creator_statements = _creator_statements(stack, cluster_name, cluster_stack_name)
        if audit_trail:
            creator_statements += audit_trail_statements(stack, cluster_name)
        self.creator_policies: list[iam.ManagedPolicy] = []
        """The creator's customer-managed policies (one per :data:`CREATOR_POLICY_PARTS`)."""
        for part, part_statements in split_creator_statements(creator_statements).items():
            policy = iam.ManagedPolicy(
                self,
                f"Creator{part}Policy",
                path=IAM_PATH,
                description=f"{part} permissions of EKS cluster {cluster_name}'s creator role",
                statements=part_statements,
                roles=[self.creator_role],
            )
            acknowledge_wildcards(
                policy,
                [(st, WILDCARD_REASONS.get(st.sid or "", "")) for st in part_statements],
            )
            self.creator_policies.append(policy)
        acknowledge_compliance(
            self,
            "IAMPolicyNoStatementsWithFullAccess",
            "eks:* (ThisClusterOnly) names only this cluster's ARNs, cloudformation:* "
            "(NestedStacks) only this cluster's nested stacks, cloudtrail:*/s3:* "
            "(AuditTrailAndItsBucket) only the audit trail and its bucket; the boundary "
            "(Boundary) is a cap, not a grant. Each wildcard is acknowledged with its reason "
            "in WILDCARD_REASONS.",
        )

        self.deployer_role = iam.Role(
            self,
            "Deployer",
            role_name=deployer_role_name(cluster_name),
            path=IAM_PATH,
            assumed_by=iam.CompositePrincipal(*deployer_principals),
            description=f"Deploys the stack of EKS cluster {cluster_name} via its creator role",
            max_session_duration=cdk.Duration.hours(1),
        )
        """Role ``cdk deploy`` assumes: may pass the creator role and drive CloudFormation."""
        deployer_statements = _deployer_statements(
            stack, cluster_name, cluster_stack_name, self.creator_role
        )
        deployer_policy = iam.ManagedPolicy(
            self,
            "DeployerPolicy",
            path=IAM_PATH,
            description=f"Permissions of EKS cluster {cluster_name}'s deployer role",
            statements=deployer_statements,
            roles=[self.deployer_role],
        )
        acknowledge_wildcards(
            deployer_policy,
            [(st, WILDCARD_REASONS.get(st.sid or "", "")) for st in deployer_statements],
        )

        trusted = check_break_glass_principals(break_glass_principals)
        self.break_glass_role = iam.Role(
            self,
            "BreakGlass",
            role_name=break_glass_role_name(cluster_name),
            path=IAM_PATH,
            assumed_by=iam.CompositePrincipal(*trusted).with_conditions(BREAK_GLASS_MFA),
            description=f"Break-glass cluster admin of EKS cluster {cluster_name} (MFA required)",
            max_session_duration=cdk.Duration.hours(1),
        )
        roles = [p for p in trusted if ":role/" in _principal_arn(p)]
        if break_glass_session_tag is not None and roles:
            key, value = break_glass_session_tag
            trust = self.break_glass_role.assume_role_policy
            assert trust is not None
            trust.add_statements(
                iam.PolicyStatement(
                    sid="FederatedSessionsWithMfaTag",
                    actions=["sts:AssumeRole"],
                    principals=roles,
                    conditions={"StringEquals": {f"aws:PrincipalTag/{key}": value}},
                )
            )
        elif roles:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:break-glass-federated",
                "break-glass trusts roles "
                f"({', '.join(_principal_arn(p) for p in roles)}) with MFA keys only: sessions "
                "from SAML or IAM Identity Center carry no aws:MultiFactorAuthPresent and cannot "
                "assume it; set break_glass_session_tag to the tag your identity provider sets "
                "after MFA (docs/creator-role-runbook.md)",
            )
        """Emergency admin: MFA-only trust, one-hour sessions, explicit cluster-admin entry."""
        for role in (self.creator_role, self.deployer_role, self.break_glass_role):
            acknowledge(
                role,
                "EksSecure-IAM1",
                "a root of the delegation, created by the account administrator who deploys the "
                "creator stack, not by a delegated role: no eks-secure role may write it (the "
                "creator's IAM writes are limited to the cluster stack's path "
                f"{stack_role_path(cluster_name)}, with the boundary), and every role it creates "
                "must carry the boundary (CreateStackRolesWithBoundary); a boundary on it would "
                "repeat its own identity policy.",
            )


BREAK_GLASS_MFA_MAX_AGE_SECONDS = 3600
"""Maximum age of the MFA of a break-glass assumption (``aws:MultiFactorAuthAge``)."""

BREAK_GLASS_MFA = {
    "Bool": {"aws:MultiFactorAuthPresent": "true"},
    "NumericLessThan": {"aws:MultiFactorAuthAge": str(BREAK_GLASS_MFA_MAX_AGE_SECONDS)},
}
"""Conditions of the break-glass trust statement every listed principal may use."""


def _principal_arn(principal: iam.IPrincipal) -> str:
    return str(principal.arn) if isinstance(principal, iam.ArnPrincipal) else ""


def check_break_glass_principals(principals: Sequence[iam.IPrincipal]) -> list[iam.IPrincipal]:
    """The break-glass principals, each a listed role or user ARN (no account, no wildcard)."""
    field = "ClusterCreatorRole.break_glass_principals"
    if not principals:
        raise ConfigError(
            field,
            "no principal may assume the break-glass role",
            "list the roles or users of the people on call (deployments default to the admins)",
        )
    for i, principal in enumerate(principals):
        arn = _principal_arn(principal)
        if isinstance(principal, iam.AccountPrincipal) or arn.endswith(":root") or "*" in arn:
            raise ConfigError(
                f"{field}[{i}]",
                f"{arn or type(principal).__name__} trusts every principal of an account",
                "list the IAM roles or users allowed to break the glass, each by its ARN",
            )
        if ":role/" not in arn and ":user/" not in arn:
            raise ConfigError(
                f"{field}[{i}]",
                f"{arn or type(principal).__name__} is not an IAM role or user ARN principal",
                "pass iam.ArnPrincipal('arn:aws:iam::<account>:role/<name>') (or :user/<name>)",
            )
    return list(principals)


def audit_trail_name(cluster_name: str) -> str:
    """Name of the optional CloudTrail trail of ``cluster_name``."""
    return f"{cluster_name}-audit"


def audit_bucket_name(cluster_name: str, account: str) -> str:
    """Name of the trail's bucket: unique per account, at most 59 characters."""
    return f"{cluster_name}-audit-{account}"


def audit_trail_statements(stack: cdk.Stack, cluster_name: str) -> list[iam.PolicyStatement]:
    """What the creator role needs for the optional trail: that trail and that bucket only, plus
    ``cloudtrail:DescribeTrails``, which takes no resource ARN."""
    arn = f"arn:{stack.partition}"
    bucket = f"{arn}:s3:::{audit_bucket_name(cluster_name, stack.account)}"
    describe = iam.PolicyStatement(
        sid="AuditTrailDescribe", actions=["cloudtrail:DescribeTrails"], resources=["*"]
    )
    return [
        describe,
        iam.PolicyStatement(
            sid="AuditTrailAndItsBucket",
            actions=["cloudtrail:*", "s3:*"],
            resources=[
                f"{arn}:cloudtrail:{stack.region}:{stack.account}:trail/{audit_trail_name(cluster_name)}",
                bucket,
                f"{bucket}/*",
            ],
        ),
    ]


CREATOR_POLICY_PARTS: dict[str, tuple[str, ...]] = {
    "Cluster": ("eks:", "ec2:"),
    "Iam": ("iam:",),
    "Resources": (),
}
"""The creator's managed policies and the services of their statements' first action (the last
part takes the rest): one document would exceed IAM's 6,144-character managed-policy limit."""

MANAGED_POLICY_MAX_CHARS = 6144
"""IAM's size limit of a managed policy document (whitespace not counted)."""


def split_creator_statements(
    statements: Sequence[iam.PolicyStatement],
) -> dict[str, list[iam.PolicyStatement]]:
    """The creator's statements grouped into :data:`CREATOR_POLICY_PARTS` (denies apply across
    every policy of the role, so the split changes nothing the role may do)."""
    parts: dict[str, list[iam.PolicyStatement]] = {name: [] for name in CREATOR_POLICY_PARTS}
    fallback = list(CREATOR_POLICY_PARTS)[-1]
    for statement in statements:
        first = statement.actions[0] if statement.actions else ""
        name = next(
            (n for n, prefixes in CREATOR_POLICY_PARTS.items() if first.startswith(prefixes)),
            fallback,
        )
        parts[name].append(statement)
    return {name: found for name, found in parts.items() if found}


ROLE_WRITING_ACTIONS = tuple(a for a in BOUNDARY_KEYED if a != "iam:DeleteRolePermissionsBoundary")
"""Role-writing actions that take ``iam:PermissionsBoundary``: the creator's need the boundary
(removing a boundary is denied outright)."""

ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
"""AWS managed policies the creator may never attach, boundary or not."""


def _admin_policy_arns(arn: str) -> list[str]:
    return [f"{arn}:iam::aws:policy/{name}" for name in ADMIN_POLICIES]


def _boundary_statements(cluster_name: str) -> list[iam.PolicyStatement]:
    """What any role of the cluster stack may do at most (its identity policies narrow it)."""
    return [
        iam.PolicyStatement(
            sid="BoundaryClusterServices",
            actions=[
                "ec2:*",
                "eks:*",
                "eks-auth:AssumeRoleForPodIdentity",
                "elasticloadbalancing:*",
                "autoscaling:Describe*",
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:ListImages",
                "ecr:GetLifecyclePolicy",
                "ecr:GetLifecyclePolicyPreview",
                "ecr:GetRepositoryPolicy",
                "ecr:DescribeImageScanFindings",
                "ecr:DescribePullThroughCacheRules",
                "ecr:BatchImportUpstreamImage",
                "ecr:CreateRepository",
                "ecr-public:GetAuthorizationToken",
                "sts:GetServiceBearerToken",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "lambda:GetFunction",
                "lambda:InvokeFunction",
                "kms:DescribeKey",
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
                "cloudwatch:PutMetricData",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="BoundaryNodeManagement",
            # AmazonSSMManagedInstanceCore's agent calls; never ssm:SendCommand/StartSession
            actions=[
                "ssm:DescribeAssociation",
                "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument",
                "ssm:DescribeDocument",
                "ssm:GetManifest",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:ListAssociations",
                "ssm:ListInstanceAssociations",
                "ssm:PutInventory",
                "ssm:PutComplianceItems",
                "ssm:PutConfigurePackageResult",
                "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus",
                "ssm:UpdateInstanceInformation",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
                "ec2messages:AcknowledgeMessage",
                "ec2messages:DeleteMessage",
                "ec2messages:FailMessage",
                "ec2messages:GetEndpoint",
                "ec2messages:GetMessages",
                "ec2messages:SendReply",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # grants only for AWS services using the key on the role's behalf (EBS volumes of
            # encrypted nodes, EKS secrets encryption), never a grant to another principal
            sid="BoundaryKmsGrantsForAwsServices",
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        iam.PolicyStatement(
            sid="BoundaryElbServiceLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=["*"],
            conditions={
                "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
            },
        ),
        *_no_internet_path(),
        *_no_code_on_foreign_instances(cluster_name),
    ]


NO_INTERNET_PATH_ACTIONS = (
    "ec2:CreateInternetGateway",
    "ec2:AttachInternetGateway",
    "ec2:CreateEgressOnlyInternetGateway",
    "ec2:CreateCarrierGateway",
    "ec2:AllocateAddress",
    "ec2:AssociateAddress",  # also associates carrier IPs (there is no separate action)
    "ec2:CreateVpcPeeringConnection",
    "ec2:AcceptVpcPeeringConnection",
)
"""EC2 calls that open a path to the internet (or another VPC): denied to the creator and to
every role under the boundary."""

EXFILTRATION_ACTIONS = (
    "ec2:CreateTrafficMirrorFilter",
    "ec2:CreateTrafficMirrorFilterRule",
    "ec2:CreateTrafficMirrorSession",
    "ec2:CreateTrafficMirrorTarget",
    "ec2:ModifyTrafficMirrorFilterNetworkServices",
    "ec2:ModifyTrafficMirrorFilterRule",
    "ec2:ModifyTrafficMirrorSession",
    "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
    "ec2:ModifyFpgaImageAttribute",
    "ec2:EnableSnapshotBlockPublicAccess",
    "ec2:DisableSnapshotBlockPublicAccess",
    "ec2:DisableImageBlockPublicAccess",
    "ec2:GetPasswordData",
)
"""EC2 calls that copy traffic, share snapshots or images, or read instance passwords."""

SHARING_ACTIONS = (
    "ec2:CreateCoipPoolPermission",
    "ec2:DeleteCoipPoolPermission",
    "ec2:CreateLocalGatewayRouteTablePermission",
    "ec2:DeleteLocalGatewayRouteTablePermission",
    "ec2:ModifyVpcEndpointServicePermissions",
    "ec2:CreateOdbNetworkPeering",
    "ec2:ModifyOdbNetworkPeering",
    "ec2:DeleteOdbNetworkPeering",
    "ec2:AttachApplianceToNatGateway",
    "ec2:DetachApplianceFromNatGateway",
    "ec2:AttachResourcesToPlacementGroup",
    "ec2:DetachResourcesFromPlacementGroup",
    "ec2:PutResourcePolicy",
    "ec2:DeleteResourcePolicy",
    "ec2:CancelImageLaunchPermission",
    "ec2:ResetSnapshotAttribute",
)
"""EC2 "Permissions management" calls (cloudsplaining's resource exposure): share pools, route
tables, endpoint services or images with other accounts, or rewrite resource policies. No
eks-secure resource needs them; denied to the creator and to every role under the boundary.
``ec2:CreateNetworkInterfacePermission`` is denied to the creator only (EKS's cross-account
control-plane ENIs are created by its service-linked role, outside the boundary, but the
cluster role's AWS-managed policy is not in the assembly to check)."""


def _deny(
    sid: str, actions: list[str], conditions: Mapping[str, Any] | None = None
) -> iam.PolicyStatement:
    """An explicit deny of ``actions`` on every resource (``conditions`` narrow it)."""
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        actions=actions,
        resources=["*"],
        conditions=dict(conditions) if conditions else None,
    )


def _no_internet_path() -> list[iam.PolicyStatement]:
    """Explicit denies: no internet path, no traffic copies, no shared snapshots."""
    return [
        _deny("NoInternetPath", list(NO_INTERNET_PATH_ACTIONS)),
        _deny(
            "NoPublicIpOnInstances",
            ["ec2:RunInstances"],
            {"Bool": {"ec2:AssociatePublicIpAddress": "true"}},
        ),
        _deny("NoTrafficCopiesOrSharing", list(EXFILTRATION_ACTIONS)),
        _deny("NoResourceSharing", list(SHARING_ACTIONS)),
    ]


def _no_code_on_foreign_instances(cluster_name: str) -> list[iam.PolicyStatement]:
    """Explicit denies: no new version of another deployment's launch template (its user data
    would run under that template's instance profile), and no stopping or starting instances
    (a changed user data runs on the next start). EKS and the node groups' Auto Scaling groups
    start and stop nodes with their own service-linked roles."""
    return [
        _deny(
            "OwnLaunchTemplatesOnly",
            ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"],
            {"StringNotEquals": {"aws:ResourceTag/eks-secure:cluster": cluster_name}},
        ),
        _deny("NoInstanceRestarts", ["ec2:StopInstances", "ec2:StartInstances"]),
    ]


def _creator_statements(
    stack: cdk.Stack, cluster_name: str, cluster_stack_name: str
) -> list[iam.PolicyStatement]:
    arn = f"arn:{stack.partition}"
    region_account = f"{stack.region}:{stack.account}"
    eks_resources = [
        f"{arn}:eks:{region_account}:cluster/{cluster_name}",
        f"{arn}:eks:{region_account}:nodegroup/{cluster_name}/*",
        f"{arn}:eks:{region_account}:addon/{cluster_name}/*",
        f"{arn}:eks:{region_account}:access-entry/{cluster_name}/*",
        f"{arn}:eks:{region_account}:podidentityassociation/{cluster_name}/*",
    ]
    stack_roles = f"{arn}:iam::{stack.account}:role{stack_role_path(cluster_name)}*"
    creator_role = f"{arn}:iam::{stack.account}:role{IAM_PATH}{creator_role_name(cluster_name)}"
    tag_condition = {"StringEquals": {"aws:ResourceTag/eks-secure:cluster": cluster_name}}
    boundary = f"{arn}:iam::{stack.account}:policy{IAM_PATH}{boundary_policy_name(cluster_name)}"
    statements = [
        iam.PolicyStatement(sid="ThisClusterOnly", actions=["eks:*"], resources=eks_resources),
        iam.PolicyStatement(
            sid="CreateThisCluster",
            actions=["eks:CreateCluster"],
            resources=["*"],
            conditions={"StringEquals": {"aws:RequestTag/eks-secure:cluster": cluster_name}},
        ),
        iam.PolicyStatement(
            sid="EksRead",
            actions=["eks:Describe*", "eks:List*"],
            resources=["*"],
        ),
        _deny(
            "OnlyCustomerRoutedClusters",
            ["eks:CreateCluster"],
            {"StringNotEquals": {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}},
        ),
        iam.PolicyStatement(
            sid="NetworkCreateAndRead",
            actions=[
                "ec2:Describe*",
                "ec2:Get*",
                "ec2:Create*",
                "ec2:Associate*",
                "ec2:Attach*",
                "ec2:Authorize*",
                "ec2:Modify*",
                "ec2:Replace*",
                "ec2:AllocateAddress",
                "ec2:AssignPrivateNatGatewayAddress",
                "ec2:RunInstances",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="NetworkDeleteOnlyTagged",
            actions=[
                "ec2:Delete*",
                "ec2:Disassociate*",
                "ec2:Detach*",
                "ec2:Revoke*",
                "ec2:Release*",
                "ec2:UnassignPrivateNatGatewayAddress",
            ],
            resources=["*"],
            conditions=tag_condition,
        ),
        # ec2:Create* covers ec2:CreateTags: tags only while creating (ec2:CreateAction) or on
        # resources already tagged for this cluster, so no foreign resource can be tagged and
        # then deleted under NetworkDeleteOnlyTagged
        _deny(
            "TagOnlyOnCreateOrOwn",
            ["ec2:CreateTags"],
            {
                "Null": {"ec2:CreateAction": "true"},
                "StringNotEquals": {"aws:ResourceTag/eks-secure:cluster": cluster_name},
            },
        ),
        *_no_internet_path(),
        *_no_code_on_foreign_instances(cluster_name),
        _deny("NoForeignNetworkInterfacePermissions", ["ec2:CreateNetworkInterfacePermission"]),
        iam.PolicyStatement(
            sid="CreateStackRolesWithBoundary",
            actions=list(ROLE_WRITING_ACTIONS),
            resources=[stack_roles],
            conditions={"StringEquals": {"iam:PermissionsBoundary": boundary}},
        ),
        iam.PolicyStatement(
            sid="ManageStackRoles",
            actions=[
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
            ],
            resources=[stack_roles],
        ),
        iam.PolicyStatement(
            sid="StackInstanceProfiles",
            actions=[
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            resources=[
                f"{arn}:iam::{stack.account}:instance-profile{stack_role_path(cluster_name)}*"
            ],
        ),
        _deny(
            "NoRetrustNoUnboundedRoles",
            [
                # trust policies of the stack's roles name fixed service principals: a change
                # needs a new role (docs/creator-role-runbook.md), never a re-trusted one
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRolePermissionsBoundary",
                "iam:CreatePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
            ],
        ),
        _deny(
            "NoAdminPolicies",
            ["iam:AttachRolePolicy"],
            {"ArnLike": {"iam:PolicyARN": list(_admin_policy_arns(arn))}},
        ),
        iam.PolicyStatement(
            sid="PassStackRolesToServices",
            actions=["iam:PassRole"],
            resources=[stack_roles],
            conditions={
                "StringEquals": {
                    "iam:PassedToService": [
                        "eks.amazonaws.com",
                        "ec2.amazonaws.com",
                        "lambda.amazonaws.com",
                        "vpc-flow-logs.amazonaws.com",
                    ]
                }
            },
        ),
        # EKS Pod Identity associations (pattern cilium: the Cilium operator's ENI rights) pass
        # a stack role to the EKS pods service.
        iam.PolicyStatement(
            sid="PassStackRolesToPodIdentity",
            actions=["iam:PassRole"],
            resources=[stack_roles],
            conditions={"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            sid="PassSelfToNestedStacks",
            actions=["iam:PassRole"],
            resources=[creator_role],
            conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            sid="ServiceLinkedRoles",
            actions=["iam:CreateServiceLinkedRole"],
            resources=["*"],
            conditions={
                "StringEquals": {
                    "iam:AWSServiceName": [
                        "eks.amazonaws.com",
                        "eks-nodegroup.amazonaws.com",
                        "autoscaling.amazonaws.com",
                        "elasticloadbalancing.amazonaws.com",
                    ]
                }
            },
        ),
        iam.PolicyStatement(
            sid="OidcProvider",
            actions=[
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            # the issuer EKS assigns: oidc.eks.<region>.amazonaws.com/id/<cluster ID>
            resources=[
                f"{arn}:iam::{stack.account}:oidc-provider/oidc.eks.{stack.region}."
                f"{stack.url_suffix}/id/*"
            ],
        ),
        iam.PolicyStatement(
            sid="CreateKeys",
            actions=["kms:CreateKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:RequestTag/eks-secure:cluster": cluster_name}},
        ),
        iam.PolicyStatement(
            # the tags of a CreateKey request: KMS authorizes them on no existing key, so the
            # request must carry this cluster's tag and the key must not carry another value
            sid="TagKeysOnCreate",
            actions=["kms:TagResource"],
            resources=[f"{arn}:kms:{region_account}:key/*"],
            conditions={
                "StringEquals": {"aws:RequestTag/eks-secure:cluster": cluster_name},
                "Null": {"aws:ResourceTag/eks-secure:cluster": "true"},
            },
        ),
        iam.PolicyStatement(
            sid="ManageThisClustersKeys",
            actions=[
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:EnableKey",
                "kms:DisableKey",
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:UpdateKeyDescription",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:PutKeyPolicy",
                "kms:CreateGrant",
                "kms:ListResourceTags",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
            ],
            resources=["*"],
            conditions=tag_condition,
        ),
        iam.PolicyStatement(
            sid="LogGroups",
            actions=[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:TagLogGroup",
                "logs:UntagLogGroup",
                "logs:ListTagsForResource",
                "logs:ListTagsLogGroup",
                "logs:DescribeLogGroups",
                "logs:GetDataProtectionPolicy",
                "logs:PutDataProtectionPolicy",
                "logs:DeleteDataProtectionPolicy",
                "logs:PutBearerTokenAuthentication",
                "logs:PutLogGroupDeletionProtection",
            ],
            resources=[
                f"{arn}:logs:{region_account}:log-group:/aws/eks/{cluster_name}/*",
                f"{arn}:logs:{region_account}:log-group:{cluster_stack_name}-*",
                f"{arn}:logs:{region_account}:log-group:/aws/lambda/"
                f"{function_name_prefix(cluster_name)}*",
            ],
        ),
        iam.PolicyStatement(
            sid="LogGroupsRead",
            actions=["logs:DescribeLogGroups", "logs:CreateLogDelivery", "logs:DeleteLogDelivery"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="KubectlHandler",
            actions=[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:PutFunctionCodeSigningConfig",
                "lambda:DeleteFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:PutFunctionRecursionConfig",
                "lambda:PutFunctionScalingConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:PutRuntimeManagementConfig",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunctionConcurrency",
                "lambda:InvokeFunction",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:PublishVersion",
                "lambda:GetLayerVersion",
                "lambda:PublishLayerVersion",
                "lambda:DeleteLayerVersion",
            ],
            resources=[
                f"{arn}:lambda:{region_account}:function:{function_name_prefix(cluster_name)}*",
                f"{arn}:lambda:{region_account}:layer:{function_name_prefix(cluster_name)}*",
            ],
        ),
        iam.PolicyStatement(
            # BreakGlassAlerts: its two rules, their alarms and the alert topic, by name
            sid="BreakGlassAlerts",
            actions=[
                "events:DescribeRule",
                "events:PutRule",
                "events:DeleteRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:ListTargetsByRule",
                "events:TagResource",
                "events:UntagResource",
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
                "sns:ListSubscriptionsByTopic",
                "sns:GetDataProtectionPolicy",
                "sns:PutDataProtectionPolicy",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ],
            resources=[
                f"{arn}:events:{region_account}:rule/{cluster_name}-*",
                f"{arn}:sns:{region_account}:{cluster_name}-*",
                f"{arn}:cloudwatch:{region_account}:alarm:{cluster_name}-*",
            ],
        ),
        iam.PolicyStatement(
            sid="NestedStacks",
            actions=["cloudformation:*"],
            resources=[f"{arn}:cloudformation:{region_account}:stack/{cluster_stack_name}-*"],
        ),
        iam.PolicyStatement(
            sid="StackParameters",
            actions=[
                "ssm:PutParameter",
                "ssm:DeleteParameter",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:AddTagsToResource",
                "ssm:RemoveTagsFromResource",
                "ssm:ListTagsForResource",
            ],
            resources=[f"{arn}:ssm:{region_account}:parameter/CFN-*"],
        ),
        iam.PolicyStatement(
            sid="BootstrapAssets",
            actions=[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "ssm:GetParameters",
                "ssm:GetParameter",
            ],
            resources=[
                f"{arn}:s3:::cdk-*-assets-{stack.account}-{stack.region}/"
                f"{asset_key_prefix(cluster_name)}*",
                f"{arn}:ssm:{region_account}:parameter/cdk-bootstrap/*",
            ],
        ),
    ]
    return statements


def _deployer_statements(
    stack: cdk.Stack, cluster_name: str, cluster_stack_name: str, creator_role: iam.IRole
) -> list[iam.PolicyStatement]:
    arn = f"arn:{stack.partition}"
    region_account = f"{stack.region}:{stack.account}"
    root = [f"{arn}:cloudformation:{region_account}:stack/{cluster_stack_name}/*"]
    nested = [f"{arn}:cloudformation:{region_account}:stack/{cluster_stack_name}-*/*"]
    return [
        iam.PolicyStatement(
            sid="PassOnlyTheCreatorRole",
            actions=["iam:PassRole"],
            resources=[creator_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            # change sets on the cluster stack only: never a new stack named <stack>-..., whose
            # nested-stack-looking name the creator's NestedStacks statement would cover
            sid="DriveTheClusterStack",
            actions=[
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:ListChangeSets",
                "cloudformation:GetTemplateSummary",
            ],
            resources=root,
        ),
        iam.PolicyStatement(
            sid="ReadTheClusterStacks",
            actions=[
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
                "cloudformation:DescribeStackResource",
                "cloudformation:DescribeStackResources",
            ],
            resources=root + nested,
        ),
        iam.PolicyStatement(
            sid="RecoverTheClusterStack",
            actions=[
                # the CLI deletes a stack whose create failed before retrying, and `cdk destroy`
                "cloudformation:DeleteStack",
                # `cdk rollback` (with and without --orphan/--force)
                "cloudformation:RollbackStack",
                "cloudformation:ContinueUpdateRollback",
                # docs/creator-role-runbook.md: stop an update that hangs
                "cloudformation:CancelUpdateStack",
            ],
            resources=root,
        ),
        iam.PolicyStatement(
            # read only: the CLI publishes assets with the bootstrap's file-publishing role,
            # and CloudFormation reads the template (under this deployment's key prefix) as
            # the caller
            sid="BootstrapAssetsAndVersion",
            actions=["s3:GetObject", "ssm:GetParameter", "ssm:GetParameters"],
            resources=[
                f"{arn}:s3:::cdk-*-assets-{stack.account}-{stack.region}/"
                f"{asset_key_prefix(cluster_name)}*",
                f"{arn}:ssm:{region_account}:parameter/cdk-bootstrap/*",
            ],
        ),
    ]
