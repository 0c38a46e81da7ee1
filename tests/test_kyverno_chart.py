"""The real Kyverno chart (3.9.0, ../shared/charts/kyverno) rendered with the project's values.

The values are read back from the synthesized subnet-per-app template (the HelmChart's
``Values``), so what is rendered is what the kubectl handler would install.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from helm import (
    Helm,
    containers,
    hook_events,
    images,
    is_test_hook,
    pod_spec,
    requires_charts,
    resolve_intrinsics,
    unknown_value_paths,
    values_schema_errors,
)
from manifest_validation import validate_all
from synth import Synth

from eks_secure.cluster.cluster import SYSTEM_NODE_LABEL
from eks_secure.cluster.control_plane_egress import IN_CLUSTER_WEBHOOK_PORTS
from eks_secure.cluster.kyverno import (
    CHART,
    KYVERNO_HOOKS,
    KYVERNO_IMAGES,
    NAMESPACE,
    RELEASE,
    WEBHOOK_PORT,
    KyvernoInstall,
    kyverno_image_values,
    kyverno_values,
)
from eks_secure.config.model import KyvernoSettings
from eks_secure.errors import ConfigError
from eks_secure.helm.images import merge
from eks_secure.helm.release import HookCounts
from eks_secure.k8s.release_fence import EKS_DEFAULT_KUBERNETES_SERVICE_IPS
from eks_secure.registry.mirror import ImageMirror, ImageRef

pytestmark = pytest.mark.xdist_group("subnet-per-app")

PUBLIC_HOSTS = ("docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "reg.kyverno.io", "gcr.io")
HOOK_FIELDS = {event: event.replace("-", "_") for event in (
    "pre-install", "post-install", "pre-upgrade", "post-upgrade",
    "pre-delete", "post-delete", "pre-rollback", "post-rollback",
)}  # fmt: skip


@pytest.fixture(scope="module")
def chart_props(subnet_per_app: Synth) -> dict[str, Any]:
    (chart,) = [
        r
        for r in subnet_per_app.cluster_template["Resources"].values()
        if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"
    ]
    props: dict[str, Any] = chart["Properties"]
    return props


@pytest.fixture(scope="module")
def project_values(chart_props: dict[str, Any]) -> dict[str, Any]:
    """The HelmChart's values as deployed (the URL suffix resolved for eu-west-1)."""
    text = resolve_intrinsics(chart_props["Values"], {"AWS::URLSuffix": "amazonaws.com"})
    values: dict[str, Any] = json.loads(text)
    return values


@pytest.fixture(scope="module")
def mirror(subnet_per_app: Synth) -> ImageMirror:
    config = subnet_per_app.config
    return ImageMirror(f"{config.account}.dkr.ecr.{config.region}.amazonaws.com/eks-secure")


@pytest.fixture(scope="module")
def rendered(
    helm: Helm, subnet_per_app: Synth, project_values: dict[str, Any]
) -> list[dict[str, Any]]:
    return helm.render(
        CHART,
        project_values,
        release=RELEASE,
        namespace=NAMESPACE,
        kubernetes_version=subnet_per_app.config.kubernetes_version,
    )


def _workloads(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def _fence(subnet_per_app: Synth, kind: str) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in subnet_per_app.manifests["KyvernoFence"]
        if o["kind"] == kind
    }


@requires_charts
def test_values_fit_the_chart(project_values: dict[str, Any]) -> None:
    """No misspelt key (checked against values.yaml) and a clean values.schema.json, if any."""
    assert unknown_value_paths(CHART, project_values) == []
    assert values_schema_errors(CHART, project_values) in (None, [])
    assert project_values["reportsServer"] == {"enabled": False}


def test_chart_source_and_release(chart_props: dict[str, Any], subnet_per_app: Synth) -> None:
    assert chart_props["Chart"] == CHART
    assert chart_props["Version"] == subnet_per_app.config.kyverno.chart_version == "3.9.0"
    assert chart_props["Namespace"] == NAMESPACE
    assert chart_props["Release"] == RELEASE


