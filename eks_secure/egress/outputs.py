"""Allow-list entries as CloudFormation outputs (the CDK half of :mod:`.allowlist`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from constructs import Construct

from eks_secure.egress.allowlist import output_id
from eks_secure.egress.contract import AllowListEntry


def publish_entry(
    scope: Construct, logical_id: str, entry: AllowListEntry, description: str = ""
) -> cdk.CfnOutput:
    """Add ``entry`` (as compact JSON) as output ``logical_id`` of ``scope``'s stack.

    ``description``: the output's description. Default: names the app and its pattern.
    """
    return cdk.CfnOutput(
        cdk.Stack.of(scope),
        logical_id,
        value=json.dumps(entry.to_dict(), separators=(",", ":")),
        description=description or f"eks-secure allow-list of app {entry.app} ({entry.pattern})",
    )


def publish(
    scope: Construct,
    entries: Sequence[AllowListEntry],
    homes: Mapping[str, Construct] | None = None,
) -> list[cdk.CfnOutput]:
    """Add one output per app entry (``EksSecureAllowList<App>``) to ``scope``'s stack, or to the
    stack of the entry's app's construct in ``homes``: an app in its own nested stack publishes
    there, so the cluster stack's 200-output limit never caps the number of apps."""
    return [
        publish_entry((homes or {}).get(entry.app, scope), output_id(entry.app), entry)
        for entry in entries
    ]
