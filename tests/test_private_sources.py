"""Private image and chart sources: ECR pull-through cache rules and a local-chart release.

One small app is synthesized once for the module: a ``Registry`` stack with the pull-through
cache rules, and a ``Cluster`` stack (VPC + cluster) with a ``HelmRelease`` of a local chart
directory shipped as an asset, its image rewritten to the cache's mirror.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from helm import images, render_directory, resolve_intrinsics
from template_checks import cfn_lint_findings

from eks_secure.cluster.cluster import SecureCluster
from eks_secure.config.model import NodeGroupSize
from eks_secure.errors import ConfigError
from eks_secure.helm.images import ChartImage, registry_repository_tag
from eks_secure.helm.release import SERVICE_TIMEOUT_SECONDS, HelmRelease
from eks_secure.helm.source import LocalChart
from eks_secure.network.planner import plan_network
from eks_secure.network.vpc import SecureVpc
from eks_secure.registry.mirror import UPSTREAMS
from eks_secure.registry.pull_through import CREDENTIAL_PREFIX, PULL_ACTIONS, PullThroughCache

pytestmark = pytest.mark.xdist_group("private-sources")

ACCOUNT, REGION = "111111111111", "eu-west-1"
AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
DOCKER_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/docker-AbCdEf"
GITHUB_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/github-AbCdEf"
DEMO_IMAGE = ChartImage("quay.io/cilium/cilium:v1.20.0", ("image",))
PSEUDO = {"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws", "AWS::Region": REGION}


class _Stack(cdk.Stack):
    @property
    def availability_zones(self) -> list[str]:
        return AZS


def _demo_chart(directory: Path) -> Path:
    """A one-Deployment chart whose image is ``{registry}/{repository}:{tag}``."""
    (directory / "templates").mkdir(parents=True)
    (directory / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": "demo", "version": "0.1.0"})
    )
    (directory / "values.yaml").write_text(
        yaml.safe_dump({"image": {"registry": "quay.io", "repository": "x", "tag": "1"}})
    )
    (directory / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: demo}\nspec:\n"
        "  selector: {matchLabels: {app: demo}}\n  template:\n"
        "    metadata: {labels: {app: demo}}\n    spec:\n      containers:\n"
        "        - name: demo\n          image: "
        '"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    )
    return directory


def _secrets(scope: cdk.Stack) -> tuple[secretsmanager.ISecret, secretsmanager.ISecret]:
    docker = secretsmanager.Secret.from_secret_complete_arn(scope, "DockerHub", DOCKER_ARN)
    github = secretsmanager.Secret.from_secret_complete_arn(scope, "Github", GITHUB_ARN)
    return docker, github


class Built:
    """The synthesized app: templates, the cache and the release."""

    def __init__(self) -> None:
        outdir = Path(tempfile.mkdtemp(prefix="eks-secure-sources-"))
        self.chart_dir = _demo_chart(outdir / "demo-chart")
        app = cdk.App(outdir=str(outdir / "cdk.out"))
        registry = cdk.Stack(app, "Registry", env=ENV)
        docker, github = _secrets(registry)
        self.cache = PullThroughCache(
            registry, "Cache", docker_hub_credential=docker, github_credential=github
        )
        self.node_role = iam.Role(
            registry, "NodeRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")
        )
        self.cache.grant_pull(self.node_role)

        stack = _Stack(app, "Cluster", env=ENV)
        plan = plan_network(vpc_cidr="10.20.0.0/16", availability_zones=AZS, on_prem_cidrs=[])
        network = SecureVpc(stack, "Network", plan=plan, on_prem_cidrs=[], on_prem_route=None)
        admin = iam.Role.from_role_arn(
            stack, "Admin", f"arn:aws:iam::{ACCOUNT}:role/platform-admin", mutable=False
        )
        cluster = SecureCluster(
            stack,
            "Eks",
            network=network,
            cluster_name="sources-test",
            kubernetes_version="1.34",
            admin_roles=[admin],
            system_nodes=NodeGroupSize(),
        )
        self.release = HelmRelease(
            stack,
            "Demo",
            cluster=cluster,
            chart="demo",
            namespace="demo",
            source=LocalChart(self.chart_dir),
            mirror=self.cache.mirror,
            image_values=lambda mirror: registry_repository_tag(DEMO_IMAGE, mirror),
            values={"replicas": 1},
        )
        assembly = app.synth()
        self.registry = assembly.get_stack_by_name("Registry").template
        self.cluster = assembly.get_stack_by_name("Cluster").template
        self.outdir = outdir


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


# ------------------------------------------------------------------------ pull-through cache


def test_one_rule_per_upstream(built: Built) -> None:
    rules = {
        r["Properties"]["EcrRepositoryPrefix"]: r["Properties"]
        for r in _of_type(built.registry, "AWS::ECR::PullThroughCacheRule").values()
    }
    assert set(rules) == {f"eks-secure/{u.path}" for u in UPSTREAMS}
    for upstream in UPSTREAMS:
        rule = rules[f"eks-secure/{upstream.path}"]
        assert rule["UpstreamRegistryUrl"] == upstream.registry_url
        assert rule["UpstreamRegistry"] == upstream.upstream_registry
        assert ("CredentialArn" in rule) == upstream.needs_credential
    assert rules["eks-secure/docker-hub"]["CredentialArn"] == DOCKER_ARN
    assert rules["eks-secure/github"]["CredentialArn"] == GITHUB_ARN
    assert set(rules) == {"eks-secure/quay", "eks-secure/k8s", "eks-secure/ecr-public",
                          "eks-secure/docker-hub", "eks-secure/github"}  # fmt: skip


def test_rules_pass_the_resource_schema(built: Built) -> None:
    assert cfn_lint_findings(built.registry, REGION) == []


def test_prefix_length_and_pattern_hold_for_every_rule(built: Built) -> None:
    pattern = re.compile(
        r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$"
    )
    for rule in _of_type(built.registry, "AWS::ECR::PullThroughCacheRule").values():
        prefix = rule["Properties"]["EcrRepositoryPrefix"]
        assert 2 <= len(prefix) <= 30 and pattern.match(prefix), prefix


def test_grant_pull_covers_first_pulls_inside_the_cache_only(built: Built) -> None:
    (policy,) = _of_type(built.registry, "AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(PULL_ACTIONS)
    resources = [resolve_intrinsics(r, PSEUDO) for r in statement["Resource"]]
    assert sorted(resources) == sorted(
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/eks-secure/{u.path}/*" for u in UPSTREAMS
    )


def test_mirror_of_the_cache_is_the_documented_mapping(built: Built) -> None:
    mirror = built.cache.mirror
    assert set(mirror.paths) == {u.host for u in UPSTREAMS}
    ref = mirror.mirror("quay.io/cilium/cilium:v1.20.0")
    assert ref.registry.endswith("/eks-secure/quay")
    assert ref.repository == "cilium/cilium"


# ------------------------------------------------------------------------ local chart release


def test_local_chart_ships_as_an_asset(built: Built) -> None:
    (chart,) = _of_type(built.cluster, "Custom::AWSCDK-EKS-HelmChart").values()
    props = chart["Properties"]
    assert "ChartAssetURL" in props
    assert "Repository" not in props and "Version" not in props and "Chart" not in props
    assert props["Release"] == "demo" and props["Namespace"] == "demo"
    assert props["Wait"] is True and props["Atomic"] is True
    assert props["ServiceTimeout"] == SERVICE_TIMEOUT_SECONDS


def test_local_chart_release_renders_from_the_cache(built: Built) -> None:
    """The release's deployed values, rendered, pull the image through a cache rule."""
    (chart,) = _of_type(built.cluster, "Custom::AWSCDK-EKS-HelmChart").values()
    values = json.loads(resolve_intrinsics(chart["Properties"]["Values"], PSEUDO))
    objs = render_directory(built.chart_dir, values, release="demo", namespace="demo")
    (image,) = images(objs)
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert image == f"{registry}/eks-secure/quay/cilium/cilium:v1.20.0"
    prefixes = {
        r["Properties"]["EcrRepositoryPrefix"]
        for r in _of_type(built.registry, "AWS::ECR::PullThroughCacheRule").values()
    }
    repository = image.removeprefix(f"{registry}/").rsplit(":", 1)[0]
    assert any(repository.startswith(f"{p}/") for p in prefixes)


