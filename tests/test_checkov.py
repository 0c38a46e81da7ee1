"""checkov over every synthesized template and generated manifest, once per session.

checkov scans, offline (``--skip-download``), the CloudFormation templates (nested ones
included), the cdk8s manifests and the Helm charts rendered with the values eks-secure deploys
(every ``Custom::AWSCDK-EKS-HelmChart`` whose chart is in ``../shared/charts``: Kyverno, Cilium,
Istio base/istiod/gateway) of every reference deployment, their CustomResourceDefinitions left
out (checkov has no check for them, which a test asks checkov), plus a canary of deliberately
bad inputs that must be reported. One checkov process per framework, both at once: the templates
with the ``cloudformation`` framework, the manifests and charts with ``kubernetes`` (the
CloudFormation runner would otherwise try, and fail, to parse the multi-document chart renders
as templates). A parsing error fails the suite. Every failed check must be fixed or listed,
with its reason, in ``tests/checkov-skips.yaml``; an entry that no longer matches anything fails
too, so the list never goes stale.

checkov runs from its own venv (``.venv-checkov``, created by ``make test``); set
``EKS_SECURE_CHECKOV`` to use another binary.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm import CHARTS, charts_available, is_test_hook, render_directory, resolve_intrinsics
from synth import REPO, Synth, synth

pytestmark = pytest.mark.xdist_group("checkov")

CHECKOV = Path(os.environ.get("EKS_SECURE_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))
SKIPS = REPO / "tests" / "checkov-skips.yaml"
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "cloudformation": ("cfn",),
    "kubernetes": ("k8s", "helm"),
}
"""Each framework and the input directories (``<pattern>/<dir>``) it scans."""
PATTERNS = ("base", "subnet-per-app", "private-nat", "cilium", "istio")
CANARY = "canary"
"""Scan-root directory of the deliberately bad inputs (:data:`CANARY_FAILURES` must be reported)."""
CANARY_FAILURES = {
    ("CKV_K8S_16", "Pod.default.canary-privileged"),
    ("CKV_K8S_43", "Pod.default.canary-privileged"),
    ("CKV_AWS_260", "AWS::EC2::SecurityGroup.CanaryOpenHttp"),
}
"""Findings the canary must produce: a privileged pod on a tag, a security group open to the
internet on port 80."""
PSEUDO = {"AWS::URLSuffix": "amazonaws.com"}
UNCHECKED_KINDS = frozenset({"CustomResourceDefinition"})
"""Kinds left out of the chart renders checkov scans because checkov has no check for them
(:func:`test_checkov_has_no_check_for_the_kinds_left_out` asks checkov): the charts' CRDs are
99% of their renders (Kyverno's 6.4 MB, once per pattern) and took about 35 s of checkov's
kubernetes scan for no finding."""


@dataclass(frozen=True)
class Failure:
    """One failed checkov check on one resource."""

    check: str
    resource: str
    file: str
    name: str


def helm_releases(result: Synth) -> list[tuple[str, Path | None, dict[str, Any]]]:
    """``(release, chart directory or None when absent, properties)`` of each Helm release.

    The chart directory is the repository's path after ``/eks-secure/`` (the mirror layout of
    eks_secure/helm/source.py) under the shared charts.
    """
    found = []
    for template in result.templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] != "Custom::AWSCDK-EKS-HelmChart":
                continue
            props = resource["Properties"]
            repository = str(resolve_intrinsics(props["Repository"], PSEUDO))
            chart = CHARTS / repository.split("/eks-secure/", 1)[1]
            found.append(
                (props["Release"], chart if (chart / "Chart.yaml").is_file() else None, props)
            )
    return found


def _deploy_time(value: Any) -> Any:
    """``value`` with ``Fn::Join`` and pseudo parameters resolved and every other intrinsic (the
    cluster endpoint in Cilium's values) replaced by a placeholder host name."""
    if isinstance(value, list):
        return [_deploy_time(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_deploy_time(p)) for p in parts)
        if set(value) == {"Ref"} and value["Ref"] in PSEUDO:
            return PSEUDO[value["Ref"]]
        if any(k.startswith("Fn::") or k == "Ref" for k in value):
            return "resolved-at-deploy.eks.amazonaws.com"
        return {k: _deploy_time(v) for k, v in value.items()}
    return value


def write_helm(directory: Path, result: Synth) -> None:
    """``<release>.yaml``: each release's chart rendered with its deployed values (no tests)."""
    for release, chart, props in helm_releases(result):
        if chart is None:
            continue
        values = json.loads(_deploy_time(props.get("Values", "{}")))
        objs = render_directory(
            chart,
            values,
            release=release,
            namespace=props.get("Namespace", "default"),
            kubernetes_version=result.config.kubernetes_version,
        )
        kept = [o for o in objs if not is_test_hook(o) and o.get("kind") not in UNCHECKED_KINDS]
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{release}.yaml").write_text(yaml.safe_dump_all(kept), encoding="utf-8")


def write_inputs(root: Path, synths: dict[str, Synth]) -> None:
    """Write what checkov scans under ``root``: ``<pattern>/cfn/*.json``,
    ``<pattern>/k8s/*.yaml`` and, when the shared charts exist, ``<pattern>/helm/*.yaml``."""
    for pattern, result in synths.items():
        if charts_available():
            write_helm(root / pattern / "helm", result)
        cfn, k8s = root / pattern / "cfn", root / pattern / "k8s"
        cfn.mkdir(parents=True)
        k8s.mkdir(parents=True)
        for name, template in result.templates.items():
            (cfn / name).write_text(json.dumps(template, indent=1), encoding="utf-8")
        for chart, objects in result.manifests.items():
            (k8s / f"{chart}.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")


def _reports(output: str) -> list[dict[str, Any]]:
    data = json.loads(output)
    return data if isinstance(data, list) else [data]


def write_canary(root: Path) -> None:
    """Deliberately bad inputs (:data:`CANARY_FAILURES`) under ``root/canary``."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "canary-privileged", "namespace": "default"},
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx:1.27", "securityContext": {"privileged": True}}
            ]
        },
    }
    group = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "canary",
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}
            ],
        },
    }
    (root / CANARY / "k8s").mkdir(parents=True)
    (root / CANARY / "k8s" / "bad.yaml").write_text(yaml.safe_dump(pod), encoding="utf-8")
    (root / CANARY / "cfn").mkdir()
    template = {"Resources": {"CanaryOpenHttp": group}}
    (root / CANARY / "cfn" / "bad.template.json").write_text(json.dumps(template), "utf-8")


def _checkov(root: Path, framework: str) -> subprocess.Popen[str]:
    """A checkov process of ``framework`` over its input directories of every pattern (the
    others skipped)."""
    others = sorted({d for dirs in FRAMEWORKS.values() for d in dirs} - set(FRAMEWORKS[framework]))
    return subprocess.Popen(
        [
            str(CHECKOV),
            "--directory",
            str(root),
            "--skip-path",
            f"/({'|'.join(others)})/",
            "--framework",
            framework,
            "--skip-download",
            "--output",
            "json",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@functools.cache
def _run_checkov() -> list[dict[str, Any]]:
    """The frameworks' checkov processes over all reference deployments and the canary, once
    per test process.

    Cached here rather than in a module-scoped fixture, which xdist may tear down and set up
    again between batches of the same module.
    """
    root = Path(tempfile.mkdtemp(prefix="eks-secure-checkov-"))
    write_inputs(root, {p: synth(p) for p in PATTERNS})
    write_canary(root)
    processes = {f: _checkov(root, f) for f in FRAMEWORKS}
    reports = []
    for framework, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode in (0, 1), stderr[-3000:]  # 1: some check failed
        found = _reports(stdout)
        assert [r["check_type"] for r in found] == [framework], stderr[-3000:]
        reports += found
    return reports


@pytest.fixture
def checkov_reports() -> list[dict[str, Any]]:
    """checkov's JSON reports (one per framework) for all reference deployments."""
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} is missing: run `make test` (it creates .venv-checkov)")
    return _run_checkov()


