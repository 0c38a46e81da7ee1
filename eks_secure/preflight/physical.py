"""Physical names, IDs, ARNs and tags of template resources, as CloudFormation will create them.

Resources without an explicit name get a generated one. CloudFormation builds it as
``<stack name>-<logical ID>-<tail>``, where the tail is 12 random characters. When that is longer
than the service allows, it keeps 13 characters for the tail and its hyphen, and shares the rest
between the stack name and the logical ID around one more hyphen: each part takes what the other
leaves, the stack name rounding up. So a 64-character IAM role name keeps at most 25 characters of
a long stack name, which is what a policy that scopes ``role/<stack name>-*`` matches on. AWS does
not document the rule; it reproduces the names CloudFormation generated in the cases recorded in
docs/preflight.md. The random tail is replaced by a stable placeholder derived from the resource.

IDs that only exist after creation (``subnet-...``, a KMS key ID) are stable placeholders too, so
they match wildcards in policies but never a specific ID.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eks_secure.preflight.assembly import ResourceRef, Stack

TAIL_LENGTH = 12

NAME_PROPERTIES: dict[str, tuple[str | None, int]] = {
    "AWS::IAM::Role": ("RoleName", 64),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128),
    "AWS::IAM::InstanceProfile": ("InstanceProfileName", 128),
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    "AWS::CloudFormation::Stack": (None, 128),
    "AWS::EKS::Cluster": ("Name", 100),
    "AWS::CloudTrail::Trail": ("TrailName", 128),
    "AWS::S3::Bucket": ("BucketName", 63),
    "AWS::Events::Rule": ("Name", 64),
    "AWS::SNS::Topic": ("TopicName", 256),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255),
}
"""Resource types whose name CloudFormation generates when absent: (name property, max length)."""

EC2_TYPES: dict[str, tuple[str, str]] = {
    "AWS::EC2::VPC": ("vpc", "vpc"),
    "AWS::EC2::Subnet": ("subnet", "subnet"),
    "AWS::EC2::RouteTable": ("rtb", "route-table"),
    "AWS::EC2::SecurityGroup": ("sg", "security-group"),
    "AWS::EC2::NetworkAcl": ("acl", "network-acl"),
    "AWS::EC2::VPCEndpoint": ("vpce", "vpc-endpoint"),
    "AWS::EC2::TransitGatewayVpcAttachment": ("tgw-attach", "transit-gateway-attachment"),
    "AWS::EC2::NatGateway": ("nat", "natgateway"),
    "AWS::EC2::LaunchTemplate": ("lt", "launch-template"),
    "AWS::EC2::FlowLog": ("fl", "vpc-flow-log"),
    "AWS::EC2::VPNGateway": ("vgw", "vpn-gateway"),
    "AWS::EC2::InternetGateway": ("igw", "internet-gateway"),
    "AWS::EC2::NetworkInterface": ("eni", "network-interface"),
}
"""EC2 resource types: (ID prefix, IAM resource type)."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def tail(*parts: str) -> str:
    """The stable stand-in for CloudFormation's 12 random characters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    number = int(_digest(*parts), 16)
    chars = []
    for _ in range(TAIL_LENGTH):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def generated_name(stack_name: str, logical_id: str, limit: int, suffix: str) -> str:
    """The name CloudFormation generates for an unnamed resource (see the module docstring)."""
    if len(stack_name) + len(logical_id) + 2 + TAIL_LENGTH <= limit:
        return f"{stack_name}-{logical_id}-{suffix}"
    budget = limit - (TAIL_LENGTH + 1) - 1
    stack_part = min(len(stack_name), max(-(-budget // 2), budget - len(logical_id)))
    logical_part = budget - stack_part
    return f"{stack_name[:stack_part]}-{logical_id[:logical_part]}-{suffix}"


def nested_stack_name(parent: Stack, logical_id: str) -> str:
    """The generated name of the nested stack ``logical_id`` of ``parent``."""
    return generated_name(parent.name, logical_id, 128, tail(parent.key, logical_id))


def stack_arn(stack: Stack) -> str:
    """The stack's ARN (its ID part is a placeholder)."""
    env = stack.env
    uuid = _digest(stack.key)[:36]
    return (
        f"arn:{env.partition}:cloudformation:{env.region}:{env.account}:stack/{stack.name}/{uuid}"
    )


def name_of(stack: Stack, logical_id: str) -> str | None:
    """The physical name of a named-or-generated resource (``None`` for other types)."""
    resource = stack.resources[logical_id]
    spec = NAME_PROPERTIES.get(str(resource.get("Type")))
    if spec is None:
        return None
    prop, limit = spec
    if prop is not None:
        explicit = resource.get("Properties", {}).get(prop)
        if explicit is not None:
            return stack.text(explicit)
    if resource.get("Type") == "AWS::CloudFormation::Stack":
        child = stack.assembly.nested(stack, logical_id)
        if child is not None:
            return child.name
    return generated_name(stack.name, logical_id, limit, tail(stack.key, logical_id))


