"""Every chart and container image a synthesized deployment pulls: what to mirror first.

A cluster with no internet path pulls every Helm chart and every image from the deployment's
own registry. This reads the Helm releases of a cloud assembly (``Custom::AWSCDK-EKS-HelmChart``
resources: chart, version, repository and the values eks-secure rewrote to the mirror) and lists
each chart and each image those values select, with the upstream reference the mirror path
stands for (the layout of :mod:`eks_secure.registry.mirror`). Pure Python (no CDK).

The images are read from the values, in the shapes the charts' image rewrites
(:mod:`eks_secure.helm.images`) write them:

- ``{registry?, repository, tag?, digest?}`` blocks (Kyverno);
- ``{override: <reference>}`` blocks (Cilium: the override replaces the whole image);
- ``{registry?, image, tag? | version?}`` blocks and bare ``image: <reference>`` strings
  (the tigera-operator chart's operator and calicoctl);
- a registry the values name while the chart picks the image names and tags
  (:data:`HUB_IMAGES`): Istio's ``global.hub`` and ``global.tag`` (istiod, its injected sidecar
  proxy, istio-cni) and the images the Tigera operator deploys from
  ``installation.registry``/``imagePath``. Those names are the charts' own defaults, which no
  value carries; ``tests/test_mirror_cli.py`` holds them to the charts' image catalogues and
  renders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_secure.egress.istio import CNI_IMAGE_NAMES, ISTIOD_IMAGE_NAMES
from eks_secure.errors import ConfigError
from eks_secure.isolation.host_protection import CALICO_CHART, CALICO_OPERATOR_IMAGE_NAMES
from eks_secure.preflight.assembly import Stack, load
from eks_secure.registry.mirror import UPSTREAMS

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
RESYNTH = "re-run `make synth` to write the assembly again"


@dataclass(frozen=True, order=True)
class MirrorItem:
    """One artefact to mirror before the first deploy."""

    kind: str
    """``chart`` or ``image``."""
    release: str
    """The Helm release that needs it."""
    reference: str
    """Where the cluster pulls it from (the mirror)."""
    upstream: str
    """What it is a copy of (empty when the mirror path does not say)."""


@dataclass(frozen=True)
class HubImages:
    """Images a chart pulls by name from a registry its values only name (a "hub").

    :param registry: values path of the registry (a trailing ``/`` is dropped).
    :param names: the image names the chart (or the operator it installs) pulls from it.
    :param tag: values path of the tag; ``None``: ``v`` + the chart version (the Tigera
        operator deploys the Calico release its chart version names).
    :param image_path: values path of a path segment between registry and name, if any.
    """

    registry: tuple[str, ...]
    names: tuple[str, ...]
    tag: tuple[str, ...] | None
    image_path: tuple[str, ...] | None = None


_ISTIO_HUB = ("global", "hub")
_ISTIO_TAG = ("global", "tag")

HUB_IMAGES: Mapping[str, HubImages] = {
    # pilot (values pilot.image) runs istiod; proxyv2 (global.proxy.image and
    # global.proxy_init.image) is what istiod injects into every sidecar pod and into the
    # egress gateway (whose chart says `image: auto`), so no render of a chart shows it
    "istiod": HubImages(_ISTIO_HUB, ISTIOD_IMAGE_NAMES, _ISTIO_TAG),
    "cni": HubImages(_ISTIO_HUB, CNI_IMAGE_NAMES, _ISTIO_TAG),
    # the operator deploys Calico for policy-only mode on EKS at run time
    CALICO_CHART: HubImages(
        ("installation", "registry"),
        CALICO_OPERATOR_IMAGE_NAMES,
        None,
        ("installation", "imagePath"),
    ),
}
"""By chart name: the images pulled from a registry the chart's values name, by name."""