def _all_failures(reports: list[dict[str, Any]]) -> list[Failure]:
    return [
        Failure(f["check_id"], f["resource"], f["file_path"], f["check_name"])
        for report in reports
        for f in report["results"]["failed_checks"]
    ]


def _failures(reports: list[dict[str, Any]]) -> list[Failure]:
    """Failures on eks-secure's own inputs (the canary's left out)."""
    return [f for f in _all_failures(reports) if not f.file.startswith(f"/{CANARY}/")]


def _skips() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(SKIPS.read_text(encoding="utf-8"))
    return entries


def _covers(entry: dict[str, Any], failure: Failure) -> bool:
    return (
        entry["check"] == failure.check
        and any(fnmatch.fnmatchcase(failure.resource, r) for r in entry.get("resources", ["*"]))
        and any(fnmatch.fnmatchcase(failure.file, f) for f in entry.get("files", ["*"]))
    )


def test_checkov_scanned_every_framework(checkov_reports: list[dict[str, Any]]) -> None:
    counts = {r["check_type"]: r["summary"]["resource_count"] for r in checkov_reports}
    assert set(counts) == set(FRAMEWORKS), counts
    assert all(counts[f] > 0 for f in FRAMEWORKS), counts
    for report in checkov_reports:
        assert report["summary"]["parsing_errors"] == 0, report["check_type"]


