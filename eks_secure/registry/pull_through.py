"""ECR pull-through cache rules: the upstream registries a private cluster's images come from.

With a rule per upstream registry, the first pull of ``<ECR>/<namespace>/quay/cilium/cilium:v1``
makes ECR fetch ``quay.io/cilium/cilium:v1`` on AWS's side, store it in a repository it creates,
and serve it; later pulls come from that repository (re-checked upstream at most once a day).
Nodes and the kubectl handler only ever talk to ECR through the VPC endpoints.

:class:`PullThroughCache` creates one ``AWS::ECR::PullThroughCacheRule`` per upstream of
:data:`~eks_secure.registry.mirror.UPSTREAMS` (quay.io for Cilium, registry.k8s.io, ECR Public,
Docker Hub and GitHub's ghcr.io), each under the repository prefix ``<namespace>/<path>``, so
its :attr:`PullThroughCache.mirror` maps an image exactly as every chart's image rewrite does
(:mod:`eks_secure.registry.mirror`). Docker Hub and ghcr.io require a credential: a Secrets
Manager secret in the same account and region, whose name starts with
``ecr-pullthroughcache/`` and which holds ``{"username": ..., "accessToken": ...}``.

Rules are registry-wide (per account and region) and a prefix can have one rule only: create
them once per account and region, for example in a stack of their own, not once per cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from eks_secure.errors import ConfigError
from eks_secure.helm.source import DEFAULT_ECR_NAMESPACE
from eks_secure.nag import acknowledge_wildcards
from eks_secure.registry.ecr import ecr_registry
from eks_secure.registry.mirror import UPSTREAMS, UPSTREAMS_BY_HOST, ImageMirror, Upstream

CREDENTIAL_PREFIX = "ecr-pullthroughcache/"
"""Required prefix of a pull-through cache credential's secret name."""

MAX_PREFIX_LENGTH = 30
"""Longest ECR repository prefix a pull-through cache rule accepts."""

PULL_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
"""What a principal needs, besides ordinary ECR pulls, for the first pull of a cached image."""

_PART = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_PREFIX = re.compile(rf"^{_PART}(?:/{_PART})*$")
_FIELD = "PullThroughCache"


def _camel(path: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_./]", path))


def secret_name(secret: secretsmanager.ISecret) -> str | None:
    """The secret's name when synthesis can know it (imported by name/ARN, or named), else None."""
    name = secret.secret_name
    if not cdk.Token.is_unresolved(name):
        return name
    child = secret.node.default_child
    if (
        isinstance(child, secretsmanager.CfnSecret)
        and isinstance(child.name, str)
        and not cdk.Token.is_unresolved(child.name)
    ):
        return child.name
    return None


def check_credential(secret: secretsmanager.ISecret, field: str, stack: cdk.Stack) -> str:
    """Check a pull-through credential (name prefix, account, region); return its ARN."""
    name = secret_name(secret)
    if name is None:
        raise ConfigError(
            field,
            "the secret's name is not known at synthesis, so its required prefix cannot be checked",
            f"give the secret an explicit secret_name starting with {CREDENTIAL_PREFIX}, or "
            "import it with Secret.from_secret_complete_arn / from_secret_name_v2",
        )
    if not name.startswith(CREDENTIAL_PREFIX) or name == CREDENTIAL_PREFIX:
        raise ConfigError(
            field,
            f"secret {name!r} does not start with {CREDENTIAL_PREFIX!r}",
            f"store the credential as {CREDENTIAL_PREFIX}<name> (ECR reads only those)",
        )
    for attribute, own in (("account", stack.account), ("region", stack.region)):
        theirs = getattr(secret.env, attribute)
        known = not cdk.Token.is_unresolved(theirs) and not cdk.Token.is_unresolved(own)
        if known and theirs != own:
            raise ConfigError(
                field,
                f"secret {name!r} is in {attribute} {theirs}, the registry in {own}",
                "create the credential in the registry's own account and region",
            )
    return secret.secret_full_arn or secret.secret_arn


