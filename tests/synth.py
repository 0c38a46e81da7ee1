"""Synthesize reference deployments once per test process and hand out the results.

Tests never synthesize on their own: they ask for ``synth(pattern)`` (through the fixtures in
``conftest.py``), which builds the app with the cdk-nag AwsSolutions pack registered, synthesizes
it into a temporary directory and caches the result for the rest of the session. Modules that
use one pattern carry ``pytest.mark.xdist_group(<pattern>)`` so a single worker does that synth.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import yaml

from eks_secure.config.loader import parse_config
from eks_secure.config.model import DeploymentConfig
from eks_secure.deployment import EksSecureDeployment
from eks_secure.network.lock import lock_path, read_lock
from eks_secure.preflight.report import Report
from eks_secure.testing import normalise  # noqa: F401 -- re-exported: tests import it from here
from patterns.load import default_config_path, project_context

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "patterns" / "examples"


@dataclass
class Synth:
    """A synthesized deployment: the templates, manifests and reports it produced."""

    deployment: EksSecureDeployment
    config: DeploymentConfig
    """The deployment's validated config."""
    outdir: Path
    synth_error: str | None = None
    """Why synthesis failed (cdk-nag errors make it fail after writing the templates)."""
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every template in the assembly (nested stacks included), by file name."""
    manifests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """cdk8s manifests shipped into the cluster, by chart construct ID."""

    @property
    def cluster_template(self) -> dict[str, Any]:
        """The cluster stack's template."""
        return self.templates[f"{self.deployment.cluster_stack.artifact_id}.template.json"]

    @property
    def creator_template(self) -> dict[str, Any]:
        """The creator stack's template."""
        return self.templates[f"{self.deployment.creator_stack.artifact_id}.template.json"]

    def nag_errors(self) -> list[str]:
        """Rule IDs of the cdk-nag errors left unacknowledged (empty when clean)."""
        report = self.nag_report()
        if report is None:
            return []
        return [
            v["ruleName"]
            for plugin in report["pluginReports"]
            for v in plugin["violations"]
            if v["severity"] == "error"
        ]

    def nag_report(self) -> dict[str, Any] | None:
        """The policy validation report cdk-nag wrote, if any violation was reported."""
        path = self.outdir / "policy-validation-report.json"
        if not path.exists():
            return None
        report: dict[str, Any] = json.loads(path.read_text())
        return report


def load_example(name: str) -> dict[str, Any]:
    """The raw YAML dict of ``patterns/examples/<name>.yaml`` (a fresh copy)."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return copy.deepcopy(data)


def synth_config(
    data: dict[str, Any],
    *,
    nag: bool = True,
    lock: dict[str, dict[str, int]] | None = None,
) -> Synth:
    """Build and synthesize the reference deployment of a raw config dict (with ``lock``)."""
    config = parse_config(copy.deepcopy(data))
    outdir = Path(tempfile.mkdtemp(prefix="eks-secure-synth-"))
    app = cdk.App(outdir=str(outdir), context=project_context(), stack_traces=False)
    deployment = EksSecureDeployment.from_config(app, config, address_lock=lock)
    if nag:
        cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    error: str | None = None
    try:
        app.synth()
    except Exception as exc:  # policy validation failures surface here; the test reports them
        error = str(exc)
    result = Synth(deployment=deployment, config=config, outdir=outdir, synth_error=error)
    for path in sorted(outdir.glob("*.template.json")):
        result.templates[path.name] = json.loads(path.read_text())
    cluster = deployment.secure_cluster
    for chart_id, chart in cluster.charts.items():
        result.manifests[chart_id] = json.loads(json.dumps(chart.to_json()))
    return result


@functools.cache
def synth(pattern: str) -> Synth:
    """The reference deployment of ``pattern`` from its example config, synthesized once."""
    path = default_config_path(pattern)
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["pattern"] = pattern
    return synth_config(data, lock=read_lock(lock_path(path)))


@functools.cache
def synth_example(name: str) -> Synth:
    """The deployment of ``patterns/examples/<name>.yaml`` (its own pattern key and lock),
    synthesized once: examples that are not a pattern's reference config."""
    path = EXAMPLES / f"{name}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return synth_config(data, lock=read_lock(lock_path(path)))


@functools.cache
def _preflight(outdir: Path) -> Report:
    from eks_secure.preflight import run

    return run(outdir)


def preflight(deployment: Synth) -> Report:
    """The ``eks-secure preflight`` report of a synthesized deployment, computed once."""
    return _preflight(deployment.outdir)
