"""The per-cluster tag the creator role's permissions depend on, applied and enforced.

The dedicated creator role may create KMS keys, and delete or modify EC2 and KMS resources,
only when they carry ``eks-secure:cluster=<cluster name>``. eks-secure therefore tags every
resource of a stack it builds into, and a stack deployed by the creator role (its synthesizer is
:class:`CreatorStackSynthesizer`) fails synthesis when any taggable resource lacks the tag:
the first deploy would otherwise be denied half-way.
"""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import jsii
from constructs import IValidation

from eks_secure.resource_types import is_taggable

CLUSTER_TAG = "eks-secure:cluster"
"""Tag key scoping the creator role's permissions to one cluster's resources."""


def tag_for_cluster(scope: cdk.Stack, cluster_name: str) -> None:
    """Tag every resource of ``scope`` (and its nested stacks) with the cluster tag."""
    cdk.Tags.of(scope).add(CLUSTER_TAG, cluster_name)


@jsii.implements(IValidation)
class ClusterTagValidation:
    """Every taggable resource of a stack (nested stacks included) carries the cluster tag."""

    def __init__(self, stack: cdk.Stack, cluster_name: str) -> None:
        self.stack = stack
        self.cluster_name = cluster_name

    def validate(self) -> list[str]:
        """One message per taggable resource without ``eks-secure:cluster=<name>``."""
        missing = []
        for construct in self.stack.node.find_all():
            if not isinstance(construct, cdk.CfnResource) or not is_taggable(construct):
                continue
            tags = construct.tags.tag_values()  # type: ignore[attr-defined]
            if tags.get(CLUSTER_TAG) != self.cluster_name:
                missing.append(construct.node.path)
        if not missing:
            return []
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        return [
            f"eks-secure: {len(missing)} resource(s) of a stack deployed by the creator role of "
            f"cluster {self.cluster_name} lack the tag {CLUSTER_TAG}={self.cluster_name}, so the "
            f"creator role may not create or delete them: {shown}. Fix: build them inside a "
            "SecureCluster/EksSecureDeployment stack, or call "
            f"eks_secure.cluster.tagging.tag_for_cluster(stack, '{self.cluster_name}')."
        ]


class CreatorStackSynthesizer(cdk.DefaultStackSynthesizer):
    """A default synthesizer whose CloudFormation execution role is a cluster's creator role.

    Binding it to a stack adds :class:`ClusterTagValidation` to that stack. ``bucket_prefix``
    is the key prefix of the stack's assets in the bootstrap bucket (default: none), so the
    creator and deployer policies can name this deployment's objects only.
    """

    def __init__(
        self,
        *,
        cluster_name: str,
        execution_role_arn: str,
        deploy_role_arn: str,
        bucket_prefix: str = "",
    ) -> None:
        super().__init__(
            cloud_formation_execution_role=execution_role_arn,
            deploy_role_arn=deploy_role_arn,
            bucket_prefix=bucket_prefix,
        )
        self.cluster_name = cluster_name
        self._after: list[Callable[[str], None]] = []

    def bind(self, stack: cdk.Stack) -> None:
        """Bind to ``stack`` and require the cluster tag on its resources."""
        super().bind(stack)
        stack.node.add_validation(ClusterTagValidation(stack, self.cluster_name))

    def after_synthesis(self, writer: Callable[[str], None]) -> None:
        """Call ``writer(outdir)`` once the stack's template is written (e.g. the allow-list)."""
        self._after.append(writer)

    def synthesize(self, session: cdk.ISynthesisSession) -> None:
        """Synthesize the stack, then run the writers registered with :meth:`after_synthesis`."""
        super().synthesize(session)
        for writer in self._after:
            writer(session.outdir)
