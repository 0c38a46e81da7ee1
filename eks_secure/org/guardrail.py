"""``EksGuardrailPolicy``: the EKS guardrail SCP as an ``AWS::Organizations::Policy``.

Deploy it in a stack of the organisation's management account (or of an account delegated to
administer Organizations policies); it cannot be created from a member account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from eks_secure.org.scp import eks_guardrail_document, require_each_matches

_TARGET = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$")
NO_TARGET_WARNING = "eks-secure:guardrail-not-attached"


class EksGuardrailPolicy(Construct):
    """A service control policy denying non-``CUSTOMER_ROUTED`` and public EKS clusters.

    See :func:`eks_secure.org.scp.eks_guardrail_document` for the statements and their caveats.

    :param target_ids: the root (``r-...``), OUs (``ou-...``) or account IDs to attach it to.
        Default: none (the policy is created unattached, with a warning).
    :param policy_name: the policy's name. Default: ``eks-secure-eks-guardrail``.
    :param allowed_egress_modes: egress modes a cluster may use. Default: ``CUSTOMER_ROUTED``.
    :param exempt_principal_arns: principals the guardrail does not apply to. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target_ids: Sequence[str] = (),
        policy_name: str = "eks-secure-eks-guardrail",
        allowed_egress_modes: Sequence[str] = ("CUSTOMER_ROUTED",),
        exempt_principal_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id)
        require_each_matches(
            target_ids,
            _TARGET,
            "EksGuardrailPolicy.target_ids",
            "an organization root, OU or account ID",
            "use r-xxxx, ou-xxxx-xxxxxxxx or a 12-digit account ID",
        )
        self.document = eks_guardrail_document(
            allowed_egress_modes=allowed_egress_modes,
            exempt_principal_arns=exempt_principal_arns,
        )
        """The SCP document."""
        self.policy = organizations.CfnPolicy(
            self,
            "Resource",
            name=policy_name,
            type="SERVICE_CONTROL_POLICY",
            description="eks-secure: EKS clusters only with CUSTOMER_ROUTED control-plane "
            "egress and no public endpoint",
            content=self.document,
            target_ids=list(target_ids) or None,
        )
        """The ``AWS::Organizations::Policy``."""
        if not target_ids:
            cdk.Annotations.of(self).add_warning_v2(
                NO_TARGET_WARNING,
                f"{policy_name} is attached to no root, OU or account; it has no effect "
                "until target_ids lists them.",
            )
