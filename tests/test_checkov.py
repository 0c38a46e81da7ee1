"""checkov over every synthesized template and generated manifest, once per session.

One checkov process scans the CloudFormation templates (nested ones included) and the cdk8s
manifests of all three reference deployments, offline (``--skip-download``). Every failed check
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
from synth import REPO, Synth, synth

pytestmark = pytest.mark.xdist_group("checkov")

CHECKOV = Path(os.environ.get("EKS_SECURE_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))
SKIPS = REPO / "tests" / "checkov-skips.yaml"
FRAMEWORKS = ("cloudformation", "kubernetes")


@dataclass(frozen=True)
class Failure:
    """One failed checkov check on one resource."""

    check: str
    resource: str
    file: str
    name: str


def write_inputs(root: Path, synths: dict[str, Synth]) -> None:
    """Write what checkov scans under ``root``: ``<pattern>/cfn/*.json``, ``<pattern>/k8s/*.yaml``.

    Rendered Helm charts go in ``<pattern>/helm/`` once the offline rendering lands.
    """
    for pattern, result in synths.items():
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
    write_inputs(root, {p: synth(p) for p in ("base", "subnet-per-app", "private-nat")})
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
