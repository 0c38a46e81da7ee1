"""VPC endpoints of a fully private cluster: one S3 gateway endpoint and interface endpoints."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from eks_secure.errors import ConfigError

DEFAULT_INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = (
    "ecr.api",
    "ecr.dkr",
    "ec2",
    "sts",
    "eks",
    "eks-auth",
    "logs",
    "elasticloadbalancing",
    "autoscaling",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "kms",
    "lambda",
)
"""Interface endpoints a fully private cluster needs (short names: ``com.amazonaws.<region>.X``).

Image pulls (ECR, with S3 through the gateway endpoint), VPC CNI and node naming (EC2), IRSA
(STS), the EKS API and Pod Identity (EKS, EKS auth), logs, the AWS Load Balancer Controller, the
Cluster Autoscaler, Session Manager, KMS, and the Lambda API: the CDK provider framework runs
in the VPC and invokes the kubectl handler through it (without it every ``Custom::AWSCDK-EKS-*``
resource, and its rollback, hangs: aws/aws-cdk#12608, #30442).
"""

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

SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


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

    :param vpc: the VPC.
    :param subnets: the endpoint subnets, one per AZ.
    :param security_group: the shared endpoint security group (ingress rules are the caller's).
    :param services: short service names of the interface endpoints.
    :param route_tables: route tables to associate with the S3 gateway endpoint now.
    :param name_prefix: prefix of the ``Name`` tags.
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
