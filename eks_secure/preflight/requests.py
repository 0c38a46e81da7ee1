"""The API requests CloudFormation makes, as the stack's execution role, for each resource.

For every resource the requests are the union of its type's ``create``, ``update`` and
``delete`` handler permissions (``delete`` is skipped under ``DeletionPolicy: Retain``), read from
the provider schema, each turned into concrete requests:

* **Resource ARNs.** An action is evaluated on the ARNs it takes (IAM service reference): the
  resource's own ARN and the ARNs of the resources its properties reference (``Ref``/``GetAtt``,
  through nested-stack parameters, and literal ARNs), when their format matches one of the
  action's resource types. An action that takes no resource type is evaluated on ``*``.
* **Cross-service permissions.** A handler permission of another service than the resource's
  own counts only when the resource's properties reference that service (a subnet for
  ``ec2:DescribeSubnets`` of a Lambda function, a key for ``kms:CreateGrant``); otherwise the
  handler has nothing of that service to call for this resource (``vpc-lattice:*`` of an
  endpoint without a service network, ``elasticfilesystem:*`` of a function without EFS).
* **Tags.** Creating and tagging calls carry ``aws:RequestTag/<key>`` and ``aws:TagKeys`` with
  the tags the resource will have (its own, the stack's, and CloudFormation's
  ``aws:cloudformation:*`` where the type receives them). Calls on an existing resource carry
  ``aws:ResourceTag/<key>`` (and ``<service>:ResourceTag/<key>``) with its tags.
* **Passed roles.** ``iam:PassRole`` is requested for every role ARN in the properties, with
  ``iam:PassedToService`` the service the type passes it to; a nested stack passes the stack's
  execution role itself to ``cloudformation.amazonaws.com``.
* **Custom resources.** ``lambda:InvokeFunction`` on the ``ServiceToken`` function.
* **Assets.** ``s3:GetObject`` on the S3 objects a resource reads (Lambda code and layers, nested
  stack templates).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eks_secure.preflight.assembly import ResourceRef, Stack
from eks_secure.preflight.iam_eval import ContextValue
from eks_secure.preflight.physical import arn_of, render, resource_tags
from eks_secure.preflight.schemas import action_info, arn_matches_type, handler_permissions

OPERATIONS = ("create", "update", "delete")

SERVICE_PREFIX = {
    "elasticloadbalancingv2": "elasticloadbalancing",
    "applicationautoscaling": "application-autoscaling",
}

PASSED_TO_SERVICE = {
    "AWS::EKS::Cluster": "eks.amazonaws.com",
    "AWS::EKS::Nodegroup": "eks.amazonaws.com",
    "AWS::EKS::Addon": "eks.amazonaws.com",
    "AWS::EKS::PodIdentityAssociation": "eks.amazonaws.com",
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::EC2::FlowLog": "vpc-flow-logs.amazonaws.com",
    "AWS::EC2::LaunchTemplate": "ec2.amazonaws.com",
    "AWS::IAM::InstanceProfile": "ec2.amazonaws.com",
    "AWS::CloudFormation::Stack": "cloudformation.amazonaws.com",
}
"""Service a resource type passes its roles to (``iam:PassedToService``)."""

SERVICE_LINKED_ROLES = {
    "AWS::EKS::Cluster": ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS"),
    "AWS::EKS::Nodegroup": ("eks-nodegroup.amazonaws.com", "AWSServiceRoleForAmazonEKSNodegroup"),
}
"""Service-linked role a type's handler may create on first use in an account."""

PROPERTY_GATED = {
    "iam:PutRolePermissionsBoundary": "PermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary": "PermissionsBoundary",
    "logs:PutResourcePolicy": "ResourcePolicyDocument",
    "logs:DeleteResourcePolicy": "ResourcePolicyDocument",
    "logs:DescribeResourcePolicies": "ResourcePolicyDocument",
    "logs:PutIndexPolicy": "FieldIndexPolicies",
    "logs:DeleteIndexPolicy": "FieldIndexPolicies",
    "logs:DescribeIndexPolicies": "FieldIndexPolicies",
    "sns:Subscribe": "Subscription",
    "sns:Unsubscribe": "Subscription",
}
"""Same-service handler permissions needed only when the resource sets the property."""

CHANGE_ONLY = {
    "iam:UpdateAssumeRolePolicy": "AssumeRolePolicyDocument",
    "iam:DeleteRolePermissionsBoundary": "PermissionsBoundary",
}
"""Update-handler permissions used only when that property changes (or is removed). Not
requested: the preflight sees one template, not a change, and eks-secure's creator denies both
(a role whose trust must change is replaced, docs/creator-role-runbook.md; every role keeps the
cluster's permissions boundary)."""

BOUNDARY_KEYED = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
)
"""Role actions whose request carries ``iam:PermissionsBoundary`` (the role's boundary)."""

NOT_PASSED = ("PrincipalArn",)
"""Properties holding role ARNs that are referenced, not passed (an access entry's principal)."""

