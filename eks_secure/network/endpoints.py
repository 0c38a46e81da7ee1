"""VPC endpoints of a fully private cluster: one S3 gateway endpoint and interface endpoints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from eks_secure.checks.rules import SERVICES_WITHOUT_ENDPOINT_POLICY
from eks_secure.errors import ConfigError
from eks_secure.network.services import DEFAULT_INTERFACE_ENDPOINT_SERVICES, SERVICE_NAME

_AWS_SERVICE_CONSTANTS: dict[str, str] = {
    "ecr.api": "ECR",
    "ecr.dkr": "ECR_DOCKER",
    "ec2": "EC2",
    "sts": "STS",
    "eks": "EKS",
    "eks-auth": "EKS_AUTH",
    "logs": "CLOUDWATCH_LOGS",
    "elasticloadbalancing": "ELASTIC_LOAD_BALANCING",
    "autoscaling": "AUTOSCALING",
    "ssm": "SSM",
    "ssmmessages": "SSM_MESSAGES",
    "ec2messages": "EC2_MESSAGES",
    "kms": "KMS",
    "lambda": "LAMBDA_",
}
"""Short service name -> ``ec2.InterfaceVpcEndpointAwsService`` constant."""

ENDPOINT_POLICY_SERVICES: frozenset[str] = (
    frozenset(_AWS_SERVICE_CONSTANTS) - SERVICES_WITHOUT_ENDPOINT_POLICY
)
"""Interface endpoint services that accept an endpoint policy (see docs/security-posture.md).