def test_every_image_comes_from_the_mirror(
    rendered: list[dict[str, Any]], mirror: ImageMirror
) -> None:
    found = list(containers(rendered))
    assert len(found) >= 10  # 4 controllers + init container + 3 hook Jobs + test pods
    outside = [f"{c.owner}/{c.name}: {c.image}" for c in found if not mirror.contains(c.image)]
    assert outside == []
    assert not [c.image for c in found if c.image.split("/", 1)[0] in PUBLIC_HOSTS]


def test_the_image_catalogue_is_exactly_what_the_chart_renders(
    helm: Helm, rendered: list[dict[str, Any]], mirror: ImageMirror, subnet_per_app: Synth
) -> None:
    """KYVERNO_IMAGES lists every image of the chart's own default render, and nothing else."""
    default = helm.render(
        CHART,
        {"reportsServer": {"enabled": False}},
        release=RELEASE,
        namespace=NAMESPACE,
        kubernetes_version=subnet_per_app.config.kubernetes_version,
    )
    assert {ImageRef.parse(i).name for i in images(default)} == {i.ref.name for i in KYVERNO_IMAGES}
    assert images(rendered) == {str(mirror.mirror(i.ref)) for i in KYVERNO_IMAGES}


def test_digests_pin_every_image(helm: Helm, mirror: ImageMirror, subnet_per_app: Synth) -> None:
    digests = {i.upstream: f"sha256:{n:064x}" for n, i in enumerate(KYVERNO_IMAGES)}
    values = merge([kyverno_values(), kyverno_image_values(mirror, digests)])
    objs = helm.render(
        CHART,
        values,
        release=RELEASE,
        namespace=NAMESPACE,
        kubernetes_version=subnet_per_app.config.kubernetes_version,
    )
    pinned = images(objs)
    assert pinned == {str(mirror.mirror(i.ref, digests[i.upstream])) for i in KYVERNO_IMAGES}
    assert all("@sha256:" in image and mirror.contains(image) for image in pinned)


def test_hook_budget_matches_the_rendered_hooks(rendered: list[dict[str, Any]]) -> None:
    """KYVERNO_HOOKS (which sizes the Helm timeout) counts the chart's hook Jobs and Pods."""
    counts: Counter[str] = Counter()
    for obj in rendered:
        if obj["kind"] in ("Job", "Pod") and not is_test_hook(obj):
            for event in hook_events(obj):
                counts[HOOK_FIELDS[event]] += 1
    assert HookCounts(**counts) == KYVERNO_HOOKS


def test_rendered_objects_validate(rendered: list[dict[str, Any]], subnet_per_app: Synth) -> None:
    assert validate_all(rendered, subnet_per_app.config.kubernetes_version) == {}


def test_every_pod_runs_on_system_nodes_under_restricted(rendered: list[dict[str, Any]]) -> None:
    """The fence enforces Pod Security ``restricted`` on the namespace: every pod must pass."""
    for obj in rendered:
        spec = pod_spec(obj)
        if spec is None:
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec.get("nodeSelector", {}).get(SYSTEM_NODE_LABEL) == "system", name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        assert not any("hostPath" in v for v in spec.get("volumes", [])), name
    for c in containers(rendered):
        context = c.spec.get("securityContext") or {}
        where = f"{c.owner}/{c.name}"
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("runAsNonRoot") is True, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where