MATCH_ONLY = ("EventPattern",)
"""Top-level properties that only describe what to match (an EventBridge rule's pattern naming
the break-glass role): the ARNs in them are neither passed nor acted on."""

CREATING_VERBS = ("Create", "Run", "Allocate", "Publish", "Import", "Register")
CREATING_ACTIONS = ("ssm:PutParameter",)
TAGGING = ("TagResource", "CreateTags", "AddTagsToResource", "TagRole", "TagOpenIDConnectProvider")


@dataclass(frozen=True)
class NeededRequest:
    """A request a deployment makes, and why."""

    stack: Stack = field(compare=False, hash=False)
    logical_id: str
    operation: str
    action: str
    resource: str
    context: tuple[tuple[str, ContextValue], ...] = ()

    @property
    def context_dict(self) -> dict[str, ContextValue]:
        """The request context."""
        return dict(self.context)


def service_of(resource_type: str) -> str:
    """IAM service prefix of a CloudFormation type (``AWS::EC2::Subnet`` -> ``ec2``)."""
    parts = resource_type.split("::")
    name = parts[1].lower() if len(parts) > 2 else resource_type.lower()
    return SERVICE_PREFIX.get(name, name)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, path)


def _s3_objects(props: dict[str, Any]) -> list[str]:
    arns = []
    for _, value in _walk(props):
        if isinstance(value, dict) and "S3Bucket" in value and "S3Key" in value:
            arns.append(f"{render(value['S3Bucket'])}/{render(value['S3Key'])}")
    url = props.get("TemplateURL")
    if isinstance(url, str) and url.startswith("https://"):
        host_path = url.split("://", 1)[1].split("/", 1)
        if len(host_path) == 2:
            arns.append(host_path[1])
    return arns


@dataclass
class _Referenced:
    arns: dict[str, tuple[Stack, str] | None] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)


def _references(stack: Stack, logical_id: str, props: dict[str, Any]) -> _Referenced:
    found = _Referenced()
    for path, value in _walk(props):
        if path.split(".", 1)[0] in MATCH_ONLY:
            continue
        arn: str | None = None
        owner: tuple[Stack, str] | None = None
        if isinstance(value, ResourceRef) and value.logical_id in value.stack.resources:
            arn = arn_of(value.stack, value.logical_id)
            owner = (value.stack, value.logical_id)
        elif isinstance(value, str) and value.startswith("arn:"):
            arn = value
            owner = _owner_of(stack, value)
        if arn is None:
            continue
        found.arns.setdefault(arn, owner)
        last = path.rsplit(".", 1)[-1]
        if ":iam::" in arn and ":role/" in arn and last not in NOT_PASSED:
            found.roles.append(arn)
    return found


def _owner_of(stack: Stack, arn: str) -> tuple[Stack, str] | None:
    for other in stack.assembly.stacks:
        for logical_id, _ in other.active_resources():
            if arn_of(other, logical_id) == arn:
                return other, logical_id
    return None


def _tag_context(tags: dict[str, str], prefix: str) -> dict[str, ContextValue]:
    return {f"{prefix}/{k}": v for k, v in tags.items()}


def _create_action(rtype: str, region: str, service: str) -> str | None:
    """The action that creates a resource of ``rtype`` (``ec2:CreateAction`` of its tags)."""
    for permission in handler_permissions(rtype, region, "create"):
        prefix, _, verb = permission.partition(":")
        if prefix == service and verb.startswith(CREATING_VERBS) and verb not in TAGGING:
            return verb
    return None


def _boundary_context(stack: Stack, logical_id: str) -> dict[str, ContextValue]:
    """``iam:PermissionsBoundary`` of a request on a role: the role's boundary, if it has one."""
    if stack.resources[logical_id].get("Type") != "AWS::IAM::Role":
        return {}
    boundary = stack.properties(logical_id).get("PermissionsBoundary")
    return {"iam:PermissionsBoundary": render(boundary)} if boundary is not None else {}