def _at(values: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` of a values tree (None when absent)."""
    for key in path:
        if not isinstance(values, dict):
            return None
        values = values.get(key)
    return values


def _text(value: Any) -> str:
    """``value`` when it is a non-empty string, else ``""``."""
    return value if isinstance(value, str) and value else ""


def _with_version(name: str, tag: str, digest: str) -> str:
    """``name`` with ``:tag`` (a ``sha256:`` tag as ``@``) and ``@digest`` appended."""
    if tag:
        name += f"@{tag}" if tag.startswith("sha256:") else f":{tag}"
    if digest:
        name += f"@{digest}"
    return name


def _images(values: Any) -> Iterator[str]:
    """Image references in Helm values (the shapes of the module docstring)."""
    if isinstance(values, list):
        for value in values:
            yield from _images(value)
        return
    if not isinstance(values, dict):
        return
    registry = _text(values.get("registry"))
    digest = _text(values.get("digest"))
    override = _text(values.get("override"))
    repository = _text(values.get("repository"))
    image = values.get("image")
    if override:
        yield override
    elif repository and not isinstance(image, dict):
        name = f"{registry}/{repository}" if registry else repository
        yield _with_version(name, _text(values.get("tag")), digest)
    elif _text(image):
        name = f"{registry.rstrip('/')}/{image}" if registry else str(image)
        tag = _text(values.get("tag")) or _text(values.get("version"))
        yield _with_version(name, "" if ":" in name.rsplit("/", 1)[-1] else tag, digest)
    for value in values.values():
        if isinstance(value, dict | list):
            yield from _images(value)


def hub_images(chart: str, version: str, values: Any) -> list[str]:
    """The images ``chart`` pulls from the registry its ``values`` name (:data:`HUB_IMAGES`)."""
    hub = HUB_IMAGES.get(chart)
    registry = _text(_at(values, hub.registry)).rstrip("/") if hub else ""
    if hub is None or not registry:
        return []
    tag = _text(_at(values, hub.tag)) if hub.tag else (f"v{version}" if version else "")
    prefix = registry
    if hub.image_path:
        segment = _text(_at(values, hub.image_path)).strip("/")
        prefix = f"{registry}/{segment}" if segment else registry
    return [_with_version(f"{prefix}/{name}", tag, "") for name in hub.names]


def upstream_of(reference: str) -> str:
    """The upstream image a mirror reference stands for: the mirror layout is
    ``<root>/<upstream path>/<repository>`` (``.../eks-secure/github/kyverno/kyverno:v1``)."""
    parts = reference.split("/")
    by_path = {u.path: u for u in UPSTREAMS}
    for i, part in enumerate(parts[1:-1], start=1):
        if part in by_path:
            return f"{by_path[part].host}/{'/'.join(parts[i + 1 :])}"
    return ""


def _values(stack: Stack, logical_id: str, props: Mapping[str, Any]) -> Any:
    """A release's values tree; a field-named error when they are not JSON."""
    values = props.get("Values")
    if not isinstance(values, str):
        return values
    try:
        return json.loads(values)
    except ValueError as exc:
        raise ConfigError(
            f"{stack.file}: Resources.{logical_id}.Properties.Values",
            f"is not valid JSON ({exc})",
            RESYNTH,
        ) from None


def mirror_items(directory: str | Path) -> list[MirrorItem]:
    """Every chart and image the Helm releases of the assembly at ``directory`` pull, sorted.

    A missing, unreadable or malformed assembly raises :class:`~eks_secure.errors.ConfigError`
    naming the file (the assembly loader's errors, :func:`eks_secure.preflight.assembly.load`).
    """
    assembly = load(directory)
    items: set[MirrorItem] = set()
    for stack in assembly.stacks:
        for logical_id, resource in stack.of_type(HELM_CHART):
            props = stack.resolve(resource.get("Properties", {}))
            if not isinstance(props, dict):
                raise ConfigError(
                    f"{stack.file}: Resources.{logical_id}.Properties",
                    "is not a JSON object",
                    RESYNTH,
                )
            items |= _release_items(props, _values(stack, logical_id, props))
    return sorted(items)


def _release_items(props: Mapping[str, Any], values: Any) -> set[MirrorItem]:
    """The chart and images of one release (its resolved properties and values)."""
    release = str(props.get("Release", props.get("Chart", "")))
    repository, chart, version = props.get("Repository"), props.get("Chart"), props.get("Version")
    items: set[MirrorItem] = set()
    if isinstance(repository, str) and isinstance(chart, str):
        ref = repository if repository.endswith("/" + chart) else f"{repository}/{chart}"
        items.add(MirrorItem("chart", release, f"{ref}:{version}" if version else ref, chart))
    elif props.get("ChartAssetURL"):
        items.add(MirrorItem("chart", release, "(CDK asset, uploaded by cdk deploy)", str(chart)))
    references = [*_images(values), *hub_images(str(chart or ""), str(version or ""), values)]
    for reference in references:
        items.add(MirrorItem("image", release, reference, upstream_of(reference)))
    return items