Each has an "endpoint policy" section in its service's PrivateLink documentation; EKS accepts
one since February 2025 (awsdocs/amazon-eks-user-guide#873). A service that does not accepts
only the full-access policy and fails the endpoint's creation otherwise ("only supports the
full-access endpoint policy"), so a service not in this set
(:data:`~eks_secure.checks.rules.SERVICES_WITHOUT_ENDPOINT_POLICY`: ``eks-auth``, ``ssmmessages``,
``ec2messages``; and any user-added one) gets none: support for these could not be confirmed
offline (check with ``aws ec2 describe-vpc-endpoint-services``, ``VpcEndpointPolicySupported``).
"""


@dataclass(frozen=True)
class BucketGrant:
    """S3 objects the cluster reaches through the gateway endpoint, and why.

    ``buckets`` are bucket names with ``{region}``, ``{region_nodash}`` (``euwest1``),
    ``{account}`` and ``{qualifier}`` (the CDK bootstrap qualifier) placeholders.
    ``own_principals``: the calls are signed by principals of this account (the statement
    carries ``aws:PrincipalAccount``); otherwise they are presigned by the AWS service that
    owns the bucket or unauthenticated, and only the bucket names scope them.
    """

    sid: str
    actions: tuple[str, ...]
    buckets: tuple[str, ...]
    own_principals: bool
    reason: str


S3_BUCKET_GRANTS: tuple[BucketGrant, ...] = (
    BucketGrant(
        "EcrImageLayers",
        ("s3:GetObject",),
        ("prod-{region}-starport-layer-bucket",),
        False,
        "ECR image layers (presigned by ECR): AmazonECR/latest/userguide/vpc-endpoints.html"
        "#ecr-minimum-s3-perms",
    ),
    BucketGrant(
        "CloudFormationResponses",
        ("s3:PutObject",),
        (
            "cloudformation-custom-resource-response-{region_nodash}",
            "cloudformation-waitcondition-{region}",
        ),
        False,
        "custom resource replies of the in-VPC provider frameworks (presigned by CloudFormation):"
        " AWSCloudFormation/latest/UserGuide/cfn-vpce-bucketnames.html",
    ),
    BucketGrant(
        "DeploymentAssets",
        ("s3:GetObject",),
        ("cdk-{qualifier}-assets-{account}-{region}",),
        True,
        "this deployment's CDK file assets: the kubectl handler downloads local Helm charts",
    ),
    BucketGrant(
        "AmazonLinuxRepositories",
        ("s3:GetObject",),
        ("al2023-repos-{region}-de612dc2", "al2023-{region}"),
        False,
        "dnf/yum repositories of the AL2023 node AMI (unauthenticated):"
        " linux/al2023/ug/live-patching.html",
    ),
    BucketGrant(
        "SystemsManagerAgent",
        ("s3:GetObject",),
        (
            "aws-ssm-{region}",
            "amazon-ssm-{region}",
            "amazon-ssm-packages-{region}",
            "{region}-birdwatcher-prod",
            "aws-ssm-distributor-file-{region}",
            "aws-ssm-document-attachments-{region}",
            "patch-baseline-snapshot-{region}",
        ),
        False,
        "SSM Agent updates and documents (unauthenticated):"
        " systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html",
    ),
)
"""What the S3 gateway endpoint policy allows: read-only AWS-owned buckets, CloudFormation's
reply buckets, and this deployment's asset bucket; nothing else (no exfiltration path)."""


def endpoint_id(service: str) -> str:
    """Stable construct ID of an interface endpoint: ``ecr.api`` -> ``EcrApi``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[.-]", service) if part)


def interface_service(service: str) -> ec2.IInterfaceVpcEndpointService:
    """The CDK endpoint service for a short name; the CDK constant where one exists."""
    constant = _AWS_SERVICE_CONSTANTS.get(service)
    if constant is not None:
        known: ec2.IInterfaceVpcEndpointService = getattr(
            ec2.InterfaceVpcEndpointAwsService, constant
        )
        return known
    return ec2.InterfaceVpcEndpointAwsService(service)


def validate_services(services: Sequence[str], field: str = "SecureVpc.endpoint_services") -> None:
    """Raise :class:`ConfigError` on a malformed or repeated service name."""
    seen: set[str] = set()
    for i, service in enumerate(services):
        if not SERVICE_NAME.match(service):
            raise ConfigError(
                f"{field}[{i}]",
                f"'{service}' is not a short endpoint service name",
                "give the part after com.amazonaws.<region>., e.g. ecr.api or eks-auth",
            )
        if endpoint_id(service) in seen:
            raise ConfigError(f"{field}[{i}]", f"'{service}' is listed twice", "list it once")
        seen.add(endpoint_id(service))


def _region_nodash(stack: cdk.Stack) -> str:
    if cdk.Token.is_unresolved(stack.region):
        return cdk.Fn.join("", cdk.Fn.split("-", stack.region, 3))
    return stack.region.replace("-", "")


def _qualifier(stack: cdk.Stack) -> str:
    synthesizer = stack.synthesizer
    if isinstance(synthesizer, cdk.DefaultStackSynthesizer):
        return synthesizer.bootstrap_qualifier or cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER


def s3_gateway_policy(
    stack: cdk.Stack, extra_buckets: Sequence[s3.IBucket] = ()
) -> iam.PolicyDocument:
    """The S3 gateway endpoint policy: :data:`S3_BUCKET_GRANTS` plus ``extra_buckets``.

    ``extra_buckets`` (buckets of this account the workloads use) are opened for object reads
    and writes by this account's principals only.
    """
    names = {
        "region": stack.region,
        "region_nodash": _region_nodash(stack),
        "account": stack.account,
        "qualifier": _qualifier(stack),
    }
    document = iam.PolicyDocument()
    for grant in S3_BUCKET_GRANTS:
        document.add_statements(
            iam.PolicyStatement(
                sid=grant.sid,
                principals=[iam.AnyPrincipal()],
                actions=list(grant.actions),
                resources=[
                    f"arn:{stack.partition}:s3:::{bucket.format(**names)}/*"
                    for bucket in grant.buckets
                ],
                conditions=_own_account(stack) if grant.own_principals else None,
            )
        )
    if extra_buckets:
        document.add_statements(
            iam.PolicyStatement(
                sid="WorkloadBuckets",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                resources=[
                    arn for b in extra_buckets for arn in (b.bucket_arn, b.arn_for_objects("*"))
                ],
                conditions=_own_account(stack),
            )
        )
    return document


def _own_account(stack: cdk.Stack) -> dict[str, object]:
    return {"StringEquals": {"aws:PrincipalAccount": stack.account}}


def interface_policy_statements(service: str, stack: cdk.Stack) -> list[iam.PolicyStatement]:
    """The endpoint policy of an interface endpoint (empty: the service accepts none).

    Every action for principals of this account (``aws:PrincipalAccount``), on any resource:
    nodes pull EKS add-on images from AWS-owned ECR registries, so the resource account cannot
    be pinned. STS also admits ``AssumeRoleWithWebIdentity`` (IRSA), which is unsigned and so
    has no principal account, on roles of this account only (``aws:ResourceAccount``).
    """
    if service not in ENDPOINT_POLICY_SERVICES:
        return []
    statements = [
        iam.PolicyStatement(
            sid="ThisAccountsPrincipals",
            principals=[iam.AnyPrincipal()],
            actions=["*"],
            resources=["*"],
            conditions=_own_account(stack),
        )
    ]
    if service == "sts":
        statements.append(
            iam.PolicyStatement(
                sid="WebIdentityToThisAccountsRoles",
                principals=[iam.AnyPrincipal()],
                actions=["sts:AssumeRoleWithWebIdentity"],
                resources=[f"arn:{stack.partition}:iam::{stack.account}:role/*"],
                conditions={"StringEquals": {"aws:ResourceAccount": stack.account}},
            )
        )
    return statements


@jsii.implements(cdk.IStableListProducer)
class _RouteTableIds:
    """Lazily produced route table IDs, so subnets created later can still be associated."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def produce(self) -> list[str] | None:
        return list(self.ids)


class PrivateEndpoints(Construct):
    """The S3 gateway endpoint and the interface endpoints of a private VPC.

    * S3 gateway endpoint (``AWS::EC2::VPCEndpoint`` of type ``Gateway``) associated with every
      route table passed in ``route_tables`` or later to :meth:`associate_route_tables`. A route
      table can be associated with only one S3 gateway endpoint and the gateway-endpoint quota is
      per Region, so there is one endpoint whose route table list grows.
    * One interface endpoint per service, private DNS on, ENIs only in ``subnets`` (one per AZ),
      all sharing ``security_group``.
    * Endpoint policies: the S3 gateway endpoint allows only :data:`S3_BUCKET_GRANTS` (and
      ``s3_buckets``); each interface endpoint of :data:`ENDPOINT_POLICY_SERVICES` only this
      account's principals (:func:`interface_policy_statements`).

    :param vpc: the VPC.
    :param subnets: the endpoint subnets, one per AZ.
    :param security_group: the shared endpoint security group (ingress rules are the caller's).
    :param services: short service names of the interface endpoints.
    :param route_tables: route tables to associate with the S3 gateway endpoint now.
    :param name_prefix: prefix of the ``Name`` tags.
    :param s3_buckets: buckets of this account the workloads read and write through the S3
        gateway endpoint. Default: none (only the buckets the cluster itself needs).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        services: Sequence[str] = DEFAULT_INTERFACE_ENDPOINT_SERVICES,
        route_tables: Sequence[ec2.IRouteTable] = (),
        name_prefix: str = "eks-secure",
        s3_buckets: Sequence[s3.IBucket] = (),
    ) -> None:
        validate_services(services)
        super().__init__(scope, id)
        self.security_group: ec2.ISecurityGroup = security_group
        """The security group of every interface endpoint."""
        self._route_table_ids = _RouteTableIds()
        self.s3_gateway_endpoint: ec2.CfnVPCEndpoint = ec2.CfnVPCEndpoint(
            self,
            "S3Gateway",
            vpc_id=vpc.vpc_id,
            service_name=ec2.GatewayVpcEndpointAwsService.S3.name,
            vpc_endpoint_type="Gateway",
            route_table_ids=cdk.Lazy.list(self._route_table_ids),
            policy_document=s3_gateway_policy(cdk.Stack.of(self), s3_buckets),
        )
        """The S3 gateway endpoint (ECR image layers, CloudFormation custom resource replies)."""
        cdk.Tags.of(self.s3_gateway_endpoint).add("Name", f"{name_prefix}-s3")
        self.associate_route_tables(route_tables)

        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        """Interface endpoints by short service name."""
        selection = ec2.SubnetSelection(subnets=list(subnets))
        for service in services:
            endpoint = ec2.InterfaceVpcEndpoint(
                self,
                endpoint_id(service),
                vpc=vpc,
                service=interface_service(service),
                private_dns_enabled=True,
                subnets=selection,
                security_groups=[security_group],
                open=False,
                lookup_supported_azs=False,
            )
            cdk.Tags.of(endpoint).add("Name", f"{name_prefix}-{service}")
            for statement in interface_policy_statements(service, cdk.Stack.of(self)):
                endpoint.add_to_policy(statement)
            self.interface_endpoints[service] = endpoint

    def ready(self) -> cdk.CfnWaitConditionHandle:
        """One resource (``Ready``, a no-cost wait-condition handle) that waits for every
        endpoint: what a node group in a nested stack depends on, so its stack's resource in
        the parent lists one dependency instead of one per endpoint (template size at scale)."""
        existing = self.node.try_find_child("Ready")
        if isinstance(existing, cdk.CfnWaitConditionHandle):
            return existing
        barrier = cdk.CfnWaitConditionHandle(self, "Ready")
        barrier.node.add_dependency(self.s3_gateway_endpoint, *self.interface_endpoints.values())
        return barrier

    def associate_route_tables(self, route_tables: Sequence[ec2.IRouteTable]) -> None:
        """Associate more route tables with the S3 gateway endpoint."""
        for table in route_tables:
            self._route_table_ids.ids.append(table.route_table_id)

    @property
    def route_table_count(self) -> int:
        """How many route tables are associated with the S3 gateway endpoint."""
        return len(self._route_table_ids.ids)
