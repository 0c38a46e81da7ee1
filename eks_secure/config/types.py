"""Field types of the config models: strict scalars that carry their rule and their schema.

Each type is an ``Annotated`` string or integer: pydantic checks the Python type strictly (a
YAML ``28`` is not the string ``"28"``, ``"true"`` is not a boolean), then the type's rule from
:mod:`eks_secure.rules` runs, and :class:`~eks_secure.config.base.JsonSchemaExtra` puts the same
constraint (regex, bounds, an example) into the exported JSON Schema, so editors check what the
loader checks. Pattern packages use these types for their own sections.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, Strict
from pydantic_core import core_schema

from eks_secure import rules
from eks_secure.config.base import JsonSchemaExtra, check
from eks_secure.errors import ConfigError

__all__ = [
    "AddonPins",
    "AppName",
    "Bool",
    "Cidr",
    "ClusterName",
    "Int",
    "Label",
    "Port",
    "PrincipalArn",
    "RoleArn",
    "RoleOrUserArn",
    "SnsTopicArn",
    "SubnetPrefix",
    "TagKey",
    "TagPairs",
    "TagValue",
    "Text",
    "label",
    "matching",
    "rule",
]

Text = Annotated[str, Strict()]
"""A string; numbers and booleans are not converted."""

Int = Annotated[int, Strict()]
"""A whole number; strings, floats and booleans are not converted."""

Bool = Annotated[bool, Strict()]
"""``true`` or ``false``; the strings ``"true"``/``"yes"`` are not converted."""


def rule(problems_of: Callable[[Any], Sequence[ConfigError]]) -> AfterValidator:
    """An ``AfterValidator`` that runs a rule on the value (problem fields relative to it)."""

    def validate(value: Any) -> Any:
        check(problems_of(value))
        return value

    return AfterValidator(validate)


def _anchored(regex: re.Pattern[str]) -> str:
    body = regex.pattern.removeprefix("^").removesuffix("$")
    return f"^(?:{body})$"


def label(example: str, max_length: int = 63) -> tuple[AfterValidator, JsonSchemaExtra]:
    """Metadata of a DNS-1123 label of at most ``max_length`` characters."""
    return (
        rule(lambda v: rules.dns_label(v, "", example, max_length)),
        JsonSchemaExtra(
            pattern=_anchored(rules.DNS1123_LABEL), maxLength=max_length, examples=[example]
        ),
    )


def matching(
    regex: re.Pattern[str], what: str, example: str
) -> tuple[AfterValidator, JsonSchemaExtra]:
    """Metadata of a string matching ``regex`` in full (``what``/``example`` word the error)."""
    return (
        rule(lambda v: rules.pattern_match(v, regex, "", what, example)),
        JsonSchemaExtra(pattern=_anchored(regex), examples=[example]),
    )


def _parse_cidr(value: str) -> str:
    try:
        return str(rules.parse_cidr(value, "", "10.20.0.0/16"))
    except ConfigError as exc:
        check([exc])
        raise  # pragma: no cover - check() raised


def _arn(kinds: Sequence[str]) -> tuple[AfterValidator, JsonSchemaExtra]:
    patterns = "|".join(rules.ARN_KINDS[k].pattern for k in kinds)
    return (
        rule(lambda v: rules.arn(v, "", kinds)),
        JsonSchemaExtra(pattern=f"^(?:{patterns})$", examples=[rules.EXAMPLE_ROLE_ARN]),
    )


_CLUSTER = label("payments-prod", rules.MAX_NAME_LENGTH)
_APP = label("payments-api", rules.MAX_NAME_LENGTH)
_LABEL = label("payments")
_ROLE = _arn(("role",))
_ROLE_OR_USER = _arn(("role", "user"))
_PRINCIPAL = _arn(("role", "user", "root"))

ClusterName = Annotated[str, Strict(), _CLUSTER[0], _CLUSTER[1]]
"""A cluster name: label of at most 40 characters (it prefixes IAM role names)."""

AppName = Annotated[str, Strict(), _APP[0], _APP[1]]
"""An app name: label of at most 40 characters."""

Label = Annotated[str, Strict(), _LABEL[0], _LABEL[1]]
"""A DNS-1123 label of at most 63 characters (namespaces, group names)."""

Cidr = Annotated[
    str,
    Strict(),
    AfterValidator(_parse_cidr),
    JsonSchemaExtra(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$", examples=["10.20.0.0/16"]),
]
"""An IPv4 network in CIDR form with no host bits set (stored normalised)."""

RoleArn = Annotated[str, Strict(), _ROLE[0], _ROLE[1]]
"""An IAM role ARN."""

RoleOrUserArn = Annotated[str, Strict(), _ROLE_OR_USER[0], _ROLE_OR_USER[1]]
"""An IAM role or user ARN."""

PrincipalArn = Annotated[str, Strict(), _PRINCIPAL[0], _PRINCIPAL[1]]
"""An IAM role, user or account-root ARN."""

_SNS_TOPIC = matching(
    rules.SNS_TOPIC_ARN, "an SNS topic ARN", "arn:aws:sns:eu-west-1:111111111111:on-call"
)
SnsTopicArn = Annotated[str, Strict(), _SNS_TOPIC[0], _SNS_TOPIC[1]]
"""An SNS topic ARN."""

Port = Annotated[
    int,
    Strict(),
    rule(lambda v: rules.port(v, "")),
    JsonSchemaExtra(minimum=1, maximum=65535, examples=[443]),
]
"""A TCP port, 1-65535."""

SubnetPrefix = Annotated[
    int,
    Strict(),
    rule(lambda v: rules.subnet_prefix(v, "")),
    JsonSchemaExtra(
        minimum=rules.SUBNET_PREFIX_RANGE[0], maximum=rules.SUBNET_PREFIX_RANGE[1], examples=[26]
    ),
]
"""A subnet prefix length AWS accepts (/16 to /28)."""


class _MappingAsPairs:
    """Validate a YAML mapping (errors at ``key``), keep it as sorted ``(key, value)`` pairs.

    The pairs are hashable and ordered, like the rest of the frozen model; the JSON Schema is
    the mapping's. From Python, a sequence of pairs is accepted too.
    """

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        del source
        mapping = handler.generate_schema(dict[self.key, self.value])  # type: ignore[name-defined]

        def from_pairs(value: Any) -> Any:
            if isinstance(value, list | tuple) and all(
                isinstance(p, list | tuple) and len(p) == 2 for p in value
            ):
                return dict(value)
            return value

        def to_pairs(value: dict[str, str]) -> tuple[tuple[str, str], ...]:
            return tuple(sorted(value.items()))

        return core_schema.no_info_before_validator_function(
            from_pairs,
            core_schema.no_info_after_validator_function(to_pairs, mapping),
            # serialized (JSON Schema defaults, model_dump) as the mapping it is in YAML
            serialization=core_schema.plain_serializer_function_ser_schema(dict),
        )


_TagKey = Annotated[str, Strict(), rule(lambda v: rules.tag_key(v, ""))]
TagKey = _TagKey
"""A tag key: 1-128 characters of AWS's tag alphabet, not starting with ``aws:``."""
_TagValue = Annotated[
    str, Strict(), rule(lambda v: rules.tag_value(v, "")), JsonSchemaExtra(examples=["1234"])
]
_AddonName = Annotated[
    str,
    Strict(),
    rule(lambda v: rules.addon_name(v, "")),
    JsonSchemaExtra(enum=list(rules.MANAGED_ADDONS)),
]
_ADDON_VERSION = matching(rules.ADDON_VERSION, "an EKS add-on version", "v1.20.1-eksbuild.1")
_AddonVersion = Annotated[str, Strict(), _ADDON_VERSION[0], _ADDON_VERSION[1]]

TagValue = _TagValue
"""A tag value: at most 256 characters of AWS's tag alphabet."""

TagPairs = Annotated[tuple[tuple[str, str], ...], _MappingAsPairs(_TagKey, _TagValue)]
"""Resource tags: a YAML mapping of key to value, kept as sorted pairs."""

AddonPins = Annotated[tuple[tuple[str, str], ...], _MappingAsPairs(_AddonName, _AddonVersion)]
"""Add-on version pins: a YAML mapping of add-on name to version, kept as sorted pairs."""

_ImageRef = Annotated[
    str, Strict(), JsonSchemaExtra(examples=["reg.kyverno.io/kyverno/kyverno:v1.19.0"])
]
_DIGEST = matching(rules.IMAGE_DIGEST, "an image digest", "sha256:" + "0" * 64)
_Digest = Annotated[str, Strict(), _DIGEST[0], _DIGEST[1]]

DigestPins = Annotated[tuple[tuple[str, str], ...], _MappingAsPairs(_ImageRef, _Digest)]
"""Image digest pins: a YAML mapping of image reference to ``sha256:`` digest, as sorted pairs."""