# ------------------------------------------------------------------------------- bad input


def _stack(name: str = "Bad") -> cdk.Stack:
    return cdk.Stack(cdk.App(), name, env=ENV)


def _secret(stack: cdk.Stack, name: str) -> secretsmanager.ISecret:
    return secretsmanager.Secret.from_secret_complete_arn(
        stack,
        f"S{abs(hash(name))}",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"upstreams": []}, "PullThroughCache.upstreams"),
        ({"upstreams": ["quay.io", "quay.io"]}, "PullThroughCache.upstreams"),
        ({"upstreams": ["gcr.io"]}, "PullThroughCache.upstreams[0]"),
        ({"upstreams": ["quay.io"], "namespace": "n" * 26}, "PullThroughCache.namespace"),
        ({"upstreams": ["quay.io"], "namespace": "Bad"}, "PullThroughCache.namespace"),
        ({"upstreams": ["docker.io"]}, "PullThroughCache.docker_hub_credential"),
        ({"upstreams": ["ghcr.io"]}, "PullThroughCache.github_credential"),
    ],
)  # fmt: skip
def test_bad_cache_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        PullThroughCache(_stack(), "Cache", **kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("upstream", "name", "says"),
    [
        ("quay.io", f"{CREDENTIAL_PREFIX}github", "not among the cached upstreams"),
        ("ghcr.io", "github-token", CREDENTIAL_PREFIX),
    ],
)
def test_misplaced_or_misnamed_credential_is_refused(upstream: str, name: str, says: str) -> None:
    stack = _stack()
    with pytest.raises(ConfigError) as info:
        PullThroughCache(
            stack, "Cache", upstreams=[upstream], github_credential=_secret(stack, name)
        )
    assert info.value.field == "PullThroughCache.github_credential"
    assert says in str(info.value)


def test_credential_in_another_region_is_refused() -> None:
    stack = _stack()
    other = secretsmanager.Secret.from_secret_complete_arn(
        stack,
        "Other",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{CREDENTIAL_PREFIX}gh-AbCdEf",
    )
    with pytest.raises(ConfigError) as info:
        PullThroughCache(stack, "Cache", upstreams=["ghcr.io"], github_credential=other)
    assert "region" in info.value.problem


def test_credential_created_without_a_name_is_refused() -> None:
    stack = _stack()
    unnamed = secretsmanager.Secret(stack, "Unnamed")
    with pytest.raises(ConfigError) as info:
        PullThroughCache(stack, "Cache", upstreams=["ghcr.io"], github_credential=unnamed)
    assert info.value.field == "PullThroughCache.github_credential"
    named = secretsmanager.Secret(stack, "Named", secret_name=f"{CREDENTIAL_PREFIX}ghcr")
    cache = PullThroughCache(stack, "Cache", upstreams=["ghcr.io"], github_credential=named)
    assert set(cache.rules) == {"ghcr.io"}
