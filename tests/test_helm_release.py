"""HelmRelease and chart sources: timeout budget, atomic/wait, image-value guard, bad input.

The Helm custom resources of the synthesized subnet-per-app deployment are checked against the
kubectl handler Lambda in the same template, and the handler's exact helm flags are parsed by
the helm binary the handler runs (the kubectl layer's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from helm import CHARTS, Helm, requires_charts
from synth import Synth

from eks_secure.cluster.kyverno import KYVERNO_HOOKS
from eks_secure.errors import ConfigError
from eks_secure.helm.images import (
    ChartImage,
    check_digests,
    merge,
    overlapping_paths,
    registry_repository_tag,
)
from eks_secure.helm.release import (
    HANDLER_OVERHEAD_SECONDS,
    KUBECTL_HANDLER_TIMEOUT_SECONDS,
    SERVICE_TIMEOUT_SECONDS,
    HookCounts,
    check_timeout,
    default_timeout,
    validated_values,
    worst_case_waits,
)
from eks_secure.helm.source import EcrMirrorChart, LocalChart, RepositoryChart, chart_source
from eks_secure.registry.mirror import ImageMirror

pytestmark = pytest.mark.xdist_group("subnet-per-app")

HANDLER_DESCRIPTION = "onEvent handler for EKS kubectl resource provider"
MIRROR = ImageMirror("111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure")
IMAGE = ChartImage("ghcr.io/example/app:v1.0.0", ("app", "image"))


def _resources(synth: Synth, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: r
        for template in synth.templates.values()
        for logical_id, r in template["Resources"].items()
        if r["Type"] == kind
    }


def _seconds(text: str) -> int:
    assert text.endswith("s"), text
    return int(text[:-1])


# ------------------------------------------------------------------------ timeout budget


def test_worst_case_waits_counts_hooks_and_atomic_cleanup() -> None:
    assert worst_case_waits(HookCounts()) == 2  # install + atomic uninstall
    assert worst_case_waits(HookCounts(), atomic=False) == 1
    kyverno = HookCounts(post_upgrade=1, pre_delete=2)
    # install (1) + uninstall (2 pre-delete Jobs + deletion) = 4
    assert worst_case_waits(kyverno) == 4
    upgrade_heavy = HookCounts(pre_upgrade=2, post_upgrade=1, post_rollback=1)
    assert worst_case_waits(upgrade_heavy) == 2 + 1 + 1 + (1 + 1)


def test_default_timeout_fits_the_handler() -> None:
    hooks = HookCounts(post_upgrade=1, pre_delete=2)
    seconds = default_timeout(hooks).to_seconds()
    assert seconds == 180
    assert seconds * worst_case_waits(hooks) + HANDLER_OVERHEAD_SECONDS <= 900


@pytest.mark.parametrize("seconds", [900, 196, 30])
def test_timeout_outside_the_budget_is_refused(seconds: int) -> None:
    with pytest.raises(ConfigError) as info:
        check_timeout(seconds, HookCounts(post_upgrade=1, pre_delete=2), "kyverno.timeout")
    assert info.value.field == "kyverno.timeout"


def test_every_helm_release_fails_before_its_lambda(subnet_per_app: Synth) -> None:
    """Helm's timeout x waits + overhead < the handler Lambda's own timeout, from the template."""
    (handler,) = [
        r
        for r in _resources(subnet_per_app, "AWS::Lambda::Function").values()
        if r["Properties"].get("Description") == HANDLER_DESCRIPTION
    ]
    assert handler["Properties"]["Timeout"] == KUBECTL_HANDLER_TIMEOUT_SECONDS
    charts = _resources(subnet_per_app, "Custom::AWSCDK-EKS-HelmChart")
    assert charts
    for logical_id, chart in charts.items():
        props = chart["Properties"]
        assert props["Wait"] is True and props["Atomic"] is True, logical_id
        timeout = _seconds(props["Timeout"])
        # the only release here is Kyverno (its hooks are counted in test_kyverno_chart.py)
        assert props["Release"] == "kyverno"
        waits = worst_case_waits(KYVERNO_HOOKS)
        assert timeout * waits + HANDLER_OVERHEAD_SECONDS <= KUBECTL_HANDLER_TIMEOUT_SECONDS
        service_timeout = int(props["ServiceTimeout"])
        assert service_timeout == SERVICE_TIMEOUT_SECONDS
        assert KUBECTL_HANDLER_TIMEOUT_SECONDS < service_timeout <= 3600


@requires_charts
def test_handler_helm_flags_parse_with_the_layer_helm(
    subnet_per_app: Synth, helm: Helm, tmp_path: Path
) -> None:
    """The flags the kubectl handler builds from our properties are accepted by helm 4.

    The handler runs ``helm upgrade <release> <chart dir> --install --create-namespace --values
    <file> --namespace <ns> --wait --timeout <T> --atomic --kubeconfig <file>`` (OCI charts are
    pulled first, so no --repo/--version); on delete ``helm uninstall <release> --namespace <ns>
    --wait --timeout <T>``. Helm stops at the missing cluster only after parsing every flag.
    """
    (chart,) = _resources(subnet_per_app, "Custom::AWSCDK-EKS-HelmChart").values()
    props = chart["Properties"]
    values = tmp_path / "values.json"
    values.write_text("{}")
    kubeconfig = str(tmp_path / "missing-kubeconfig")
    upgrade = helm.run(
        "upgrade", props["Release"], str(CHARTS / "kyverno"), "--install", "--create-namespace",
        "--values", str(values), "--namespace", props["Namespace"], "--wait",
        "--timeout", props["Timeout"], "--atomic", "--kubeconfig", kubeconfig,
    )  # fmt: skip
    uninstall = helm.run(
        "uninstall", props["Release"], "--namespace", props["Namespace"], "--wait",
        "--timeout", props["Timeout"], "--kubeconfig", kubeconfig,
    )  # fmt: skip
    for result in (upgrade, uninstall):
        assert result.returncode != 0
        assert "unknown flag" not in result.stderr
        assert "invalid argument" not in result.stderr
        assert "kubernetes cluster unreachable" in result.stderr, result.stderr


def test_a_bad_flag_is_reported_by_the_same_check(helm: Helm) -> None:
    """The flag check above can fail: an unknown flag is reported before the cluster."""
    result = helm.run("upgrade", "x", "y", "--install", "--atomc", "--kubeconfig", "/missing")
    assert "unknown flag: --atomc" in result.stderr


# -------------------------------------------------------------------------- image values


def test_image_values_cannot_be_overridden() -> None:
    image_tree = registry_repository_tag(IMAGE, MIRROR)
    assert overlapping_paths({"app": {"image": {"registry": "docker.io"}}}, image_tree) == [
        "app.image.registry"
    ]
    assert overlapping_paths({"app": {"image": "docker.io/x:1"}}, image_tree) == ["app.image"]
    assert overlapping_paths({"app": {"image": {"pullPolicy": "Always"}}}, image_tree) == []
    assert overlapping_paths({"app": {"replicas": 2}}, image_tree) == []


def test_merge_refuses_conflicting_leaves() -> None:
    assert merge([{"a": {"b": 1}}, {"a": {"c": 2}}]) == {"a": {"b": 1, "c": 2}}
    with pytest.raises(ValueError, match=r"a\.b"):
        merge([{"a": {"b": 1}}, {"a": {"b": 2}}])


def test_digest_pins_are_checked_against_the_chart_images() -> None:
    digest = "sha256:" + "0" * 64
    assert check_digests([IMAGE], {IMAGE.upstream: digest}, "x.image_digests")
    with pytest.raises(ConfigError) as info:
        check_digests([IMAGE], {"ghcr.io/example/other:v1": digest}, "x.image_digests")
    assert info.value.field == "x.image_digests[ghcr.io/example/other:v1]"
    with pytest.raises(ConfigError):
        check_digests([IMAGE], {IMAGE.upstream: "sha256:short"}, "x.image_digests")


def _validate(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "chart": "app",
        "release": "app",
        "namespace": "app-system",
        "source": EcrMirrorChart(version="1.0.0"),
        "timeout": cdk.Duration.minutes(5),
        "hooks": HookCounts(),
        "values": {"app": {"replicas": 2}},
        "image_tree": registry_repository_tag(IMAGE, MIRROR),
        "field": "app",
    }
    args.update(overrides)
    return validated_values(**args)


def test_valid_release_values_include_the_mirrored_images() -> None:
    values = _validate()
    assert values["app"]["replicas"] == 2
    assert values["app"]["image"]["registry"] == f"{MIRROR.root}/github"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"release": "App_1"}, "app.release"),
        ({"release": "r" * 54}, "app.release"),
        ({"namespace": "Bad"}, "app.namespace"),
        ({"chart": "Bad Chart"}, "app.chart"),
        ({"timeout": cdk.Duration.minutes(15)}, "app.timeout"),
        ({"values": {"app": {"image": {"registry": "docker.io"}}}}, "app.values"),
        ({"source": EcrMirrorChart(version="^1.0")}, "app.chart_version"),
        ({"source": EcrMirrorChart(version="1.0.0", namespace="Bad/")}, "app.chart_namespace"),
        ({"source": RepositoryChart("oci://reg.corp/c/other", "1.0.0")}, "app.chart_repository"),
        ({"source": RepositoryChart("http://charts.corp", "1.0.0")}, "app.chart_repository"),
        ({"source": RepositoryChart("https://charts.corp", "v1.0.0")}, "app.chart_version"),
        ({"source": LocalChart(Path("/nonexistent"))}, "app.chart_directory"),
    ],
)  # fmt: skip
def test_bad_release_input_names_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        _validate(**overrides)
    assert info.value.field == field


def test_chart_sources() -> None:
    assert chart_source(None, "3.9.0") == EcrMirrorChart(version="3.9.0")
    oci = chart_source("oci://reg.corp/charts/app", "1.0.0")
    assert isinstance(oci, RepositoryChart) and oci.is_oci
    oci.check("app", "app")
    RepositoryChart("https://charts.corp/stable", "1.0.0").check("app", "app")


def test_local_chart_must_be_the_named_chart(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text(json.dumps({"name": "app", "version": "1.2.3"}))
    chart = LocalChart(tmp_path)
    chart.check("app", "app")
    assert chart.version == "1.2.3"
    with pytest.raises(ConfigError) as info:
        chart.check("other", "app")
    assert info.value.field == "app.chart_directory"
    (tmp_path / "Chart.yaml").write_text(json.dumps({"name": "app", "version": "latest"}))
    with pytest.raises(ConfigError):
        chart.check("app", "app")
