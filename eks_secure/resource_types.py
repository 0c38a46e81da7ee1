"""What kind of CloudFormation resource a construct is, with as few jsii calls as possible.

Walking a whole stack from Python costs one jsii round-trip per property read, so asking every
construct for its ``cfn_resource_type`` (or ``TagManager.is_taggable``) made thousands of them
at scale (docs/performance.md). jsii hands Python a proxy of the construct's own class
(``aws_iam.CfnRole`` for the ``CfnRole`` an ``iam.Role`` creates), and every generated L1 class
has one resource type and one taggability, so both are asked once per class; only the generic
``cdk.CfnResource`` (custom resources, the resources of CDK's custom-resource providers) is asked
per construct.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

_TYPE_OF_CLASS: dict[type, str] = {}
_TAGGABLE_CLASS: dict[type, bool] = {}


def _is_l1_class(cls: type) -> bool:
    """A generated L1 class (``Cfn<Resource>``): a fixed type name of its own."""
    return "CFN_RESOURCE_TYPE_NAME" in vars(cls)


def cfn_resource_type(node: IConstruct) -> str | None:
    """``node``'s CloudFormation resource type (``AWS::IAM::Role``, ``Custom::...``), or
    ``None`` when it is not a ``CfnResource``."""
    if not isinstance(node, cdk.CfnResource):
        return None
    cls = type(node)
    if not _is_l1_class(cls):
        return node.cfn_resource_type
    if cls not in _TYPE_OF_CLASS:
        _TYPE_OF_CLASS[cls] = node.cfn_resource_type
    return _TYPE_OF_CLASS[cls]


def is_taggable(node: IConstruct) -> bool:
    """Whether CDK's tag manager tags ``node`` (``cdk.TagManager.is_taggable``)."""
    cls = type(node)
    if not _is_l1_class(cls):
        return bool(cdk.TagManager.is_taggable(node))
    if cls not in _TAGGABLE_CLASS:
        _TAGGABLE_CLASS[cls] = bool(cdk.TagManager.is_taggable(node))
    return _TAGGABLE_CLASS[cls]
