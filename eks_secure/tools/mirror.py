"""Every chart and container image a synthesized deployment pulls: what to mirror first.

A cluster with no internet path pulls every Helm chart and every image from the deployment's
own registry. This reads the Helm releases of a cloud assembly (``Custom::AWSCDK-EKS-HelmChart``
resources: chart, version, repository and the values eks-secure rewrote to the mirror) and lists
each chart and each image those values select, with the upstream reference the mirror path
stands for (the layout of :mod:`eks_secure.registry.mirror`). Pure Python (no CDK).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_secure.preflight.assembly import load
from eks_secure.registry.mirror import UPSTREAMS

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"


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


def _images(values: Any) -> Iterator[str]:
    """Image references in Helm values: ``{registry?, repository, tag?, digest?}`` blocks or
    ``image`` strings."""
    if isinstance(values, dict):
        repository = values.get("repository")
        if isinstance(repository, str) and repository and not isinstance(values.get("image"), dict):
            registry = values.get("registry")
            name = (
                f"{registry}/{repository}" if isinstance(registry, str) and registry else repository
            )
            tag, digest = values.get("tag"), values.get("digest")
            if isinstance(tag, str) and tag:
                name += f":{tag}" if not tag.startswith("sha256:") else f"@{tag}"
            if isinstance(digest, str) and digest:
                name += f"@{digest}"
            yield name
        for key, value in values.items():
            if key == "image" and isinstance(value, str) and value:
                yield value
            else:
                yield from _images(value)
    elif isinstance(values, list):
        for value in values:
            yield from _images(value)


def upstream_of(reference: str) -> str:
    """The upstream image a mirror reference stands for: the mirror layout is
    ``<root>/<upstream path>/<repository>`` (``.../eks-secure/github/kyverno/kyverno:v1``)."""
    parts = reference.split("/")
    by_path = {u.path: u for u in UPSTREAMS}
    for i, part in enumerate(parts[1:-1], start=1):
        if part in by_path:
            return f"{by_path[part].host}/{'/'.join(parts[i + 1 :])}"
    return ""


def mirror_items(directory: str | Path) -> list[MirrorItem]:
    """Every chart and image the Helm releases of the assembly at ``directory`` pull, sorted."""
    assembly = load(directory)
    items: set[MirrorItem] = set()
    for stack, _, resource in assembly.all_resources():
        if resource.get("Type") != HELM_CHART:
            continue
        props = stack.resolve(resource.get("Properties", {}))
        release = str(props.get("Release", props.get("Chart", "")))
        repository = props.get("Repository")
        chart = props.get("Chart")
        version = props.get("Version")
        if isinstance(repository, str) and isinstance(chart, str):
            ref = repository if repository.endswith("/" + chart) else f"{repository}/{chart}"
            items.add(MirrorItem("chart", release, f"{ref}:{version}" if version else ref, chart))
        elif props.get("ChartAssetURL"):
            items.add(
                MirrorItem("chart", release, "(CDK asset, uploaded by cdk deploy)", str(chart))
            )
        values = props.get("Values")
        if isinstance(values, str):
            try:
                values = json.loads(values)
            except ValueError:
                values = {}
        for reference in _images(values):
            items.add(MirrorItem("image", release, reference, upstream_of(reference)))
    return sorted(items)
