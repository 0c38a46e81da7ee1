"""``eks-secure mirror``: every image each reference deployment's cluster pulls, and its errors.

The list is checked three ways on the session's synthesized assemblies: against the image
catalogues the charts' image values are written from (Cilium, Istio, Calico), against the
mapping (each row's upstream mirrors to exactly its reference), and against the real charts
rendered offline with the deployed values (``../shared/charts``): every container image of the
render, and the sidecar proxy istiod injects (which no render shows as a container: the gateway
chart says ``image: auto`` and app pods get it at admission), must be in the list.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helm import Helm, chart_dir, images
from synth import Synth

from eks_secure.cli import main
from eks_secure.preflight.assembly import load
from eks_secure.registry.mirror import ImageMirror
from eks_secure.tools.mirror import HELM_CHART, HUB_IMAGES

CHARTS = {
    "kyverno": "kyverno",
    "cilium": "cilium",
    "base": "istio/base",
    "istiod": "istio/istiod",
    "gateway": "istio/gateway",
}
"""Shared chart directory of each chart eks-secure installs that ``../shared/charts`` holds
(``cni`` and ``tigera-operator`` are not there: their images are held to the catalogues)."""


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(deployment: Synth, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    code, out, err = cli("mirror", str(deployment.outdir), "--format", "json", capsys=capsys)
    assert code == 0, err
    listed: list[dict[str, str]] = json.loads(out)
    return listed


def listed_images(listed: list[dict[str, str]], *releases: str) -> set[str]:
    return {
        r["reference"]
        for r in listed
        if r["kind"] == "image" and (not releases or r["release"] in releases)
    }


def mirror_of(deployment: Synth) -> ImageMirror:
    config = deployment.config
    return ImageMirror(f"{config.account}.dkr.ecr.{config.region}.amazonaws.com/eks-secure")


def check_upstreams(deployment: Synth, listed: list[dict[str, str]]) -> None:
    """Every image row names its upstream, and that upstream mirrors to exactly its reference."""
    mirror = mirror_of(deployment)
    for row in listed:
        if row["kind"] == "image":
            assert row["upstream"], row
            assert str(mirror.mirror(row["upstream"])) == row["reference"], row


# ------------------------------------------------------------------- against the catalogues


@pytest.mark.xdist_group("cilium")
def test_cilium_images_are_listed(cilium: Synth, capsys: pytest.CaptureFixture[str]) -> None:
    from eks_secure.egress.cilium.construct import CILIUM_IMAGES

    listed = rows(cilium, capsys)
    mirror = mirror_of(cilium)
    assert listed_images(listed, "cilium") == {
        str(mirror.mirror(ref)) for ref in CILIUM_IMAGES.values()
    }
    upstreams = {r["upstream"] for r in listed if r["release"] == "cilium" and r["kind"] == "image"}
    assert upstreams == set(CILIUM_IMAGES.values())
    check_upstreams(cilium, listed)


@pytest.mark.xdist_group("istio")
def test_istio_images_are_listed(istio: Synth, capsys: pytest.CaptureFixture[str]) -> None:
    from eks_secure.egress.istio import CHART_VERSION
    from eks_secure.egress.istio.construct import CNI_RELEASE, ISTIO_IMAGES

    listed = rows(istio, capsys)
    mirror = mirror_of(istio)
    expected = {str(mirror.mirror(f"{image}:{CHART_VERSION}")) for image in ISTIO_IMAGES}
    assert listed_images(listed, "istiod", CNI_RELEASE) == expected
    # the sidecar proxy (injected by istiod, also into the egress gateway) is listed once
    assert f"{mirror.registry_for('docker.io')}/istio/proxyv2:{CHART_VERSION}" in (
        listed_images(listed, "istiod")
    )
    check_upstreams(istio, listed)


@pytest.mark.xdist_group("isolation-pods")
def test_calico_images_are_listed(
    isolation_pods: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    from eks_secure.isolation.host_protection import (
        CALICO_CHART_IMAGES,
        CALICO_OPERATOR_IMAGES,
        CALICO_RELEASE,
    )

    listed = rows(isolation_pods, capsys)
    mirror = mirror_of(isolation_pods)
    upstream = [i.upstream for i in CALICO_CHART_IMAGES] + list(CALICO_OPERATOR_IMAGES)
    assert listed_images(listed, CALICO_RELEASE) == {str(mirror.mirror(i)) for i in upstream}
    check_upstreams(isolation_pods, listed)


def test_hub_image_names_are_the_catalogues() -> None:
    """The image names eks-secure's values leave to the chart are the catalogues' names."""
    from eks_secure.egress.istio.construct import ISTIO_IMAGES
    from eks_secure.isolation.host_protection import (
        CALICO_CHART,
        CALICO_CHART_VERSION,
        CALICO_OPERATOR_IMAGES,
    )

    istio = {f"docker.io/istio/{n}" for chart in ("istiod", "cni") for n in HUB_IMAGES[chart].names}
    assert istio == set(ISTIO_IMAGES)
    calico = {f"quay.io/calico/{n}:v{CALICO_CHART_VERSION}" for n in HUB_IMAGES[CALICO_CHART].names}
    assert calico == set(CALICO_OPERATOR_IMAGES)


# ------------------------------------------------------------------- against the chart renders


def _rendered_images(helm: Helm, deployment: Synth) -> dict[str, set[str]]:
    """By release: every image the release's chart renders with its deployed values, plus the
    proxy image istiod injects (``image: auto`` of the gateway chart stands for it)."""
    found: dict[str, set[str]] = {}
    injected: set[str] = set()
    for stack in load(deployment.outdir).stacks:
        for _, resource in stack.of_type(HELM_CHART):
            props = stack.resolve(resource["Properties"])
            chart, release = props["Chart"], props["Release"]
            if chart not in CHARTS:
                continue
            objs = helm.render(
                CHARTS[chart],
                json.loads(props.get("Values") or "{}"),
                release=release,
                namespace=props.get("Namespace", "default"),
                kubernetes_version=deployment.config.kubernetes_version,
            )
            if images(objs):  # istio-base: CRDs and webhooks only
                found[release] = images(objs)
            injected |= _injected_images(objs)
    for release, found_images in found.items():
        if "auto" in found_images:  # the gateway chart: istiod injects the proxy at admission
            assert injected, f"{release} says image: auto, but no istiod injects an image"
            found[release] = found_images - {"auto"} | injected
    if injected:
        found["(injected by istiod)"] = injected
    return found


def _injected_images(objs: list[dict[str, Any]]) -> set[str]:
    """The proxy images of istiod's sidecar injector (``<hub>/<image>:<tag>[-<variant>]``)."""
    result = set()
    for obj in objs:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "istio-sidecar-injector":
            values = json.loads(obj["data"]["values"])["global"]
            suffix = f"-{values['variant']}" if values.get("variant") else ""
            for key in ("proxy", "proxy_init"):
                image = values[key]["image"]
                result.add(
                    image if "/" in image else f"{values['hub']}/{image}:{values['tag']}{suffix}"
                )
    return result


