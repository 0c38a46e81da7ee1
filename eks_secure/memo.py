"""Values read from jsii once per object, kept on the Python object.

Every property read of a construct is a jsii round-trip; a value that never changes (a nested
stack's parent, a scope's ``Validations``) is worth reading once. Python-created constructs
take extra attributes; some proxies jsii makes for JavaScript-created objects do not, and for
those the value is simply computed again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def memo(obj: object, attribute: str, compute: Callable[[], T]) -> T:
    """``compute()``, stored as ``obj.<attribute>`` and returned from there on later calls."""
    try:
        value: T = getattr(obj, attribute)
        return value
    except AttributeError:
        pass
    value = compute()
    with contextlib.suppress(AttributeError):  # a jsii proxy that takes no extra attributes
        setattr(obj, attribute, value)
    return value
