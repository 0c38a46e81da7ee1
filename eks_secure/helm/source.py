"""Where a Helm chart comes from: one typed option shared by every eks-secure Helm install.

A private cluster's kubectl handler reaches no public Helm repository, so a chart comes from one
of three places (pure Python; :class:`~eks_secure.helm.release.HelmRelease` turns them into
``aws_eks_v2.HelmChart`` properties):

:class:`EcrMirrorChart` (the default)
    ``oci://<account>.dkr.ecr.<region>.<url suffix>/<namespace>/<chart>`` at a pinned version:
    the deployment's own ECR, where the chart must be pushed (``helm push``) before the first
    deploy. The kubectl handler logs in to that registry with its own role.
:class:`RepositoryChart`
    Any ``oci://`` registry or ``https://`` Helm repository the VPC can reach, pinned version.
:class:`LocalChart`
    A chart directory shipped with the app as a CDK asset (S3); the handler downloads and
    unpacks it. Nothing has to be pushed anywhere, and the chart's own ``Chart.yaml`` pins it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from eks_secure.errors import ConfigError

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_CHART_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_REPOSITORY = re.compile(r"^(?:oci|https)://[^\s/]+(?:/\S*)?$")
_NAMESPACE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")

DEFAULT_ECR_NAMESPACE = "eks-secure"
"""ECR repository namespace of the default chart (and image) mirror."""


def check_chart_name(chart: str, field: str) -> None:
    """Raise a field-named error unless ``chart`` is a valid Helm chart name."""
    if not _CHART_NAME.match(chart) or len(chart) > 63:
        raise ConfigError(
            field,
            f"{chart!r} is not a valid chart name",
            "use lower-case letters, digits and '-' (as in the chart's Chart.yaml)",
        )


def check_version(version: str, field: str) -> None:
    """Raise a field-named error unless ``version`` is one exact semantic version."""
    if not _SEMVER.match(version):
        raise ConfigError(
            field,
            f"{version!r} is not an exact chart version",
            "pin one semantic version such as 3.9.0 (no range, no leading v)",
        )


@dataclass(frozen=True)
class EcrMirrorChart:
    """The chart from the deployment's own ECR: ``oci://<ECR>/<namespace>/<chart>``."""

    version: str
    """Pinned chart version."""
    namespace: str = DEFAULT_ECR_NAMESPACE
    """ECR repository namespace the chart is pushed under."""

    def check(self, chart: str, field: str) -> None:
        """Raise a field-named error (``<field>.chart_version`` ...) for bad input."""
        check_version(self.version, f"{field}.chart_version")
        if not _NAMESPACE.match(self.namespace):
            raise ConfigError(
                f"{field}.chart_namespace",
                f"{self.namespace!r} is not an ECR repository namespace",
                "use lower-case letters, digits and . _ - separated by /",
            )
        del chart


@dataclass(frozen=True)
class RepositoryChart:
    """The chart from an ``oci://`` registry or an ``https://`` Helm repository, pinned."""

    repository: str
    """``oci://host/path/<chart>`` (the full chart reference) or ``https://`` repository URL."""
    version: str
    """Pinned chart version."""

    @property
    def is_oci(self) -> bool:
        """Whether the repository is an OCI registry."""
        return self.repository.startswith("oci://")

    def check(self, chart: str, field: str) -> None:
        """Raise a field-named error for a bad URL, version or OCI chart path."""
        check_version(self.version, f"{field}.chart_version")
        if not _REPOSITORY.match(self.repository):
            raise ConfigError(
                f"{field}.chart_repository",
                f"{self.repository!r} is not an oci:// or https:// URL",
                f"use oci://<registry>/<path>/{chart} or an https:// Helm repository",
            )
        # The kubectl handler runs `helm pull <repository> --untar` and installs the directory
        # named after the repository's last segment, so that segment must be the chart.
        if self.is_oci and self.repository.rstrip("/").rsplit("/", 1)[-1] != chart:
            raise ConfigError(
                f"{field}.chart_repository",
                f"an OCI repository must end with the chart name {chart!r}, got "
                f"{self.repository!r}",
                f"use oci://<registry>/<path>/{chart}",
            )


@dataclass(frozen=True)
class LocalChart:
    """A chart directory shipped as a CDK asset (zipped to S3, unpacked by the handler)."""

    directory: Path
    """Directory holding ``Chart.yaml`` (with its ``charts/`` dependencies unpacked)."""

    def chart_yaml(self, field: str) -> dict[str, object]:
        """The parsed ``Chart.yaml``; a field-named error when it is missing or unreadable."""
        path = Path(self.directory) / "Chart.yaml"
        if not path.is_file():
            raise ConfigError(
                f"{field}.chart_directory",
                f"{self.directory} holds no Chart.yaml",
                "point it at an unpacked chart directory (`helm pull --untar`)",
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{field}.chart_directory", f"{path} is not valid YAML: {exc}", "fix the chart"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"{field}.chart_directory", f"{path} is not a mapping", "fix the chart"
            )
        return data

    def check(self, chart: str, field: str) -> None:
        """Raise a field-named error unless the directory is chart ``chart``."""
        data = self.chart_yaml(field)
        if data.get("name") != chart:
            raise ConfigError(
                f"{field}.chart_directory",
                f"{self.directory} is chart {data.get('name')!r}, not {chart!r}",
                "point it at the right chart directory",
            )
        check_version(str(data.get("version", "")), f"{field}.chart_directory")

    @property
    def version(self) -> str:
        """The version in the chart's ``Chart.yaml``."""
        return str(self.chart_yaml("LocalChart").get("version", ""))


ChartSource = EcrMirrorChart | RepositoryChart | LocalChart
"""Where a chart comes from (see the module docstring)."""


def chart_source(repository: str | None, version: str) -> EcrMirrorChart | RepositoryChart:
    """The source a config's ``chart_repository`` / ``chart_version`` pair describes.

    No repository means the deployment's own ECR (:class:`EcrMirrorChart`).
    """
    if repository is None:
        return EcrMirrorChart(version=version)
    return RepositoryChart(repository=repository, version=version)