@pytest.mark.parametrize(
    ("fixture", "releases"),
    [
        pytest.param(
            "subnet_per_app", {"kyverno"}, marks=pytest.mark.xdist_group("subnet-per-app")
        ),
        pytest.param("cilium", {"kyverno", "cilium"}, marks=pytest.mark.xdist_group("cilium")),
        pytest.param(
            "istio",
            {"kyverno", "istiod", "istio-egressgateway", "(injected by istiod)"},
            marks=pytest.mark.xdist_group("istio"),
        ),
    ],
)
def test_every_rendered_image_is_listed(
    fixture: str,
    releases: set[str],
    helm: Helm,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Skipped (the ``helm`` fixture) when ``../shared/charts`` is absent."""
    for chart in CHARTS.values():
        chart_dir(chart)
    deployment: Synth = request.getfixturevalue(fixture)
    rendered = _rendered_images(helm, deployment)
    assert set(rendered) == releases
    listed = listed_images(rows(deployment, capsys))
    for release, found in rendered.items():
        missing = found - listed
        assert not missing, f"{release} pulls images `eks-secure mirror` does not list: {missing}"


# ------------------------------------------------------------------------------- errors


def _one_error(err: str, field: str, problem: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"eks-secure mirror: {field}: "), err
    assert problem in lines[0], err
    assert lines[1].startswith("  fix: "), err
    assert "internal error" not in err and "Traceback" not in err


def test_missing_assembly_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    code, out, err = cli("mirror", str(missing), capsys=capsys)
    assert (code, out) == (2, "")
    _one_error(err, str(missing), "does not exist")
    code, _, err = cli("mirror", str(tmp_path), capsys=capsys)
    assert code == 2
    _one_error(err, str(tmp_path), "no manifest.json")


def _copy_assembly(deployment: Synth, target: Path) -> Path:
    """The assembly's JSON files (manifests and templates: what the mirror list reads)."""
    target.mkdir()
    for path in deployment.outdir.glob("*.json"):
        shutil.copy(path, target / path.name)
    return target


@pytest.mark.xdist_group("subnet-per-app")
def test_malformed_files_are_usage_errors(
    subnet_per_app: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = _copy_assembly(subnet_per_app, tmp_path / "out")
    code, out, _ = cli("mirror", str(assembly), "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out), "the copy is a readable assembly"

    template = assembly / f"{subnet_per_app.deployment.cluster_stack.artifact_id}.template.json"
    text = template.read_text()
    resources = json.loads(text)["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == HELM_CHART]

    # a release whose values are not JSON would silently lose its images
    broken = json.loads(text)
    broken["Resources"][logical_id]["Properties"]["Values"] = '{"image": '
    template.write_text(json.dumps(broken))
    code, _, err = cli("mirror", str(assembly), capsys=capsys)
    assert code == 2
    _one_error(err, f"{template}: Resources.{logical_id}.Properties.Values", "not valid JSON")

    broken["Resources"][logical_id]["Properties"] = "chart"
    template.write_text(json.dumps(broken))
    code, _, err = cli("mirror", str(assembly), capsys=capsys)
    assert code == 2
    _one_error(err, f"{template}: Resources.{logical_id}.Properties", "not a JSON object")

    template.write_text(text[: len(text) // 2])
    code, _, err = cli("mirror", str(assembly), capsys=capsys)
    assert code == 2
    _one_error(err, str(template), "not valid JSON")

    template.write_text(text)
    (assembly / "manifest.json").write_text("{not json")
    code, _, err = cli("mirror", str(assembly), capsys=capsys)
    assert code == 2
    _one_error(err, str(assembly / "manifest.json"), "not valid JSON")


@pytest.mark.xdist_group("subnet-per-app")
def test_mirror_needs_no_cdk(subnet_per_app: Synth) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from eks_secure.cli import main; "
            f"code = main(['mirror', {str(subnet_per_app.outdir)!r}, '--format', 'json']); "
            "assert code == 0, code; "
            "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
