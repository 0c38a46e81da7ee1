"""Short, explicit references between a stack and its nested stacks.

CDK passes a value from one stack to a nested stack by itself, but names each parameter (and
each output of a sibling nested stack) after the full construct path of what it references:
about 150 characters per reference, written into the parent's template once per nested stack
resource. At hundreds of app stacks that is most of the cluster stack's template (1 MB limit,
docs/performance.md). :func:`pass_to` passes a value under a short name instead: an output
``name`` of the producing nested stack, a parameter ``name`` of the consuming one. The values
(and so every resource) are the same; only the parameter and output names change.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from eks_secure.errors import ConfigError
from eks_secure.memo import memo

_PASSED = "_eks_secure_passed"
"""Attribute of a parameter made by :func:`pass_to`: the value it passes, resolved in the
parent (so a second call with the same value reuses it and another value is an error)."""


def _nested(stack: cdk.Stack) -> cdk.NestedStack | None:
    return stack if isinstance(stack, cdk.NestedStack) else None


_PARENT = "_eks_secure_parent"


def _parent(nested: cdk.NestedStack) -> cdk.Stack | None:
    """``nested.nested_stack_parent``, read once per nested stack (it never changes)."""
    return memo(nested, _PARENT, lambda: nested.nested_stack_parent)


_EXPORTED = "_eks_secure_exported"
"""Attribute of a nested stack made a producer by :func:`_export`: output name -> (value, the
``GetAtt`` token in the parent), so passing one value to many consumers reads it once."""


def _export(producer: cdk.NestedStack, name: str, value: str) -> str:
    """``value`` (of ``producer``) as seen in its parent: a ``GetAtt`` of output ``name``."""
    exported: dict[str, tuple[str, str]] = memo(producer, _EXPORTED, dict)
    if name in exported:
        passed, token = exported[name]
        if passed != value:
            raise ConfigError(
                "pass_to.name",
                f"output '{name}' of {producer.node.path} already passes another value",
                "give each passed value its own name",
            )
        return token
    output = producer.node.try_find_child(name)
    if output is None:
        output = cdk.CfnOutput(producer, name, value=value)
    elif not isinstance(output, cdk.CfnOutput) or output.value != value:
        raise ConfigError(
            "pass_to.name",
            f"output '{name}' of {producer.node.path} already passes another value",
            "give each passed value its own name",
        )
    resource = producer.nested_stack_resource
    assert resource is not None  # a NestedStack always has its resource in the parent
    token = resource.get_att(f"Outputs.{name}").to_string()
    exported[name] = (value, token)
    return token


def pass_to(consumer: Construct, producer: cdk.Stack, name: str, value: str) -> str:
    """``value``, a token of stack ``producer``, usable in ``consumer``'s stack.

    When ``consumer`` is in a nested stack of ``producer``, in ``producer``'s parent, or in a
    sibling nested stack of ``producer``, the value travels as output ``name`` of ``producer``
    and/or parameter ``name`` of the consumer's stack; ``name`` must be unique in both (an
    alphanumeric CloudFormation logical ID). Otherwise (same stack, or any other layout)
    ``value`` itself is returned and CDK references it as usual.
    """
    target = cdk.Stack.of(consumer)
    nested_target = _nested(target)
    nested_producer = _nested(producer)
    if target is producer:
        return value
    if nested_producer is not None and _parent(nested_producer) is target:
        return _export(nested_producer, name, value)
    if nested_target is None:
        return value
    parent = _parent(nested_target)
    if parent is None:  # pragma: no cover - a NestedStack always has a parent stack
        return value
    if parent is producer:
        outer = value
    elif nested_producer is not None and _parent(nested_producer) is parent:
        outer = _export(nested_producer, name, value)
    else:
        return value
    passed = parent.resolve(outer)  # the same value, whichever token stands for it
    existing = nested_target.node.try_find_child(name)
    if existing is not None:
        if not isinstance(existing, cdk.CfnParameter) or getattr(existing, _PASSED, None) != passed:
            raise ConfigError(
                "pass_to.name",
                f"parameter '{name}' of {nested_target.node.path} already passes another value",
                "give each passed value its own name",
            )
        return existing.value_as_string
    parameter = cdk.CfnParameter(nested_target, name, type="String")
    setattr(parameter, _PASSED, passed)
    nested_target.set_parameter(name, outer)
    return parameter.value_as_string