def test_webhook_ports_are_open_from_the_control_plane(
    rendered: list[dict[str, Any]], subnet_per_app: Synth
) -> None:
    """Webhook Services target a port ControlPlaneEgress opens and the fence admits."""
    deployments = _workloads(rendered, "Deployment")
    policies = _fence(subnet_per_app, "NetworkPolicy")
    control_plane = sorted(s.cidr for s in subnet_per_app.deployment.plan.control_plane)
    webhook_pods = 0
    for service in _workloads(rendered, "Service").values():
        https = [p for p in service["spec"]["ports"] if p.get("appProtocol") == "https"]
        if not https:
            continue
        selector = service["spec"]["selector"]
        (backend,) = [
            d
            for d in deployments.values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        ports = {
            p["containerPort"]
            for c in backend["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
            if p.get("name") in {h["targetPort"] for h in https}
        }
        assert ports == {WEBHOOK_PORT}, service["metadata"]["name"]
        assert ports <= set(IN_CLUSTER_WEBHOOK_PORTS)
        labels = backend["spec"]["template"]["metadata"]["labels"]
        admitting = [
            p
            for p in policies.values()
            if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
            and p["spec"]["podSelector"].get("matchLabels")
            and "Ingress" in p["spec"]["policyTypes"]
        ]
        (policy,) = admitting
        (rule,) = policy["spec"]["ingress"]
        assert sorted(peer["ipBlock"]["cidr"] for peer in rule["from"]) == control_plane
        assert [(p["port"], p["protocol"]) for p in rule["ports"]] == [(WEBHOOK_PORT, "TCP")]
        webhook_pods += 1
    assert webhook_pods == 2  # admission and cleanup controllers


def test_fence_namespace_and_policies(subnet_per_app: Synth) -> None:
    (namespace,) = _fence(subnet_per_app, "Namespace").values()
    assert namespace["metadata"]["name"] == NAMESPACE
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = _fence(subnet_per_app, "NetworkPolicy")
    assert set(policies) == {
        "default-deny",
        "allow-dns",
        "allow-api-server",
        "allow-webhook-admission-controller",
        "allow-webhook-cleanup-controller",
    }
    assert all(p["metadata"]["namespace"] == NAMESPACE for p in policies.values())
    assert policies["default-deny"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    (rule,) = policies["allow-api-server"]["spec"]["egress"]
    control_plane = {s.cidr for s in subnet_per_app.deployment.plan.control_plane}
    assert {p["ipBlock"]["cidr"] for p in rule["to"]} == control_plane | {
        *EKS_DEFAULT_KUBERNETES_SERVICE_IPS
    }
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]


def test_release_waits_for_its_fence(subnet_per_app: Synth) -> None:
    resources = subnet_per_app.cluster_template["Resources"]
    (chart_id,) = [k for k, r in resources.items() if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"]
    (fence_id,) = [k for k in resources if k.startswith("EksKyvernoFence")]
    assert fence_id in resources[chart_id]["DependsOn"]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: KyvernoSettings(image_registry="https://registry.corp"), "image_registry"),
        (lambda: KyvernoSettings(chart_version="3.9"), "chart_version"),
    ],
)
def test_bad_kyverno_settings_are_rejected_when_built(build: Any, field: str) -> None:
    """Settings check themselves (the same rules as the YAML loader's ``kyverno.*``)."""
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == f"KyvernoSettings.{field}"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (
            KyvernoSettings(image_digests=(("ghcr.io/kyverno/other:v1", "sha256:" + "0" * 64),)),
            "kyverno.image_digests[ghcr.io/kyverno/other:v1]",
        ),
        (
            KyvernoSettings(chart_repository="oci://registry.corp/charts"),
            "kyverno.chart_repository",
        ),
    ],
)
def test_bad_kyverno_settings_name_the_field(
    subnet_per_app: Synth, settings: KyvernoSettings, field: str
) -> None:
    """Rejected before the construct joins the tree, so the shared app is left untouched."""
    cluster = subnet_per_app.deployment.cluster_stack.secure_cluster
    before = len(cluster.node.find_all())
    with pytest.raises(ConfigError) as info:
        KyvernoInstall(cluster, "Rejected", cluster=cluster, settings=settings)
    assert info.value.field == field
    assert len(cluster.node.find_all()) == before


def test_exempt_namespaces_are_the_listed_ones(rendered: list[dict[str, Any]]) -> None:
    """The namespaces the rendered Kyverno config skips are exactly KYVERNO_EXEMPT_NAMESPACES."""
    import re

    from eks_secure.k8s.kyverno import KYVERNO_EXEMPT_NAMESPACES

    (config,) = [
        o
        for o in rendered
        if o.get("kind") == "ConfigMap" and "resourceFilters" in o.get("data", {})
    ]
    skipped = set(re.findall(r"\[\*/?\*?,([a-z0-9-]+),\*\]", config["data"]["resourceFilters"]))
    assert skipped == set(KYVERNO_EXEMPT_NAMESPACES), config["data"]["resourceFilters"]
