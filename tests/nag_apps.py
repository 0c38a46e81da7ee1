"""Small apps for the EksSecureChecks tests: one stack of bad constructs, one of good ones.

Both stacks live in one app, synthesized once per session with only ``EksSecureChecks``
registered (``checks_app()``). Each bad construct breaks exactly the rules named in
``BAD``; the good stack breaks none.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from eks_secure.checks import EksSecureChecks
from eks_secure.cluster.nodegroup import HardenedNodegroup
from eks_secure.config.model import NodeGroupSize

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
ALL_LOGS = [
    eks.ClusterLoggingTypes.API,
    eks.ClusterLoggingTypes.AUDIT,
    eks.ClusterLoggingTypes.AUTHENTICATOR,
    eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    eks.ClusterLoggingTypes.SCHEDULER,
]

BAD: dict[str, set[str]] = {
    "EKS1": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS2": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS3": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS4": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS5": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS6": {"Bad/PublicCluster/Resource", "Bad/BareCluster"},
    "EKS7": {"Bad/PublicCluster/NodegroupNodegroupSsh/Resource", "Bad/LooseNodes"},
    "EKS8": {"Bad/PublicCluster/NodegroupNodegroupSsh/Resource", "Bad/LooseNodes"},
    "VPC1": {"Bad/Vpc/PublicSubnet1/Subnet", "Bad/Vpc/PublicSubnet2/Subnet"},
    "VPC2": {"Bad/Vpc/S3/Resource"},
    "SG1": {"Bad/OpenSsh/Resource", "Bad/Ipv6Ingress"},
    "SG2": {
        "Bad/OpenSsh/Resource",
        "Bad/NoEgressRules",
        "Bad/AnyEgress",
        "Bad/PublicCluster/ControlPlaneSecurityGroup/Resource",
    },
    "IAM1": {"Bad/PublicCluster/Role/Resource", "Bad/NodeRole", "Bad/ServiceRole/Resource"},
}
"""For each rule suffix, the construct paths it must report in the bad stack."""

ACKNOWLEDGED = "Bad/Vpc/PublicSubnet3/Subnet"
"""A public subnet whose VPC1 finding is acknowledged: it must not be reported."""


@dataclass
class ChecksApp:
    """The synthesized bad + good app and its validation report."""

    app: cdk.App
    outdir: Path
    report: dict[str, Any]

    def findings(self, plugin: str = "EksSecure") -> dict[str, set[str]]:
        """Construct paths of each unsuppressed rule of ``plugin``."""
        found: dict[str, set[str]] = {}
        for report in self.report["pluginReports"]:
            if report["pluginName"] != plugin:
                continue
            for violation in report["violations"]:
                paths = {c["constructPath"] for c in violation["violatingConstructs"]}
                found.setdefault(violation["ruleName"], set()).update(paths)
        return found


def _bad(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=[*AZS, "eu-west-1c"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)
        ],
        restrict_default_security_group=False,
    )
    subnet = vpc.public_subnets[2].node.default_child
    assert isinstance(subnet, cdk.CfnResource)
    cdk.Validations.of(subnet).acknowledge(
        cdk.Acknowledgment(id="EksSecure-VPC1", reason="acknowledged in the test on purpose")
    )
    vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)

    open_ssh = ec2.SecurityGroup(stack, "OpenSsh", vpc=vpc, allow_all_outbound=True)
    open_ssh.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    ec2.CfnSecurityGroup(stack, "NoEgressRules", group_description="no rules", vpc_id=vpc.vpc_id)
    ec2.CfnSecurityGroupIngress(
        stack,
        "Ipv6Ingress",
        group_id=open_ssh.security_group_id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv6="::/0",
    )
    ec2.CfnSecurityGroupEgress(
        stack,
        "AnyEgress",
        group_id=open_ssh.security_group_id,
        ip_protocol="tcp",
        from_port=1024,
        to_port=65535,
        cidr_ip="0.0.0.0/0",
    )
    iam.Role(stack, "ServiceRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))

    cluster = eks.Cluster(
        stack,
        "PublicCluster",
        version=eks.KubernetesVersion.V1_34,
        vpc=vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)],
        endpoint_access=eks.EndpointAccess.PUBLIC,
        default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
        default_capacity=0,
    )
    # The aws_eks_v2 L2 always writes API; an override is how the aws-auth mode comes back.
    cfn = cluster.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    cfn.add_property_override("AccessConfig.AuthenticationMode", "API_AND_CONFIG_MAP")
    cluster.add_nodegroup_capacity(
        "NodegroupSsh",
        min_size=0,
        remote_access=eks.NodegroupRemoteAccess(ssh_key_name="ops"),
        node_role=iam.Role.from_role_arn(
            stack, "ImportedNodeRole", "arn:aws:iam::111111111111:role/nodes", mutable=False
        ),
    )
    # An L1 cluster with every setting omitted: CloudFormation's defaults are all unsafe.
    eks.CfnCluster(
        stack,
        "BareCluster",
        role_arn="arn:aws:iam::111111111111:role/eks",
        resources_vpc_config=eks.CfnCluster.ResourcesVpcConfigProperty(
            subnet_ids=[s.subnet_id for s in vpc.public_subnets]
        ),
    )
    node_role = iam.CfnRole(
        stack,
        "NodeRole",
        assume_role_policy_document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        },
    )
    template = ec2.CfnLaunchTemplate(
        stack,
        "LooseTemplate",
        launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
            key_name="ops",
            metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                http_tokens="optional", http_put_response_hop_limit=2
            ),
        ),
    )
    eks.CfnNodegroup(
        stack,
        "LooseNodes",
        cluster_name=cluster.cluster_name,
        node_role=node_role.attr_arn,
        subnets=[s.subnet_id for s in vpc.public_subnets],
        launch_template=eks.CfnNodegroup.LaunchTemplateSpecificationProperty(
            id=template.ref, version=template.attr_latest_version_number
        ),
    )


def _good(stack: cdk.Stack) -> None:
    iam.PermissionsBoundary.of(stack).apply(
        iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "eks-secure-boundary")
    )
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=AZS,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
        restrict_default_security_group=False,
    )
    s3 = vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    s3.add_to_policy(
        iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=["arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"],
        )
    )
    control_plane = ec2.SecurityGroup(stack, "ControlPlane", vpc=vpc, allow_all_outbound=False)
    control_plane.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/8"), ec2.Port.tcp(443))
    control_plane.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443))

    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.V1_34,
        vpc=vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        security_group=control_plane,
        endpoint_access=eks.EndpointAccess.PRIVATE,
        bootstrap_cluster_creator_admin_permissions=False,
        cluster_logging=ALL_LOGS,
        secrets_encryption_key=kms.Key(stack, "Secrets", enable_key_rotation=True),
        default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
        default_capacity=0,
    )
    cfn = cluster.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    cfn.add_property_override("ResourcesVpcConfig.ControlPlaneEgressMode", "CUSTOMER_ROUTED")
    HardenedNodegroup(
        stack,
        "Nodes",
        cluster=cluster,
        subnets=vpc.isolated_subnets,
        size=NodeGroupSize(min_size=1, max_size=2, desired_size=1),
    )


@functools.cache
def checks_app() -> ChecksApp:
    """The bad and good stacks, synthesized once with only ``EksSecureChecks`` registered."""
    outdir = Path(tempfile.mkdtemp(prefix="eks-secure-checks-"))
    app = cdk.App(outdir=str(outdir))
    _bad(cdk.Stack(app, "Bad", env=ENV))
    _good(cdk.Stack(app, "Good", env=ENV))
    cdk.Validations.of(app).add_plugins(EksSecureChecks(app))
    try:
        app.synth()
    except Exception as exc:  # the bad stack fails validation on purpose
        if "ValidationFailed" not in str(exc):
            raise
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return ChecksApp(app=app, outdir=outdir, report=report)
