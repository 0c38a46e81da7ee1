"""eks_secure.memo: a value read once per object, and still right where it cannot be kept."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from eks_secure.memo import memo

pytestmark = pytest.mark.xdist_group("memo")


def test_a_value_is_computed_once_per_object() -> None:
    calls: list[int] = []
    stack = cdk.Stack(cdk.App(), "S")
    assert memo(stack, "_probe", lambda: calls.append(1) or "first") == "first"
    assert memo(stack, "_probe", lambda: calls.append(1) or "second") == "first"
    assert calls == [1]


def test_an_object_that_takes_no_attributes_gets_the_value_each_time() -> None:
    class Sealed:
        __slots__ = ()

    calls: list[int] = []
    sealed = Sealed()
    assert memo(sealed, "_probe", lambda: calls.append(1) or "value") == "value"
    assert memo(sealed, "_probe", lambda: calls.append(1) or "value") == "value"
    assert calls == [1, 1]