class PullThroughCache(Construct):
    """One ECR pull-through cache rule per upstream registry, under ``<namespace>/<path>``.

    :param namespace: ECR repository namespace of the cache. Default: ``eks-secure`` (the
        default image mirror root of every eks-secure chart).
    :param upstreams: upstream hosts to cache. Default: all of
        :data:`~eks_secure.registry.mirror.UPSTREAMS`.
    :param docker_hub_credential: Secrets Manager secret for Docker Hub (required when
        ``docker.io`` is cached).
    :param github_credential: Secrets Manager secret for ghcr.io (required when ``ghcr.io`` is
        cached; a GitHub token with ``read:packages``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: str = DEFAULT_ECR_NAMESPACE,
        upstreams: Sequence[str] | None = None,
        docker_hub_credential: secretsmanager.ISecret | None = None,
        github_credential: secretsmanager.ISecret | None = None,
    ) -> None:
        # Validate before the construct joins the tree: a rejected cache leaves no node.
        hosts = list(upstreams) if upstreams is not None else [u.host for u in UPSTREAMS]
        chosen = self._check_upstreams(hosts)
        self._check_namespace(namespace, chosen)
        credentials = {"docker.io": docker_hub_credential, "ghcr.io": github_credential}
        props = {"docker.io": "docker_hub_credential", "ghcr.io": "github_credential"}
        stack = cdk.Stack.of(scope)
        for host, secret in credentials.items():
            if secret is not None and host not in hosts:
                raise ConfigError(
                    f"{_FIELD}.{props[host]}",
                    f"a credential is given but {host} is not among the cached upstreams",
                    f"add {host} to upstreams or drop the credential",
                )
        credential_arns: dict[str, str] = {}
        partial: list[str] = []
        for upstream in chosen:
            secret = credentials.get(upstream.host)
            if secret is None:
                if upstream.needs_credential:
                    raise ConfigError(
                        f"{_FIELD}.{props[upstream.host]}",
                        f"ECR caches {upstream.host} only with a Secrets Manager credential",
                        f"pass the secret (named {CREDENTIAL_PREFIX}...), or leave "
                        f"{upstream.host} out of upstreams",
                    )
                continue
            credential_arns[upstream.host] = check_credential(
                secret, f"{_FIELD}.{props[upstream.host]}", stack
            )
            if secret.secret_full_arn is None:
                partial.append(props[upstream.host])
        super().__init__(scope, id)
        self.namespace = namespace
        """ECR repository namespace of every rule."""
        self.rules: dict[str, ecr.CfnPullThroughCacheRule] = {
            upstream.host: ecr.CfnPullThroughCacheRule(
                self,
                f"Rule{_camel(upstream.path)}",
                ecr_repository_prefix=f"{namespace}/{upstream.path}",
                upstream_registry=upstream.upstream_registry,
                upstream_registry_url=upstream.registry_url,
                credential_arn=credential_arns.get(upstream.host),
            )
            for upstream in chosen
        }
        """The rule of each upstream host."""
        for prop in partial:
            cdk.Annotations.of(self).add_warning_v2(
                "eks-secure:pull-through-partial-arn",
                f"{prop}: the secret is referenced by a partial ARN (imported by name); import "
                "it with Secret.from_secret_complete_arn so ECR gets its full ARN.",
            )
        self.mirror = ImageMirror(
            root=f"{ecr_registry(stack)}/{namespace}",
            paths={u.host: u.path for u in chosen},
        )
        """The mirror these rules serve: pass it to charts (or its ``root`` to the config)."""

    @staticmethod
    def _check_upstreams(hosts: Sequence[str]) -> list[Upstream]:
        if not hosts:
            raise ConfigError(
                f"{_FIELD}.upstreams", "no upstream registry given", "list at least one"
            )
        if len(set(hosts)) != len(hosts):
            raise ConfigError(f"{_FIELD}.upstreams", "an upstream repeats", "list each once")
        chosen = []
        for i, host in enumerate(hosts):
            if host not in UPSTREAMS_BY_HOST:
                raise ConfigError(
                    f"{_FIELD}.upstreams[{i}]",
                    f"{host!r} is not an upstream eks-secure caches",
                    f"use one of {', '.join(u.host for u in UPSTREAMS)}",
                )
            chosen.append(UPSTREAMS_BY_HOST[host])
        return sorted(chosen, key=UPSTREAMS.index)

    @staticmethod
    def _check_namespace(namespace: str, chosen: Sequence[Upstream]) -> None:
        longest = max(len(f"{namespace}/{u.path}") for u in chosen)
        if not _PREFIX.match(namespace) or longest > MAX_PREFIX_LENGTH:
            room = MAX_PREFIX_LENGTH - 1 - max(len(u.path) for u in chosen)
            raise ConfigError(
                f"{_FIELD}.namespace",
                f"{namespace!r} does not make valid repository prefixes <namespace>/<upstream> "
                f"of at most {MAX_PREFIX_LENGTH} characters",
                f"use at most {room} lower-case letters, digits and . _ - (and / between parts)",
            )

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (a node role) trigger the first pull of a cached image.

        ECR creates the cache repository and imports the image on behalf of the puller, which
        needs ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` on the cache's
        repositories besides the usual pull permissions (``AmazonEC2ContainerRegistryReadOnly``).
        """
        stack = cdk.Stack.of(self)
        resources = [
            stack.format_arn(
                service="ecr",
                resource="repository",
                resource_name=f"{rule.ecr_repository_prefix}/*",
            )
            for rule in self.rules.values()
        ]
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(PULL_ACTIONS), resource_arns=resources
        )
        principal = grantee.grant_principal
        acknowledge_wildcards(
            principal if isinstance(principal, Construct) else self,
            [
                (
                    iam.PolicyStatement(actions=list(PULL_ACTIONS), resources=resources),
                    "Cached repositories are created by ECR on first pull, one per upstream "
                    f"image, under {self.namespace}/<upstream>/: their names are not known in "
                    "advance; the grant stays inside the cache's namespace.",
                )
            ],
        )
        return grant
