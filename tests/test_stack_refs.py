"""eks_secure.stack_refs.pass_to: values passed into nested stacks under short, explicit names."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from eks_secure.errors import ConfigError
from eks_secure.stack_refs import pass_to

pytestmark = pytest.mark.xdist_group("stack-refs")


def _stacks() -> tuple[cdk.Stack, cdk.NestedStack, cdk.NestedStack, cdk.CfnResource]:
    app = cdk.App()
    parent = cdk.Stack(app, "Parent")
    producer = cdk.NestedStack(parent, "Producer")
    consumer = cdk.NestedStack(parent, "Consumer")
    resource = cdk.CfnResource(producer, "Thing", type="AWS::SNS::Topic")
    return parent, producer, consumer, resource


def _template(stack: cdk.Stack) -> dict[str, Any]:
    return assertions.Template.from_stack(stack).to_json()


def test_a_sibling_value_travels_as_one_output_and_one_parameter() -> None:
    parent, producer, consumer, thing = _stacks()
    value = pass_to(consumer, producer, "TopicArn", thing.ref)
    again = pass_to(consumer, producer, "TopicArn", thing.ref)
    cdk.CfnResource(consumer, "Use", type="AWS::SNS::Subscription", properties={"TopicArn": value})
    cdk.CfnResource(consumer, "Use2", type="AWS::SNS::Subscription", properties={"TopicArn": again})
    assert set(_template(producer)["Outputs"]) == {"TopicArn"}
    assert set(_template(consumer)["Parameters"]) == {"TopicArn"}
    (entry,) = (
        r
        for r in _template(parent)["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::Stack"
        and "TopicArn" in r["Properties"].get("Parameters", {})
    )
    assert entry["Properties"]["Parameters"]["TopicArn"]["Fn::GetAtt"][1] == "Outputs.TopicArn"


def test_a_parent_value_travels_as_one_parameter() -> None:
    parent, _, consumer, _ = _stacks()
    own = cdk.CfnResource(parent, "Own", type="AWS::SNS::Topic")
    value = pass_to(consumer, parent, "OwnTopic", own.ref)
    cdk.CfnResource(consumer, "Use", type="AWS::SNS::Subscription", properties={"TopicArn": value})
    assert set(_template(consumer)["Parameters"]) == {"OwnTopic"}


def test_the_same_stack_gets_the_value_itself() -> None:
    _, producer, _, thing = _stacks()
    assert pass_to(thing, producer, "Unused", thing.ref) == thing.ref


def test_one_name_for_two_values_is_an_error() -> None:
    parent, producer, consumer, thing = _stacks()
    other = cdk.CfnResource(parent, "Other", type="AWS::SNS::Topic")
    pass_to(consumer, producer, "TopicArn", thing.ref)
    with pytest.raises(ConfigError) as info:
        pass_to(consumer, parent, "TopicArn", other.ref)
    assert info.value.field == "pass_to.name" and "another value" in info.value.problem