def test_checkov_scanned_every_input(checkov_reports: list[dict[str, Any]]) -> None:
    """Every pattern's templates and (with the shared charts) rendered charts were read: each
    has reviewed findings (``--quiet`` reports failures only)."""
    reported = {tuple(f.file.split("/")[1:3]) for f in _failures(checkov_reports)}
    dirs = ("cfn", "helm") if charts_available() else ("cfn",)
    assert {(p, d) for p in PATTERNS for d in dirs} <= reported


def test_a_bad_manifest_and_template_are_reported(checkov_reports: list[dict[str, Any]]) -> None:
    """The canary's privileged pod and open security group fail, so a new finding cannot go
    unnoticed (and none of the skip list's entries covers them)."""
    canary = {(f.check, f.resource) for f in _all_failures(checkov_reports)}
    assert canary >= CANARY_FAILURES
    entries = _skips()
    found = [f for f in _all_failures(checkov_reports) if f.file.startswith(f"/{CANARY}/")]
    assert found and not any(_covers(e, f) for e in entries for f in found)


def test_helm_charts_are_rendered(tmp_path: Path) -> None:
    """Every release with a shared chart renders; only istio-cni's chart is absent."""
    if not charts_available():
        pytest.skip(f"{CHARTS} is absent: the Helm charts are not scanned")
    releases = {
        (r, c is not None) for p in ("cilium", "istio") for r, c, _ in helm_releases(synth(p))
    }
    assert {r for r, present in releases if not present} <= {"istio-cni"}, releases
    write_helm(tmp_path, synth("istio"))
    assert {f.stem for f in tmp_path.iterdir()} == {
        "istio-base",
        "istiod",
        "istio-egressgateway",
        "kyverno",
    }


def test_every_failed_check_is_fixed_or_reviewed(checkov_reports: list[dict[str, Any]]) -> None:
    entries = _skips()
    unreviewed = sorted(
        f"{f.check} {f.resource} ({f.file}): {f.name}"
        for f in _failures(checkov_reports)
        if not any(_covers(e, f) for e in entries)
    )
    assert unreviewed == [], "fix these, or add them to tests/checkov-skips.yaml with a reason"


def test_skip_list_has_no_stale_entry(checkov_reports: list[dict[str, Any]]) -> None:
    failures = _failures(checkov_reports)
    stale = [e["check"] for e in _skips() if not any(_covers(e, f) for f in failures)]
    assert stale == [], "these checks pass now: remove their entries"


def test_every_skip_has_a_reason() -> None:
    for entry in _skips():
        assert set(entry) <= {"check", "resources", "files", "reason"}, entry
        assert len(str(entry.get("reason", "")).strip()) > 40, entry["check"]


KINDS_CHECKED = """
import json, pathlib
import checkov.kubernetes.checks
import checkov.kubernetes.checks.resource  # registers the resource checks
from checkov.kubernetes.checks.resource.registry import registry

def types(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "resource_types":
                out.update(v if isinstance(v, list) else [v])
            else:
                types(v, out)
    elif isinstance(o, list):
        for v in o:
            types(v, out)

kinds = {kind for kind, checks in registry.checks.items() if checks}
graph = pathlib.Path(checkov.kubernetes.checks.__file__).parent / "graph_checks"
for path in graph.glob("*.json"):
    types(json.loads(path.read_text()), kinds)
print(json.dumps({"kinds": sorted(kinds), "wildcard": len(registry.wildcard_checks)}))
"""
"""Run by checkov's own Python: the kinds its kubernetes resource and graph checks look at."""


def test_checkov_has_no_check_for_the_kinds_left_out() -> None:
    """Leaving :data:`UNCHECKED_KINDS` out of the scan hides nothing: checkov (the pinned
    version) has no resource check, graph check or wildcard check that would read them."""
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} is missing: run `make test` (it creates .venv-checkov)")
    # checkov's own interpreter, from its entry point's shebang (EKS_SECURE_CHECKOV may point
    # at a checkov outside a venv, where no python sits beside it)
    shebang = CHECKOV.read_text(encoding="utf-8").splitlines()[0]
    assert shebang.startswith("#!"), f"{CHECKOV} is not a Python entry-point script"
    result = subprocess.run(
        [*shebang[2:].split(), "-c", KINDS_CHECKED],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    checked = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Deployment" in checked["kinds"] and "ClusterRole" in checked["kinds"], checked
    assert checked["wildcard"] == 0, checked
    assert not UNCHECKED_KINDS & set(checked["kinds"]), checked
