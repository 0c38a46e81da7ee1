"""Where a no-internet cluster pulls each upstream image from: the documented mirror mapping.

Pure Python (no CDK), shared by the pull-through cache rules
(:mod:`eks_secure.registry.pull_through`) and by every chart's image rewrite
(:mod:`eks_secure.helm.images`), so the two can never disagree.

The mapping: an image ``<upstream host>/<path>[:tag][@digest]`` is pulled as
``<mirror root>/<upstream path segment>/<path>[:tag][@digest]``.

- ``quay.io`` -> ``quay`` (pull-through registry ``quay``, no credential)
- ``registry.k8s.io`` -> ``k8s`` (``k8s``, no credential)
- ``public.ecr.aws`` -> ``ecr-public`` (``ecr-public``, no credential)
- ``docker.io`` -> ``docker-hub`` (``docker-hub``, Secrets Manager credential required)
- ``ghcr.io`` -> ``github`` (``github-container-registry``, Secrets Manager credential required)

Docker Hub references are normalised the way the container runtimes do: ``nginx`` is
``docker.io/library/nginx`` and ``index.docker.io`` / ``registry-1.docker.io`` are ``docker.io``.
``reg.kyverno.io`` (the registry the Kyverno 3.9 chart defaults to) is treated as ``ghcr.io``: it is
the Kyverno project's front for ``ghcr.io/kyverno`` (an assumption no offline test can check;
``docs/helm-and-images.md`` says how to verify it).

With the default mirror root ``<account>.dkr.ecr.<region>.<suffix>/eks-secure`` the mapped
references are exactly the repositories the pull-through cache rules of the same namespace serve:
``quay.io/cilium/cilium:v1.20.0`` -> ``<ECR>/eks-secure/quay/cilium/cilium:v1.20.0``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from eks_secure.errors import ConfigError


@dataclass(frozen=True)
class Upstream:
    """One public registry images are mirrored from."""

    host: str
    """Canonical host name in image references (``docker.io``, ``quay.io`` ...)."""
    registry_url: str
    """``UpstreamRegistryUrl`` of its ECR pull-through cache rule."""
    upstream_registry: str
    """``UpstreamRegistry`` of its pull-through cache rule (the CloudFormation enum value)."""
    path: str
    """Default path segment of its images under the mirror root."""
    needs_credential: bool
    """ECR pull-through cache requires a Secrets Manager credential for this upstream."""


UPSTREAMS: tuple[Upstream, ...] = (
    Upstream("quay.io", "quay.io", "quay", "quay", False),
    Upstream("registry.k8s.io", "registry.k8s.io", "k8s", "k8s", False),
    Upstream("public.ecr.aws", "public.ecr.aws", "ecr-public", "ecr-public", False),
    Upstream("docker.io", "registry-1.docker.io", "docker-hub", "docker-hub", True),
    Upstream("ghcr.io", "ghcr.io", "github-container-registry", "github", True),
)
"""The upstream registries eks-secure mirrors, in a fixed order."""

UPSTREAMS_BY_HOST: Mapping[str, Upstream] = {u.host: u for u in UPSTREAMS}

HOST_ALIASES: Mapping[str, str] = {
    "index.docker.io": "docker.io",
    "registry-1.docker.io": "docker.io",
    "reg.kyverno.io": "ghcr.io",
}
"""Host names that mean the same images as a canonical upstream host."""

DOCKER_HUB = "docker.io"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_ROOT = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._-]+)*$")


def check_digest(digest: str, field: str) -> None:
    """Raise a field-named error unless ``digest`` is ``sha256:`` and 64 hex digits."""
    if not _DIGEST.match(digest):
        raise ConfigError(
            field,
            f"{digest!r} is not an image digest",
            "write it as sha256:<64 lower-case hex digits>, as `crane digest <image>` prints it",
        )


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalised image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, reference: str, field: str = "image") -> ImageRef:
        """Parse ``reference`` like the container runtimes do (Docker Hub defaults included)."""
        rest, digest = reference, None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            check_digest(digest, field)
        name, tag = rest, None
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = rest.rsplit(":", 1)
            if not _TAG.match(tag):
                raise ConfigError(field, f"{reference!r} has an invalid tag", "use a valid tag")
        parts = name.split("/")
        if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
            registry, path = parts[0], parts[1:]
        else:
            registry, path = DOCKER_HUB, parts
        registry = HOST_ALIASES.get(registry, registry)
        if registry == DOCKER_HUB and len(path) == 1:
            path = ["library", *path]
        if not path or not all(_PATH_COMPONENT.match(p) for p in path):
            raise ConfigError(
                field, f"{reference!r} is not a valid image reference", "write host/path:tag"
            )
        return cls(registry=registry, repository="/".join(path), tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def version(self) -> str:
        """The tag, plus ``@digest`` when pinned (what a chart's ``tag`` value can carry)."""
        tag = self.tag or "latest"
        return f"{tag}@{self.digest}" if self.digest else tag

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class ImageMirror:
    """The registry a private cluster pulls every image from, laid out by upstream.

    :param root: registry host and optional path, no scheme (for example
        ``111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure``). May hold CDK tokens (the
        deployment's account, region and URL suffix); it is only ever concatenated.
    :param paths: path segment per upstream host under ``root``. Default: the ``path`` of each
        entry of :data:`UPSTREAMS` (what :class:`~eks_secure.registry.pull_through.PullThroughCache`
        creates rules for). ``""`` puts that upstream's images directly under ``root``.
    """

    root: str
    paths: Mapping[str, str] = field(default_factory=lambda: {u.host: u.path for u in UPSTREAMS})

    def __post_init__(self) -> None:
        if "://" in self.root or self.root.endswith("/") or not self.root:
            raise ConfigError(
                "ImageMirror.root",
                f"{self.root!r} is not a registry host with an optional path",
                "write it without scheme or trailing slash, e.g. "
                "111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure",
            )
        if "${Token" not in self.root and not _ROOT.match(self.root):
            raise ConfigError(
                "ImageMirror.root",
                f"{self.root!r} is not a registry host with an optional path",
                "use lower-case host and path characters only",
            )
        for host, path in self.paths.items():
            if path and not all(_PATH_COMPONENT.match(p) for p in path.split("/")):
                raise ConfigError(
                    f"ImageMirror.paths[{host}]",
                    f"{path!r} is not a valid repository path",
                    "use lower-case letters, digits and . _ - separated by /",
                )

    def registry_for(self, upstream_host: str) -> str:
        """Registry (root plus path segment) serving the images of ``upstream_host``."""
        host = HOST_ALIASES.get(upstream_host, upstream_host)
        if host not in self.paths:
            known = ", ".join(sorted(self.paths))
            raise ConfigError(
                "ImageMirror.paths",
                f"no mirror path for images of {host}",
                f"mirror only images of {known}, or add a path for {host}",
            )
        path = self.paths[host]
        return f"{self.root}/{path}" if path else self.root

    def mirror(self, reference: str | ImageRef, digest: str | None = None) -> ImageRef:
        """The mirror's reference for ``reference`` (``digest`` pins it)."""
        ref = reference if isinstance(reference, ImageRef) else ImageRef.parse(reference)
        if digest is not None:
            check_digest(digest, f"digest of {ref}")
        return ImageRef(
            registry=self.registry_for(ref.registry),
            repository=ref.repository,
            tag=ref.tag,
            digest=digest or ref.digest,
        )

    def contains(self, reference: str) -> bool:
        """True when ``reference`` is served by this mirror (root and a known path)."""
        prefixes = {self.registry_for(host) + "/" for host in self.paths}
        return any(reference.startswith(p) for p in prefixes)
