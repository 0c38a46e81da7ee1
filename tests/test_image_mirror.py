"""The mirror mapping from upstream image references to the private registry (pure Python)."""

from __future__ import annotations

import pytest

from eks_secure.errors import ConfigError
from eks_secure.registry.mirror import UPSTREAMS, ImageMirror, ImageRef

ROOT = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("upstream", "mirrored"),
    [
        ("quay.io/cilium/cilium:v1.20.0", f"{ROOT}/quay/cilium/cilium:v1.20.0"),
        ("registry.k8s.io/kubectl:v1.34.0", f"{ROOT}/k8s/kubectl:v1.34.0"),
        (
            "public.ecr.aws/eks/aws-load-balancer-controller:v2.9.0",
            f"{ROOT}/ecr-public/eks/aws-load-balancer-controller:v2.9.0",
        ),
        ("docker.io/istio/proxyv2:1.30.3", f"{ROOT}/docker-hub/istio/proxyv2:1.30.3"),
        ("istio/pilot:1.30.3", f"{ROOT}/docker-hub/istio/pilot:1.30.3"),
        ("busybox:1.37", f"{ROOT}/docker-hub/library/busybox:1.37"),
        ("index.docker.io/library/nginx:1", f"{ROOT}/docker-hub/library/nginx:1"),
        ("ghcr.io/kyverno/kyverno:v1.19.0", f"{ROOT}/github/kyverno/kyverno:v1.19.0"),
        ("reg.kyverno.io/kyverno/kyverno:v1.19.0", f"{ROOT}/github/kyverno/kyverno:v1.19.0"),
        (f"quay.io/cilium/cilium:v1.20.0@{DIGEST}", f"{ROOT}/quay/cilium/cilium:v1.20.0@{DIGEST}"),
    ],
)
def test_documented_mapping(upstream: str, mirrored: str) -> None:
    assert str(ImageMirror(ROOT).mirror(upstream)) == mirrored


def test_every_upstream_has_a_distinct_path() -> None:
    paths = [u.path for u in UPSTREAMS]
    assert len(set(paths)) == len(paths)
    assert {u.host for u in UPSTREAMS if u.needs_credential} == {"docker.io", "ghcr.io"}


def test_digest_pins_and_rides_in_the_version() -> None:
    ref = ImageMirror(ROOT).mirror("ghcr.io/kyverno/kyverno:v1.19.0", DIGEST)
    assert ref.version == f"v1.19.0@{DIGEST}"
    assert ref.registry == f"{ROOT}/github"
    assert ref.repository == "kyverno/kyverno"


def test_contains_only_mirrored_references() -> None:
    mirror = ImageMirror(ROOT)
    assert mirror.contains(f"{ROOT}/quay/cilium/cilium:v1")
    assert not mirror.contains("quay.io/cilium/cilium:v1")
    assert not mirror.contains(f"{ROOT}/elsewhere/cilium:v1")
    assert not mirror.contains(f"{ROOT}-other/quay/cilium:v1")


def test_custom_paths_and_flat_root() -> None:
    flat = ImageMirror("registry.corp/mirror", paths={"quay.io": ""})
    assert str(flat.mirror("quay.io/cilium/cilium:v1")) == "registry.corp/mirror/cilium/cilium:v1"
    with pytest.raises(ConfigError) as info:
        flat.mirror("ghcr.io/kyverno/kyverno:v1")
    assert info.value.field == "ImageMirror.paths"


@pytest.mark.parametrize(
    ("root", "field"),
    [
        ("https://registry.corp/mirror", "ImageMirror.root"),
        ("registry.corp/mirror/", "ImageMirror.root"),
        ("Registry.Corp", "ImageMirror.root"),
        ("", "ImageMirror.root"),
    ],
)
def test_bad_root(root: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        ImageMirror(root)
    assert info.value.field == field


@pytest.mark.parametrize("reference", ["quay.io/Cilium/cilium:v1", "quay.io/cilium@sha256:12"])
def test_bad_references(reference: str) -> None:
    with pytest.raises(ConfigError):
        ImageRef.parse(reference)


def test_bad_digest_names_the_image() -> None:
    with pytest.raises(ConfigError) as info:
        ImageMirror(ROOT).mirror("quay.io/cilium/cilium:v1", "sha256:xyz")
    assert "quay.io/cilium/cilium:v1" in info.value.field
