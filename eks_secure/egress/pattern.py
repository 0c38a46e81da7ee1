"""The egress contract every pattern implements: tenants in, built resources, allow-list out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from constructs import Construct

from eks_secure import rules
from eks_secure.cluster.cluster import SecureCluster
from eks_secure.egress.contract import AllowListEntry, Tenant, check_tenants
from eks_secure.egress.outputs import publish
from eks_secure.egress.spec import EgressSpec
from eks_secure.errors import ConfigError


class EgressPattern(Construct):
    """Base of the egress pattern constructs.

    On construction it checks the tenants (a list of :class:`Tenant` with unique names and
    namespaces, destinations inside the cluster's on-prem CIDRs, not already served by another
    pattern on the same cluster), the spec's own rules, and that the cluster was built with the
    options the pattern needs (:meth:`EgressSpec.cluster_options`). A subclass then builds its
    infrastructure and manifests and ends with :meth:`complete`, passing the allow-list entries
    derived from the constructs it created; ``complete`` checks there is exactly one entry per
    tenant and publishes them as CloudFormation outputs of the enclosing stack, or of each app's
    nested stack when the app has one (read back into
    ``<stack>.allowlist.json`` / ``.csv`` by :func:`eks_secure.egress.allowlist.write_allowlists`).

    :param cluster: the :class:`~eks_secure.cluster.cluster.SecureCluster` to extend.
    :param tenants: the apps, each with its namespace, destinations and ports.
    :param spec: the pattern's spec (settings and per-app options).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: SecureCluster,
        tenants: Sequence[Tenant],
        spec: EgressSpec,
    ) -> None:
        field = f"{type(self).__name__}.tenants"
        if not isinstance(cluster, SecureCluster):
            raise ConfigError(
                f"{type(self).__name__}.cluster",
                f"is a {type(cluster).__name__}, not a SecureCluster",
                "pass the SecureCluster (EksSecureDeployment.cluster) the pattern extends",
            )
        checked = check_tenants(tenants, field)
        if not checked and spec.needs_apps:
            raise ConfigError(
                "apps",
                f"pattern {spec.name} needs at least one app",
                "list the apps that need fixed egress IPs under `apps:`",
            )
        problems = [p for t in checked for p in t.check_destinations(cluster.network.on_prem_cidrs)]
        endpoints = cluster.network.endpoints
        services = None if endpoints is None else tuple(endpoints.interface_endpoints)
        private = (*cluster.network.plan.vpc_cidrs, *cluster.network.on_prem_cidrs)
        problems += [p for t in checked for p in t.check_aws_access(services, private)]
        platform = (*rules.PLATFORM_NAMESPACES, *cluster.options.platform_namespaces)
        for tenant in checked:
            problems += rules.app_namespace(tenant.namespace, tenant.path("namespace"), platform)
        problems += spec.check(checked)
        rules.raise_problems(problems)
        cluster.require_options(spec.name, spec.cluster_options())
        cluster.claim_tenants(spec.name, checked)
        super().__init__(scope, id)
        self.cluster = cluster
        self.spec = spec
        self.tenants: tuple[Tenant, ...] = checked
        """The apps this pattern serves."""
        self.allow_list: tuple[AllowListEntry, ...] = ()
        """What the on-prem firewall must allow, one entry per app (set by ``complete``)."""

    def complete(
        self, entries: Iterable[AllowListEntry], homes: Mapping[str, Construct] | None = None
    ) -> None:
        """Record and publish the allow-list derived from the constructs this pattern built.

        ``homes`` maps an app to the construct whose stack carries its output (its nested
        stack); apps not in it publish in this pattern's stack.
        """
        built = tuple(sorted(entries, key=lambda e: e.app))
        if sorted(e.app for e in built) != sorted(t.name for t in self.tenants):
            raise RuntimeError(f"{type(self).__name__} must return one entry per tenant")
        if any(e.pattern != self.spec.name or not e.source_cidrs for e in built):
            raise RuntimeError(f"{type(self).__name__} returned an incomplete allow-list entry")
        self.allow_list = built
        publish(self, built, homes)