def is_generated(stack: Stack, logical_id: str) -> bool:
    """Whether CloudFormation generates this resource's name."""
    resource = stack.resources[logical_id]
    spec = NAME_PROPERTIES.get(str(resource.get("Type")))
    if spec is None:
        return False
    prop = spec[0]
    return prop is None or prop not in resource.get("Properties", {})


def _id(stack: Stack, logical_id: str, prefix: str) -> str:
    return f"{prefix}-0{_digest(stack.key, logical_id)[:16]}"


def ref_value(stack: Stack, logical_id: str) -> str:
    """What ``Ref`` returns for the resource, with placeholders for what exists only deployed."""
    resource = stack.resources[logical_id]
    rtype = str(resource.get("Type"))
    props = resource.get("Properties", {})
    env = stack.env
    if rtype in EC2_TYPES:
        return _id(stack, logical_id, EC2_TYPES[rtype][0])
    if rtype == "AWS::CloudFormation::Stack":
        child = stack.assembly.nested(stack, logical_id)
        return stack_arn(child) if child is not None else f"{{{logical_id}}}"
    if rtype == "AWS::KMS::Key":
        digest = _digest(stack.key, logical_id)
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    if rtype == "AWS::SSM::Parameter":
        if "Name" in props:
            return stack.text(props["Name"])
        return f"CFN-{logical_id}-{tail(stack.key, logical_id)}"
    if rtype == "AWS::Lambda::LayerVersion":
        name = stack.text(props.get("LayerName", logical_id))
        return f"arn:{env.partition}:lambda:{env.region}:{env.account}:layer:{name}:1"
    if rtype == "AWS::EKS::Nodegroup":
        return f"{stack.text(props.get('ClusterName'))}/{nodegroup_name(stack, logical_id)}"
    if rtype == "AWS::SNS::Topic":
        return f"arn:{env.partition}:sns:{env.region}:{env.account}:{name_of(stack, logical_id)}"
    declared = name_of(stack, logical_id)
    if declared is not None:
        return declared
    return f"{logical_id}-{tail(stack.key, logical_id)}"


def nodegroup_name(stack: Stack, logical_id: str) -> str:
    """A node group's name (EKS generates ``<logical ID>-<tail>`` when none is given)."""
    props = stack.resources[logical_id].get("Properties", {})
    if "NodegroupName" in props:
        return stack.text(props["NodegroupName"])
    return f"{logical_id}-{tail(stack.key, logical_id)}"


REF_IS_ARN = frozenset(
    {"AWS::Lambda::LayerVersion", "AWS::CloudFormation::Stack", "AWS::SNS::Topic"}
)
"""Types whose ``Ref`` is their ARN."""

NAMED_ARNS: dict[str, str] = {
    "AWS::Lambda::Function": "lambda:{regional}:function:",
    "AWS::Logs::LogGroup": "logs:{regional}:log-group:",
    "AWS::EKS::Cluster": "eks:{regional}:cluster/",
    "AWS::CloudTrail::Trail": "cloudtrail:{regional}:trail/",
    "AWS::Events::Rule": "events:{regional}:rule/",
    "AWS::CloudWatch::Alarm": "cloudwatch:{regional}:alarm:",
}
"""ARN (after ``arn:<partition>:``) of the types named by their name property, up to the name."""


def arn_of(stack: Stack, logical_id: str) -> str | None:
    """The IAM ARN of the resource, or ``None`` when the type has none (routes, associations)."""
    resource = stack.resources[logical_id]
    rtype = str(resource.get("Type"))
    props = resource.get("Properties", {})
    env = stack.env
    prefix = f"arn:{env.partition}"
    regional = f"{env.region}:{env.account}"
    uuid = _digest(stack.key, logical_id, "uuid")[:32]
    if rtype in EC2_TYPES:
        return f"{prefix}:ec2:{regional}:{EC2_TYPES[rtype][1]}/{ref_value(stack, logical_id)}"
    if rtype in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
        path = stack.text(props.get("Path", "/"))
        kind = "role" if rtype == "AWS::IAM::Role" else "policy"
        return f"{prefix}:iam::{env.account}:{kind}{path}{name_of(stack, logical_id)}"
    if rtype in REF_IS_ARN:
        return ref_value(stack, logical_id)
    if rtype == "AWS::SSM::Parameter":
        return f"{prefix}:ssm:{regional}:parameter/{ref_value(stack, logical_id).lstrip('/')}"
    if rtype == "AWS::KMS::Key":
        return f"{prefix}:kms:{regional}:key/{ref_value(stack, logical_id)}"
    if rtype == "AWS::S3::Bucket":
        return f"{prefix}:s3:::{(name_of(stack, logical_id) or '').lower()}"
    if rtype in NAMED_ARNS:
        return f"{prefix}:{NAMED_ARNS[rtype].format(regional=regional)}{name_of(stack, logical_id)}"
    if rtype == "AWS::EKS::Nodegroup":
        return f"{prefix}:eks:{regional}:nodegroup/{ref_value(stack, logical_id)}/{uuid}"
    if rtype == "AWS::EKS::Addon":
        cluster, addon = stack.text(props.get("ClusterName")), stack.text(props.get("AddonName"))
        return f"{prefix}:eks:{regional}:addon/{cluster}/{addon}/{uuid}"
    if rtype == "AWS::EKS::AccessEntry":
        cluster = stack.text(props.get("ClusterName"))
        principal = stack.text(props.get("PrincipalArn"))
        role = principal.rsplit("/", 1)[-1]
        return f"{prefix}:eks:{regional}:access-entry/{cluster}/role/{env.account}/{role}/{uuid}"
    return None


