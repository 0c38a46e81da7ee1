"""The egress contract every pattern implements: tenants in, built resources, allow-list out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import ClassVar

import aws_cdk as cdk
from constructs import Construct

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.egress.allowlist import output_id
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.errors import ConfigError


class EgressPattern(Construct):
    """Base of the four egress patterns.

    A subclass sets ``PATTERN``, builds its infrastructure and manifests in its constructor and
    ends with :meth:`complete`, passing the allow-list entries derived from the constructs it
    created. ``complete`` checks there is exactly one entry per tenant and publishes them as
    CloudFormation outputs of the enclosing stack (read back into ``<stack>.allowlist.json`` /
    ``.csv`` by :func:`eks_secure.egress.allowlist.write_allowlists`).

    :param cluster: the :class:`~eks_secure.cluster.cluster.SecureCluster` to extend.
    :param tenants: the apps, each with its namespace, destinations and ports.
    """

    PATTERN: ClassVar[str] = ""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
    ) -> None:
        super().__init__(scope, id)
        names = [t.name for t in tenants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                "apps", f"app names {duplicates} are used twice", "give every app a unique name"
            )
        if not tenants:
            raise ConfigError(
                "apps",
                f"pattern {self.PATTERN} needs at least one app",
                "list the apps that need fixed egress IPs under `apps:`",
            )
        self.cluster = cluster
        self.tenants: tuple[Tenant, ...] = tuple(tenants)
        """The apps this pattern serves."""
        self.allow_list: tuple[AllowListEntry, ...] = ()
        """What the on-prem firewall must allow, one entry per app (set by ``complete``)."""

    def complete(self, entries: Iterable[AllowListEntry]) -> None:
        """Record and publish the allow-list derived from the constructs this pattern built."""
        built = tuple(sorted(entries, key=lambda e: e.app))
        if sorted(e.app for e in built) != sorted(t.name for t in self.tenants):
            raise RuntimeError(f"{type(self).__name__} must return one entry per tenant")
        if any(e.pattern != self.PATTERN or not e.source_cidrs for e in built):
            raise RuntimeError(f"{type(self).__name__} returned an incomplete allow-list entry")
        self.allow_list = built
        publish(self, built)


def publish(scope: Construct, entries: Sequence[AllowListEntry]) -> list[cdk.CfnOutput]:
    """Add one CloudFormation output per entry to the stack of ``scope``."""
    stack = cdk.Stack.of(scope)
    outputs = []
    for entry in entries:
        outputs.append(
            cdk.CfnOutput(
                stack,
                output_id(entry.app),
                value=json.dumps(entry.to_dict(), separators=(",", ":")),
                description=f"eks-secure allow-list of app {entry.app} ({entry.pattern})",
            )
        )
    return outputs