def requests_for(stack: Stack, logical_id: str) -> Iterator[NeededRequest]:
    """Every request CloudFormation makes for one resource (see the module docstring)."""
    resource = stack.resources[logical_id]
    rtype = str(resource.get("Type", ""))
    props = stack.properties(logical_id)
    region = stack.env.region
    env = stack.env

    def make(
        operation: str, action: str, arn: str, context: dict[str, ContextValue]
    ) -> NeededRequest:
        return NeededRequest(
            stack, logical_id, operation, action, arn, tuple(sorted(context.items()))
        )

    if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
        token = render(props.get("ServiceToken", ""))
        if ":lambda:" in token:
            for operation in OPERATIONS:
                yield make(operation, "lambda:InvokeFunction", token, {})
        elif ":sns:" in token:
            for operation in OPERATIONS:
                yield make(operation, "sns:Publish", token, {})
        return

    own_service = service_of(rtype)
    own_arn = arn_of(stack, logical_id)
    own_tags = resource_tags(stack, logical_id)
    from eks_secure.preflight.schemas import resource_schema

    schema = resource_schema(rtype, region) or {}
    tag_on_create = bool(schema.get("tagging", {}).get("tagOnCreate", False)) or bool(
        props.get("TagSpecifications")
    )
    taggable = bool(schema.get("tagging", {}).get("taggable", False))
    refs = _references(stack, logical_id, props)
    s3_objects = [f"arn:{env.partition}:s3:::{o}" for o in _s3_objects(props)]
    ref_services = {a.split(":")[2] for a in refs.arns if a.count(":") >= 5} | (
        {"s3"} if s3_objects else set()
    )
    retained = resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")

    create_action = _create_action(rtype, region, own_service)
    for operation in OPERATIONS:
        if operation == "delete" and retained and resource.get("DeletionPolicy") == "Retain":
            continue
        for permission in handler_permissions(rtype, region, operation):
            info = action_info(permission)
            if info is None:
                continue  # not an IAM action (e.g. "s3:REST.PUT.OBJECT"): nothing to authorize
            service = info.service
            if permission in PROPERTY_GATED and PROPERTY_GATED[permission] not in props:
                continue
            if operation == "update" and permission in CHANGE_ONLY:
                continue
            verb = info.name
            creating = (verb.startswith(CREATING_VERBS) or permission in CREATING_ACTIONS) and (
                verb not in TAGGING
            )
            tagging = verb in TAGGING
            base: dict[str, ContextValue] = {}
            if service == own_service and (creating or tagging) and taggable:
                base.update(_tag_context(own_tags, "aws:RequestTag"))
                base["aws:TagKeys"] = tuple(sorted(own_tags))
            if permission == "eks:CreateCluster":
                vpc = props.get("ResourcesVpcConfig", {})
                if isinstance(vpc, dict) and "ControlPlaneEgressMode" in vpc:
                    base["eks:controlPlaneEgressMode"] = render(vpc["ControlPlaneEgressMode"])

            if permission == "iam:CreateServiceLinkedRole":
                if rtype in SERVICE_LINKED_ROLES:
                    name, role = SERVICE_LINKED_ROLES[rtype]
                    arn = (
                        f"arn:{env.partition}:iam::{env.account}"
                        f":role/aws-service-role/{name}/{role}"
                    )
                    yield make(operation, permission, arn, {**base, "iam:AWSServiceName": name})
                continue
            if permission == "iam:PassRole":
                passed = list(refs.roles)
                if rtype == "AWS::CloudFormation::Stack" and stack.execution_role_arn:
                    passed = [stack.execution_role_arn]
                to = PASSED_TO_SERVICE.get(rtype, f"{own_service}.amazonaws.com")
                for arn in dict.fromkeys(passed):
                    yield make(operation, permission, arn, {**base, "iam:PassedToService": to})
                continue
            if service != own_service and service not in ref_services:
                continue
            if service == "s3":
                for arn in s3_objects:
                    yield make(operation, permission, arn, base)
                continue
            if not info.resource_types:
                yield make(operation, permission, "*", base)
                continue

            candidates: list[tuple[str, tuple[Stack, str] | None, bool]] = []
            if own_arn is not None and any(
                arn_matches_type(own_arn, service, t) for t in info.resource_types
            ):
                candidates.append((own_arn, (stack, logical_id), True))
            for arn, owner in refs.arns.items():
                if arn != own_arn and any(
                    arn_matches_type(arn, service, t) for t in info.resource_types
                ):
                    candidates.append((arn, owner, False))
            if not candidates:
                if (
                    service != own_service
                    or own_arn is not None
                    or any(a.split(":")[2:3] == [service] for a in refs.arns)
                ):
                    continue  # acts on nothing this resource has (an unused optional feature)
                # an optional feature of the type (e.g. ec2:CreateVpcEncryptionControl): on the
                # action's own resource type, with a name no specific policy resource matches
                where = f"{env.partition}:{service}:{env.region}:{env.account}"
                fmt = f"arn:{where}:{info.resource_types[0]}/*"
                candidates.append((fmt.replace("/*", "/preflight-unnamed"), None, False))
            for arn, owner, own in candidates:
                context = dict(base)
                if owner is not None and not (
                    own and operation == "create" and (creating or tagging)
                ):
                    if own and operation == "create" and not tag_on_create:
                        tags: dict[str, str] = {}
                    elif own:
                        tags = own_tags
                    else:
                        tags = resource_tags(*owner)
                    context.update(_tag_context(tags, "aws:ResourceTag"))
                    context.update(_tag_context(tags, f"{service}:ResourceTag"))
                if (
                    service == "ec2"
                    and tagging
                    and own
                    and operation == "create"
                    and tag_on_create
                    and create_action
                ):
                    context["ec2:CreateAction"] = create_action
                if permission in BOUNDARY_KEYED and owner is not None:
                    context.update(_boundary_context(*owner))
                yield make(operation, permission, arn, context)
