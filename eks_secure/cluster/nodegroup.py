"""Hardened managed node groups: IMDSv2 with hop limit 1, encrypted gp3 root, no SSH, private."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.jsii_types import as_icluster
from eks_secure.config.model import NodeGroupSize
from eks_secure.errors import ConfigError
from eks_secure.nag import acknowledge_managed_policies

NODE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEKS_CNI_Policy",
    "AmazonSSMManagedInstanceCore",
)
"""AWS-managed policies of the node role (SSM replaces SSH for node access)."""

ROOT_DEVICE = "/dev/xvda"
"""Root device name of the EKS-optimised Amazon Linux 2023 AMIs."""


@functools.cache
def aws_managed_policy(name: str) -> iam.IManagedPolicy:
    """``iam.ManagedPolicy.from_aws_managed_policy_name(name)``, made once per name: the
    reference holds no scope (its ARN resolves in the stack that uses it), so every node
    group's role shares it instead of one jsii call per role and policy."""
    return iam.ManagedPolicy.from_aws_managed_policy_name(name)


def ami_type_for(instance_types: Sequence[str], field: str) -> eks.NodegroupAmiType:
    """AL2023 AMI type matching the instance types' architecture (Graviton -> ARM64)."""
    arches = set()
    for i, itype in enumerate(instance_types):
        match = rules.INSTANCE_FAMILY.match(itype)
        if not match:
            raise ConfigError(
                f"{field}.instance_types[{i}]",
                f"'{itype}' is not an EC2 instance type",
                "use a type such as m7i.large or m7g.large",
            )
        arches.add("arm64" if "g" in match.group("options") else "x86_64")
    if len(arches) != 1:
        raise ConfigError(
            f"{field}.instance_types",
            "mixes Graviton (ARM64) and x86_64 instance types in one node group",
            "use instance types of one architecture per node group",
        )
    if arches == {"arm64"}:
        return eks.NodegroupAmiType.AL2023_ARM_64_STANDARD
    return eks.NodegroupAmiType.AL2023_X86_64_STANDARD


class HardenedNodegroup(Construct):
    """A managed node group with a hardened launch template, in the given private subnets.

    The launch template requires IMDSv2 with a hop limit of 1 (pods cannot reach instance
    credentials), encrypts the gp3 root volume, sets no SSH key, and the node group sets no
    remote access. Nodes get SSM access (Session Manager through the VPC endpoints) instead.

    :param cluster: the cluster to join.
    :param subnets: private subnets to launch nodes in (one per AZ).
    :param size: instance types and scaling bounds.
    :param labels: Kubernetes node labels.
    :param taints: Kubernetes node taints.
    :param field: config path used in error messages (e.g. ``apps[0].nodes``).
    :param user_data: MIME multi-part user data EKS merges with its own (e.g. a nodeadm
        ``NodeConfig`` part). Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: eks.Cluster,
        subnets: Sequence[ec2.ISubnet],
        size: NodeGroupSize,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[eks.TaintSpec] = (),
        field: str = "nodes",
        user_data: ec2.UserData | None = None,
    ) -> None:
        super().__init__(scope, id)
        if not isinstance(size, NodeGroupSize):
            raise ConfigError(
                f"{field}",
                f"is a {type(size).__name__}, not a NodeGroupSize",
                "pass NodeGroupSize(...)",
            )
        # bounds and disk size are checked by NodeGroupSize itself when it is built
        ami_type = ami_type_for(size.instance_types, field)
        self.subnets: tuple[ec2.ISubnet, ...] = tuple(subnets)
        """The subnets the nodes launch in."""
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            require_imdsv2=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=1,
            http_endpoint=True,
            instance_metadata_tags=False,
            user_data=user_data,
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE,
                    volume=ec2.BlockDeviceVolume.ebs(
                        size.disk_size_gib,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        """The hardened launch template."""
        self.node_role = iam.Role(
            self,
            "NodeRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[aws_managed_policy(name) for name in NODE_POLICIES],
        )
        """IAM role of the nodes."""
        acknowledge_managed_policies(
            self.node_role,
            NODE_POLICIES,
            "EKS documents these AWS-managed policies as the node role's requirements; AWS "
            "keeps them current with new EKS, ECR and SSM features.",
        )
        self.nodegroup = eks.Nodegroup(
            self,
            "Nodegroup",
            cluster=as_icluster(cluster),
            subnets=ec2.SubnetSelection(subnets=list(subnets)),
            ami_type=ami_type,
            instance_types=[ec2.InstanceType(t) for t in size.instance_types],
            min_size=size.min_size,
            max_size=size.max_size,
            desired_size=size.desired_size,
            labels=dict(labels or {}),
            taints=list(taints),
            node_role=self.node_role,
            launch_template_spec=eks.LaunchTemplateSpec(
                id=self.launch_template.launch_template_id or "",
                version=self.launch_template.latest_version_number,
            ),
            enable_node_auto_repair=True,
        )
        """The managed node group."""
