"""The image catalogue of a chart and the rewrite of its values to the mirror.

Every chart eks-secure installs lists the images it can render (:class:`ChartImage`: the
canonical upstream reference and the values path that selects it) and provides one function from
an :class:`~eks_secure.registry.mirror.ImageMirror` to the chart's image values
(:data:`ImageValues`). :class:`~eks_secure.helm.release.HelmRelease` merges those values over the
chart's other values and refuses any other value that would touch them, so no install can point
an image back at a public registry. Pure Python (no CDK).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_secure.errors import ConfigError
from eks_secure.registry.mirror import ImageMirror, ImageRef, check_digest

ImageValues = Callable[[ImageMirror], dict[str, Any]]
"""A chart's image rewrite: the mirror in, the Helm values selecting its images out."""


def no_images(mirror: ImageMirror) -> dict[str, Any]:
    """The image rewrite of a chart that runs no container (CRDs only)."""
    del mirror
    return {}


@dataclass(frozen=True)
class ChartImage:
    """One image a chart can render, and where its values select it.

    :param upstream: canonical upstream reference with its tag (``ghcr.io/kyverno/kyverno:v1``).
    :param values_path: path of the chart's image block (``("admissionController", "image")``).
    """

    upstream: str
    values_path: tuple[str, ...]

    @property
    def ref(self) -> ImageRef:
        """The parsed upstream reference."""
        return ImageRef.parse(self.upstream, field=".".join(self.values_path))


def check_digests(
    images: Sequence[ChartImage], digests: Mapping[str, str], field: str
) -> dict[str, str]:
    """Validate ``digests`` (upstream reference -> ``sha256:...``) against ``images``."""
    known = {i.upstream for i in images}
    for upstream, digest in digests.items():
        if upstream not in known:
            raise ConfigError(
                f"{field}[{upstream}]",
                "is not an image of this chart",
                f"pin one of {', '.join(sorted(known))}",
            )
        check_digest(digest, f"{field}[{upstream}]")
    return dict(digests)


def nested(path: Sequence[str], leaf: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": leaf}}`` for ``path`` ``("a", "b")``."""
    value: dict[str, Any] = dict(leaf)
    for key in reversed(path):
        value = {key: value}
    return value


def registry_repository_tag(
    image: ChartImage, mirror: ImageMirror, digest: str | None = None
) -> dict[str, Any]:
    """Values ``{registry, repository, tag}`` at the image's path (Kyverno-style charts).

    A digest rides in the tag (``v1.19.0@sha256:...``), which such charts print verbatim after
    ``repository:``; runtimes then pull by digest.
    """
    ref = mirror.mirror(image.ref, digest)
    return nested(
        image.values_path,
        {"registry": ref.registry, "repository": ref.repository, "tag": ref.version},
    )


def merge(values: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Deep-merge value trees; a leaf set twice (to different values) is an error."""
    result: dict[str, Any] = {}
    for tree in values:
        _merge_into(result, tree, ())
    return result


def _merge_into(target: dict[str, Any], tree: Mapping[str, Any], path: tuple[str, ...]) -> None:
    for key, value in tree.items():
        here = (*path, key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, here)
        elif key in target and target[key] != value:
            raise ValueError(f"value {'.'.join(here)} is set twice")
        else:
            target[key] = _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


def leaf_paths(tree: Mapping[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf path of a value tree (a non-empty mapping is not a leaf)."""
    paths: set[tuple[str, ...]] = set()
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            paths |= leaf_paths(value, (*path, key))
        else:
            paths.add((*path, key))
    return paths


def overlapping_paths(values: Mapping[str, Any], image_values: Mapping[str, Any]) -> list[str]:
    """Paths of ``values`` that set, or sit inside or above, an image value."""
    image_paths = leaf_paths(image_values)
    clashes = set()
    for path in leaf_paths(values):
        for image_path in image_paths:
            shorter = min(len(path), len(image_path))
            if path[:shorter] == image_path[:shorter]:
                clashes.add(".".join(path))
    return sorted(clashes)
