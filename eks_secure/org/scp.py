"""The EKS organisation guardrail as a service control policy (SCP) document. Pure Python.

The SCP denies, in every account it is attached to:

* ``eks:CreateCluster`` unless ``eks:controlPlaneEgressMode`` is ``CUSTOMER_ROUTED`` (a request
  without the key is denied: EKS's default mode is ``AWS_MANAGED``);
* ``eks:UpdateClusterConfig`` that sets ``eks:controlPlaneEgressMode`` to another value;
* ``eks:CreateCluster`` and ``eks:UpdateClusterConfig`` that enable the public endpoint
  (``eks:endpointPublicAccess`` true), and ``eks:CreateCluster`` that omits the key (EKS's
  default endpoint is public).

Both keys are documented for ``CreateCluster`` and ``UpdateClusterConfig`` in the service
authorization reference (``eks:controlPlaneEgressMode`` String, ``eks:endpointPublicAccess``
Bool). Whether EKS puts either key in the request context of an ``UpdateClusterConfig`` call
that does not touch the VPC config (logging, access config, upgrade policy...) is NOT known
and cannot be checked offline. The update statements are therefore written so that an absent
key never denies:

* egress on update: ``StringNotEquals`` AND ``Null: false`` (deny only when the key is present
  and names another mode). ``StringNotEqualsIfExists`` would not do: a negated operator is
  already true for an absent key, with or without ``IfExists``, so it would deny every
  unrelated update if EKS omits the key;
* public endpoint: plain ``Bool`` (an absent key does not match). ``BoolIfExists`` would deny
  every update without the key.

On ``CreateCluster`` an absent key is denied on purpose (fail closed), because EKS then applies
its unsafe defaults. See ``docs/security-posture.md`` for the remaining caveats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from eks_secure.errors import ConfigError

EGRESS_MODE_KEY = "eks:controlPlaneEgressMode"
PUBLIC_ENDPOINT_KEY = "eks:endpointPublicAccess"
EGRESS_MODES = ("AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED")
"""Values of ``ControlPlaneEgressMode`` in the EKS API reference."""
SCP_MAX_CHARACTERS = 5120
"""AWS Organizations' size limit for a service control policy."""

_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*:-]+$")


def require_each_matches(
    values: Sequence[str], pattern: re.Pattern[str], field: str, what: str, fix: str
) -> None:
    """Raise ``ConfigError`` on ``field[i]`` for the first value that is not ``what``."""
    for i, value in enumerate(values):
        if not pattern.match(value):
            raise ConfigError(f"{field}[{i}]", f"'{value}' is not {what}", fix)


def _exempt(condition: dict[str, Any], exempt_principal_arns: Sequence[str]) -> dict[str, Any]:
    if exempt_principal_arns:
        condition["ArnNotLike"] = {"aws:PrincipalArn": list(exempt_principal_arns)}
    return condition


def eks_guardrail_document(
    *,
    allowed_egress_modes: Sequence[str] = ("CUSTOMER_ROUTED",),
    exempt_principal_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """The SCP document (a dict ready for ``json.dumps``).

    :param allowed_egress_modes: control-plane egress modes a cluster may have.
        Default: ``("CUSTOMER_ROUTED",)``.
    :param exempt_principal_arns: principals the guardrail does not apply to (for example an
        organisation break-glass role), matched with ``ArnNotLike`` on ``aws:PrincipalArn``
        (wildcards allowed). Default: none.
    """
    modes = list(dict.fromkeys(allowed_egress_modes))
    if not modes:
        raise ConfigError(
            "allowed_egress_modes",
            "is empty, so no cluster could be created",
            "list CUSTOMER_ROUTED",
        )
    for i, mode in enumerate(modes):
        if mode not in EGRESS_MODES:
            raise ConfigError(
                f"allowed_egress_modes[{i}]",
                f"'{mode}' is not an EKS control-plane egress mode",
                f"use one of {', '.join(EGRESS_MODES)}",
            )
    if "AWS_MANAGED" in modes:
        raise ConfigError(
            "allowed_egress_modes",
            "includes AWS_MANAGED, which is the mode the guardrail exists to forbid",
            "list CUSTOMER_ROUTED (and CUSTOMER_ISOLATED if you use it)",
        )
    require_each_matches(
        exempt_principal_arns,
        _PRINCIPAL_ARN,
        "exempt_principal_arns",
        "an IAM principal ARN",
        "use arn:aws:iam::<account>:role/<name> (wildcards allowed)",
    )
    exempt = list(exempt_principal_arns)
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyCreateClusterWithoutCustomerRoutedEgress",
                "Effect": "Deny",
                "Action": "eks:CreateCluster",
                "Resource": "*",
                # Negated operator: an absent key (EKS default AWS_MANAGED) is denied too.
                "Condition": _exempt({"StringNotEquals": {EGRESS_MODE_KEY: modes}}, exempt),
            },
            {
                "Sid": "DenyUpdateToOtherEgressMode",
                "Effect": "Deny",
                "Action": "eks:UpdateClusterConfig",
                "Resource": "*",
                # Only when the key is present: unrelated updates may not carry it.
                "Condition": _exempt(
                    {
                        "StringNotEquals": {EGRESS_MODE_KEY: modes},
                        "Null": {EGRESS_MODE_KEY: "false"},
                    },
                    exempt,
                ),
            },
            {
                "Sid": "DenyPublicEndpoint",
                "Effect": "Deny",
                "Action": ["eks:CreateCluster", "eks:UpdateClusterConfig"],
                "Resource": "*",
                "Condition": _exempt({"Bool": {PUBLIC_ENDPOINT_KEY: "true"}}, exempt),
            },
            {
                "Sid": "DenyCreateClusterWithDefaultEndpointAccess",
                "Effect": "Deny",
                "Action": "eks:CreateCluster",
                "Resource": "*",
                # EKS's default endpoint is public: a create that omits the key is denied.
                "Condition": _exempt({"Null": {PUBLIC_ENDPOINT_KEY: "true"}}, exempt),
            },
        ],
    }
    size = len(json.dumps(document, separators=(",", ":")))
    if size > SCP_MAX_CHARACTERS:
        raise ConfigError(
            "exempt_principal_arns",
            f"makes the SCP {size} characters long, over the {SCP_MAX_CHARACTERS} limit",
            "exempt fewer principals, or one wildcard ARN for a role path",
        )
    return document