def attribute(stack: Stack, logical_id: str, name: str) -> Any:
    """The value of ``Fn::GetAtt`` (placeholders for what exists only deployed)."""
    resource = stack.resources[logical_id]
    rtype = str(resource.get("Type"))
    props = resource.get("Properties", {})
    if name == "Arn" or name.endswith(".Arn") or name in ("LayerVersionArn", "StackId"):
        return arn_of(stack, logical_id) or f"{{{logical_id}.{name}}}"
    if name in ("GroupId", "SubnetId", "RouteTableId", "VpcId", "Id", "NetworkAclId"):
        return ref_value(stack, logical_id)
    if name == "CidrBlock" and "CidrBlock" in props:
        return stack.resolve(props["CidrBlock"])
    if name == "DefaultSecurityGroup" and rtype == "AWS::EC2::VPC":
        return f"sg-0{_digest(stack.key, logical_id, 'default')[:16]}"
    if name == "LatestVersionNumber":
        return "1"
    if name == "Endpoint" and rtype == "AWS::EKS::Cluster":
        host = _digest(stack.key, logical_id)[:32].upper()
        return f"https://{host}.gr7.{stack.env.region}.eks.amazonaws.com"
    if name == "ClusterSecurityGroupId" and rtype == "AWS::EKS::Cluster":
        return f"sg-0{_digest(stack.key, logical_id, 'cluster-sg')[:16]}"
    return f"{{{logical_id}.{name}}}"


def render(value: Any) -> str:
    """A resolved value as text: references become their placeholders."""
    from eks_secure.preflight.assembly import NoValue, ResourceRef

    if isinstance(value, str):
        return value
    if isinstance(value, ResourceRef):
        return render_ref(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, NoValue) or value is None:
        return ""
    if isinstance(value, list):
        return ",".join(render(v) for v in value)
    return json.dumps(value, sort_keys=True, default=render)


def render_ref(ref: ResourceRef) -> str:
    """The placeholder text of a reference."""
    if ref.logical_id not in ref.stack.resources:
        return f"{{{ref.logical_id}}}"
    if ref.attribute is None:
        return ref_value(ref.stack, ref.logical_id)
    return render(attribute(ref.stack, ref.logical_id, ref.attribute))


def resource_tags(stack: Stack, logical_id: str, *, system: bool = True) -> dict[str, str]:
    """Tags the deployed resource carries: its own, the stack's, and CloudFormation's own.

    Stack-level tags (a top-level stack's ``tags`` in the manifest, inherited by nested stacks)
    are propagated by CloudFormation to every taggable resource; with ``system`` the
    ``aws:cloudformation:*`` tags are included where the type receives them.
    """
    from eks_secure.preflight.schemas import resource_schema

    resource = stack.resources[logical_id]
    schema = resource_schema(str(resource.get("Type")), stack.env.region) or {}
    tagging = schema.get("tagging", {})
    tags: dict[str, str] = {}
    if tagging.get("taggable", False):
        tags.update(stack.tags)
    raw = stack.resolve(resource.get("Properties", {}).get("Tags", []))
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and "Key" in item:
                tags[render(item["Key"])] = render(item.get("Value", ""))
    elif isinstance(raw, dict):
        tags.update({render(k): render(v) for k, v in raw.items()})
    own_type = EC2_TYPES.get(str(resource.get("Type")), ("", ""))[1]
    for spec in stack.resolve(resource.get("Properties", {}).get("TagSpecifications", [])):
        if isinstance(spec, dict) and render(spec.get("ResourceType")) == own_type:
            for item in spec.get("Tags", []):
                tags[render(item.get("Key"))] = render(item.get("Value", ""))
    if system and tagging.get("cloudFormationSystemTags", False):
        tags["aws:cloudformation:stack-name"] = stack.name
        tags["aws:cloudformation:logical-id"] = logical_id
        tags["aws:cloudformation:stack-id"] = stack_arn(stack)
    return tags


def render_tree(value: object) -> dict[str, object]:
    """A resolved document (a policy) with every leaf rendered as text."""

    def walk(v: object) -> object:
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return render(v)

    result = walk(value)
    return result if isinstance(result, dict) else {}
