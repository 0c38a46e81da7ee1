"""checkov over every synthesized template and generated manifest, once per session.

One checkov process scans the CloudFormation templates (nested ones included), the cdk8s
manifests and the Helm charts rendered with the values eks-secure deploys (every
``Custom::AWSCDK-EKS-HelmChart`` whose chart is in ``../shared/charts``: Kyverno, Cilium, Istio
base/istiod/gateway) of the reference deployments, offline (``--skip-download``). Every failed check
must be fixed or listed, with its reason, in ``tests/checkov-skips.yaml``; an entry that no
longer matches anything fails too, so the list never goes stale.

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
FRAMEWORKS = ("cloudformation", "kubernetes")
HELM = os.environ.get("EKS_SECURE_CHECKOV_HELM") == "1"
"""Opt-in until reviewed: the rendered Helm charts and the cilium/istio deployments (about 250
open findings, most in the upstream charts' pod specs; see docs/security-posture.md)."""
PATTERNS = ("base", "subnet-per-app", "private-nat", *(("cilium", "istio") if HELM else ()))
PSEUDO = {"AWS::URLSuffix": "amazonaws.com"}


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
        kept = [o for o in objs if not is_test_hook(o)]
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{release}.yaml").write_text(yaml.safe_dump_all(kept), encoding="utf-8")


def write_inputs(root: Path, synths: dict[str, Synth]) -> None:
    """Write what checkov scans under ``root``: ``<pattern>/cfn/*.json``,
    ``<pattern>/k8s/*.yaml`` and, when the shared charts exist, ``<pattern>/helm/*.yaml``."""
    for pattern, result in synths.items():
        if HELM and charts_available():
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


@functools.cache
def _run_checkov() -> list[dict[str, Any]]:
    """One checkov process over all reference deployments, once per test process.

    Cached here rather than in a module-scoped fixture, which xdist may tear down and set up
    again between batches of the same module.
    """
    root = Path(tempfile.mkdtemp(prefix="eks-secure-checkov-"))
    write_inputs(root, {p: synth(p) for p in PATTERNS})
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(root),
            "--framework",
            *FRAMEWORKS,
            "--skip-download",
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: some check failed
    return _reports(result.stdout)


@pytest.fixture
def checkov_reports() -> list[dict[str, Any]]:
    """checkov's JSON reports (one per framework) for all reference deployments."""
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} is missing: run `make test` (it creates .venv-checkov)")
    return _run_checkov()


def _failures(reports: list[dict[str, Any]]) -> list[Failure]:
    return [
        Failure(f["check_id"], f["resource"], f["file_path"], f["check_name"])
        for report in reports
        for f in report["results"]["failed_checks"]
    ]


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


def test_helm_charts_are_rendered(tmp_path: Path) -> None:
    """Every release with a shared chart renders; only istio-cni's chart is absent (checkov
    scans them only with ``EKS_SECURE_CHECKOV_HELM=1``)."""
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
