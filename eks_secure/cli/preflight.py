"""``eks-secure preflight``: prove offline that a synthesized cloud assembly would deploy."""

from __future__ import annotations

import argparse

from eks_secure.cli._common import Verb

DESCRIPTION = """\
Read a synthesized cloud assembly (default: cdk.out) and check, without AWS access, what a
first deploy and its rollback need: the CloudFormation execution role's permissions for every
resource handler, the deploying principal's CloudFormation calls, a network path (routes,
endpoints, security groups and NACLs both ways) for every flow the cluster needs, timeouts
shorter than the Lambdas that run them, generated names that still match the policies at the
longest cluster name, an allow-list row for every flow to on-premises, and subnet capacity for
every node group. Each problem names the stack, the logical ID and the fix."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``preflight`` (defined with the check itself)."""
    from eks_secure import preflight

    preflight.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run every check; exit 1 on any problem."""
    from eks_secure import preflight

    return preflight.execute(args)


VERB = Verb(
    name="preflight",
    summary="prove offline that a synthesized assembly would deploy (IAM, network, timeouts)",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="a problem that would fail or hang the deploy (each printed with its fix)",
    examples=(
        "make synth PATTERN=private-nat && eks-secure preflight cdk.out",
        "eks-secure preflight cdk.out --format json",
    ),
)
